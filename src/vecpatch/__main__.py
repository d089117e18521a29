"""Allow ``python -m vecpatch``."""

from vecpatch.cli.main import run

run()
