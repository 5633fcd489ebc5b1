"""Citizens (诉求人) and the identities they reach us with."""
