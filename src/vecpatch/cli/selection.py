"""Shared CLI plumbing: which targets a command acts on.

Every fleet command (scan, plan, apply, stage, rollout) takes the same positional
targets, ``--targets FILE`` (or ``$VECPATCH_TARGETS``) and ``--env/--tag/--wave``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vecpatch.errors import UsageError

if TYPE_CHECKING:
    from vecpatch.targets import Target, TargetsFile


EnvOpt = Annotated[str | None, typer.Option("--env", help="Only this environment.")]
TagOpt = Annotated[str | None, typer.Option("--tag", help="Only targets with this tag.")]
WaveOpt = Annotated[int | None, typer.Option("--wave", help="Only this wave.")]


@dataclass(frozen=True)
class Selection:
    """The targets chosen for one command, and the file they came from (if any)."""

    targets: list[Target]
    file: TargetsFile | None


def targets_file_path(option: Path | None) -> Path | None:
    """``--targets`` or, failing that, ``$VECPATCH_TARGETS``."""
    if option is not None:
        return option
    env = os.environ.get("VECPATCH_TARGETS")
    return Path(env) if env else None


def gather(
    args: list[str] | None,
    targets_file: Path | None,
    env: str | None = None,
    tag: str | None = None,
    wave: int | None = None,
    *,
    secrets_here: bool = True,
) -> Selection:
    """Targets from arguments and/or a file, filtered; TargetsError lists every problem.

    *secrets_here*: the command connects from this machine, so password references must
    resolve here (False for commands that queue work for others).
    """
    from vecpatch.targets import load_targets, select, targets_from_args

    path = targets_file_path(targets_file)
    found = list(targets_from_args(args or []))
    environ = os.environ if secrets_here else None
    loaded = load_targets(path, environ) if path is not None else None
    if loaded is not None:
        found += loaded.targets
    if not found:
        raise UsageError(
            "no targets: pass DSNs/URIs or service names, or --targets FILE",
            hint="`vecpatch targets sample` prints an example targets file",
        )
    chosen = select(found, env=env, tag=tag, wave=wave)
    if not chosen:
        raise UsageError("no target matches the --env/--tag/--wave selection")
    return Selection(chosen, loaded)
