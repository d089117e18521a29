"""Hook commands get server-provided values (database names) safely."""

from __future__ import annotations

import subprocess

import pytest

from vecpatch.errors import UsageError
from vecpatch.placeholders import fill


def test_values_are_shell_quoted_and_substituted_once() -> None:
    command = fill("echo {database} {dest}", {"database": "x$(id){dest}", "dest": "/tmp/b k"})
    assert command == "echo 'x$(id){dest}' '/tmp/b k'"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)
    assert done.stdout == "x$(id){dest} /tmp/b k\n"  # nothing ran, nothing expanded twice


def test_unknown_placeholders_and_shell_syntax_are_left_alone() -> None:
    assert fill("awk '{print $1}' ${VERSION} {other}", {"version": "0.8.5"}) == (
        "awk '{print $1}' ${VERSION} {other}"
    )


@pytest.mark.parametrize("template", ['pg_dump -d "{database}"', "run '{database}'"])
def test_a_quoted_placeholder_is_refused(template: str) -> None:
    with pytest.raises(UsageError, match="in quotes"):
        fill(template, {"database": "app"})
