"""vecpatch: keep pgvector and PostgreSQL minors patched across a fleet, with evidence."""

__version__ = "0.1.0.dev0"
