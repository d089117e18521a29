"""Help in the ecosystem's conventions, for every command: every option explained, boolean
flags shown as flags, brackets in help text printed as written, nothing cut at 80 columns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from vecpatch.cli.main import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path (Typer vendors its own click: no isinstance checks)."""
    yield path
    for name, command in (getattr(group, "commands", None) or {}).items():
        yield from _commands(command, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT))


def _command(path: tuple[str, ...]) -> Any:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return command


def test_every_option_has_help() -> None:
    missing = [
        f"vecpatch {' '.join(path)} {param.opts[0]}"
        for path in COMMANDS
        for param in _command(path).params
        if param.param_type_name == "option" and not param.hidden and not (param.help or "").strip()
    ]
    assert not missing, missing


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "vecpatch")
def test_help_reads_at_80_columns(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output  # a flag is a flag: --yes, not --yes <bool>
    assert all(len(line) <= 80 for line in result.output.splitlines()), result.output


def test_brackets_in_help_are_kept() -> None:
    result = CliRunner().invoke(app, ["metrics", "--help"], env={"COLUMNS": "80"})
    assert "[settings.metrics]" in result.output
