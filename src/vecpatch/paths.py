"""Where vecpatch keeps its cache (downloads) and state (sandboxes, history).

Both follow the XDG base-directory spec and can be overridden, so CI and tests
can point them at throwaway folders.
"""

import os
from pathlib import Path

from platformdirs import user_cache_path, user_state_path


def cache_dir() -> Path:
    """Downloaded builds and feed responses; ``VECPATCH_CACHE`` overrides."""
    override = os.environ.get("VECPATCH_CACHE")
    return Path(override) if override else user_cache_path("vecpatch")


def state_dir() -> Path:
    """Sandboxes, the default history store and catalog cache; ``VECPATCH_STATE`` overrides."""
    override = os.environ.get("VECPATCH_STATE")
    return Path(override) if override else user_state_path("vecpatch")
