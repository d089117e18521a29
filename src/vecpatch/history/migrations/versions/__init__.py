"""Migration scripts; this file only makes setuptools ship the folder (Alembic skips it)."""
