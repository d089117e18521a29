"""Option values and declarations that several commands share, declared once.

A duration read here is read the same way by ``apply``, ``rollout``, ``watch`` and the
worker's enqueue commands (see :mod:`vecpatch.durations`). A group of options that
several commands take (which targets; apply's settings) is one function whose
parameters are the options and whose result the commands receive: :func:`expand`
puts the group's options into each command's signature for Typer.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

from vecpatch.cli.scan import TargetsArg, TargetsOpt
from vecpatch.cli.selection import EnvOpt, Selection, TagOpt, WaveOpt, gather
from vecpatch.durations import parse_duration

T = TypeVar("T")


def duration(text: str) -> float:
    """Seconds in a duration option; a bad one is a usage error (exit 2) naming the text."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@dataclass(frozen=True)
class Fleet:
    """The targets a command was pointed at; gathered when the command is ready for them."""

    args: list[str] | None = None
    file: Path | None = None
    env: str | None = None
    tag: str | None = None
    wave: int | None = None
    secrets_here: bool = True
    """False where the connections are made elsewhere (queued jobs): references not checked."""

    def gather(self) -> Selection:
        """The chosen targets; raises TargetsError/UsageError listing every problem."""
        return gather(
            self.args, self.file, self.env, self.tag, self.wave, secrets_here=self.secrets_here
        )


def fleet_options(
    targets: TargetsArg = None,
    targets_file: TargetsOpt = None,
    env: EnvOpt = None,
    tag: TagOpt = None,
    wave: WaveOpt = None,
) -> Fleet:
    """The positional targets, ``--targets FILE`` and ``--env/--tag/--wave``."""
    return Fleet(targets, targets_file, env, tag, wave)


def _parameters(func: Callable[..., Any], skip: Collection[str] = ()) -> list[inspect.Parameter]:
    """*func*'s parameters with their annotations evaluated (except those named in *skip*);
    return annotations are left alone, so they may name types imported only for mypy."""
    found = []
    for param in inspect.signature(func).parameters.values():
        hint = param.annotation
        if isinstance(hint, str) and param.name not in skip:
            hint = eval(hint, func.__globals__)  # as inspect does for eval_str, one at a time
        found.append(param.replace(annotation=hint))
    return found


def expand(**groups: Callable[..., Any]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Replace each command parameter named in *groups* by that group's options.

    The command receives the group function's result under the parameter's name, so
    the options are declared (and turned into a value) in one place. A group may itself
    be expanded (a group of groups).
    """

    def decorate(command: Callable[..., T]) -> Callable[..., T]:
        owned: dict[str, tuple[str, ...]] = {}
        params: list[inspect.Parameter] = []
        for param in _parameters(command, skip=set(groups)):
            group = groups.get(param.name)
            if group is None:
                params.append(param)
                continue
            inner = _parameters(group)
            owned[param.name] = tuple(p.name for p in inner)
            params.extend(inner)

        @functools.wraps(command)
        def run(**values: Any) -> T:
            for name, group in groups.items():
                values[name] = group(**{key: values.pop(key) for key in owned[name]})
            return command(**values)

        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}
        return run

    return decorate
