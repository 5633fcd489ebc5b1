"""Administration: accounts and roles (security admin), the category tree and the channels' configuration."""
