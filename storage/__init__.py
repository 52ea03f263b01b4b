"""The SQLite store: connection, transactions, forget_user, and the registry of each feature's migrations."""
