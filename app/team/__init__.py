"""Team mode: accounts and roles, serving tokens, backup and restore."""
