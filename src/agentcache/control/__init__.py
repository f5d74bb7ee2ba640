"""The control plane: namespaces, their keys and secrets, the audit log (SQLite by default)."""
