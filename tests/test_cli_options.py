"""Option groups declared once (cli.options.expand) reach every command that takes them."""

import inspect

import pytest

from vecpatch.cli import apply as apply_cli
from vecpatch.cli import automation, stage
from vecpatch.cli.options import fleet_options


def _names(func: object) -> set[str]:
    return set(inspect.signature(func).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "groups"),
    [
        (apply_cli.apply, [fleet_options, apply_cli.apply_settings]),
        (automation.watch, [fleet_options]),
        (automation.enqueue_scan_cmd, [automation.queue_options]),
        (automation.enqueue_apply_cmd, [automation.queue_options, apply_cli.apply_settings]),
        (automation.enqueue_stage_cmd, [automation.queue_options, stage.stage_settings]),
        (stage.stage, [stage.stage_settings]),
    ],
)
def test_commands_take_their_groups_options(command: object, groups: list[object]) -> None:
    names = _names(command)
    for group in groups:
        assert _names(group) <= names
    assert not names & {"fleet", "settings", "job"}  # the placeholders never reach Typer


def test_a_group_of_groups() -> None:
    assert _names(automation.queue_options) == {"queue_dsn"} | _names(fleet_options)
