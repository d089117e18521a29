"""Which PostgreSQL servers vecpatch looks after, and how to connect to them.

The public surface is re-exported here; the submodules are implementation.
"""

from vecpatch.targets.args import is_dsn, known_services, service_files, targets_from_args
from vecpatch.targets.conninfo import ConnInfo, ConnInfoError, resolve_conninfo
from vecpatch.targets.errors import Problem, TargetsError
from vecpatch.targets.loader import check_targets, load_targets
from vecpatch.targets.model import Credential, Settings, Target, TargetsFile
from vecpatch.targets.sample import SAMPLE_TOML
from vecpatch.targets.select import select
from vecpatch.targets.window import Window, parse_windows

__all__ = [
    "SAMPLE_TOML",
    "ConnInfo",
    "ConnInfoError",
    "Credential",
    "Problem",
    "Settings",
    "Target",
    "TargetsError",
    "TargetsFile",
    "Window",
    "check_targets",
    "is_dsn",
    "known_services",
    "load_targets",
    "parse_windows",
    "resolve_conninfo",
    "select",
    "service_files",
    "targets_from_args",
]
