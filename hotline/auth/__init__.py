"""People, roles, logins and sessions."""
