"""Strict targets files (issue 15 item 7): every problem at once, in vecpatch's words, exit 2."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.targets import TargetsError, check_targets, targets_from_args

runner = CliRunner()
SENTINEL = "S3ntinel-pw-strict"

HOSTILE = f"""\
[[targets]]
name = "a"
dsn = "postgresql://u:{SENTINEL}@localhost:99999/db"
password = "env:VECPATCH_TEST_UNSET_VAR"

[[targets]]
name = "a"
dsn = "host=localhost port=abc"
password = "file:/nonexistent/secret"

[[targets]]
name = "c"
dsn = "host=localhost port=-1"
tags = "eu"
wave = "first"
bogus = 1

[[targets]]
name = "d"
dsn = "host={"h" * 5000}"
"""


def _problems(tmp_path: Path, text: str | bytes) -> dict[tuple[str, str], str]:
    path = tmp_path / "t.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    loaded, problems = check_targets(path, environ={})
    assert loaded is None
    return {(p.location, p.field): f"{p.line}: {p.message}" for p in problems}


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = _problems(tmp_path, HOSTILE)
    assert found[("targets[0] (a)", "dsn")] == "3: port 99999 is out of range (1-65535)"
    assert found[("targets[0] (a)", "password")] == (
        "4: password variable VECPATCH_TEST_UNSET_VAR is not set"
    )
    assert found[("targets[1] (a)", "name")] == "7: duplicate target name"
    assert found[("targets[1] (a)", "dsn")] == "8: port 'abc' is not a number"
    assert found[("targets[1] (a)", "password")].startswith(
        "9: cannot read password file /nonexistent/secret"
    )
    assert found[("targets[2] (c)", "dsn")] == "13: port '-1' is not a number"
    assert found[("targets[2] (c)", "tags")] == "14: must be a list"
    assert found[("targets[2] (c)", "wave")] == "15: must be a whole number"
    assert found[("targets[2] (c)", "bogus")] == "16: unknown option"
    assert "longer than 253 characters" in found[("targets[3] (d)", "dsn")]
    assert all(SENTINEL not in text and "Input should" not in text for text in found.values())


def test_a_resolvable_secret_passes(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(SENTINEL + "\n")
    path = tmp_path / "t.toml"
    path.write_text(
        "[[targets]]\nname='a'\ndsn='host=db.example'\npassword='env:PW'\n"
        "[[targets]]\nname='b'\ndsn='host=db.example'\npassword='file:pw'\n"
    )
    loaded, problems = check_targets(path, environ={"PW": SENTINEL})
    assert loaded is not None and problems == []


@pytest.mark.parametrize(
    ("dsn", "words"),
    [
        ("host=db..example", "parts of 1 to 63"),
        ("host='db example'", "may only hold"),
        (f"host={'x' * 64}.example", "parts of 1 to 63"),
        ("host=::zz", "not a valid IPv6"),
        ("host=a,b port=1,2,3", "3 ports for 2 hosts"),
        ("hostaddr=300.1.1.1", "not an IP address"),
    ],
)
def test_host_names_and_addresses(tmp_path: Path, dsn: str, words: str) -> None:
    found = _problems(tmp_path, f'[[targets]]\nname = "a"\ndsn = "{dsn}"\n')
    assert words in found[("targets[0] (a)", "dsn")]


@pytest.mark.parametrize(
    "dsn", ["host=/var/run/postgresql", "postgresql://u@[::1]:5432/x", "host=a,b port=5,6"]
)
def test_sockets_ipv6_and_host_lists_are_fine(tmp_path: Path, dsn: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(f'[[targets]]\nname = "a"\ndsn = "{dsn}"\n')
    assert check_targets(path, environ={})[0] is not None


def test_a_non_utf8_byte_is_a_message(tmp_path: Path) -> None:
    found = _problems(tmp_path, b'[[targets]]\nname = "caf\xe9"\n')
    assert found == {("", ""): "2: not UTF-8 text: byte 0xe9 cannot be decoded"}


def test_command_line_dsns_are_checked_too() -> None:
    with pytest.raises(TargetsError) as caught:
        targets_from_args(["host=db port=99999", f"host={'h' * 5000}"])
    assert [p.location for p in caught.value.problems] == ["argument 1", "argument 2"]


def test_validate_prints_user_text_literally(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[settings]\n")
    result = runner.invoke(app, ["targets", "validate", str(path)])
    assert result.exit_code == 2
    assert "add at least one [[targets]] table" in " ".join(result.output.split())


def _vecpatch(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point, where errors become exit codes."""
    return subprocess.run(
        [sys.executable, "-m", "vecpatch", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["targets", "validate"], ["scan", "-t"], ["plan", "-t"]])
def test_configuration_errors_exit_2_everywhere(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "t.toml"
    path.write_text(HOSTILE + "\n[unknown]\nx = 1\n")
    result = _vecpatch(*command, str(path))
    assert result.returncode == 2, result.stderr
    text = " ".join(result.stderr.split())
    assert "unknown top-level key" in text and "port 99999 is out of range" in text
    assert "Traceback" not in result.stderr and SENTINEL not in result.stderr
