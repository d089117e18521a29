"""One duration parser for every option: days work for --soak as for --bake and --since."""

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.durations import parse_duration
from vecpatch.errors import UsageError
from vecpatch.metrics import parse_since

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30", 30.0), ("30s", 30.0), ("10m", 600.0), ("2min", 120.0),
     ("1.5h", 5400.0), ("1d", 86400.0), ("2w", 1209600.0), (" 3 d ", 259200.0)],
)  # fmt: skip
def test_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "1y", "-1s", "1 day", "abc"])
def test_bad_durations_name_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_since_takes_the_same_durations_or_a_date() -> None:
    assert parse_since("90d", NOW) == NOW - timedelta(days=90)
    assert parse_since("36h", NOW) == NOW - timedelta(hours=36)
    assert parse_since("2026-11-01", NOW) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("all", NOW) is None
    with pytest.raises(UsageError):
        parse_since("30", NOW)  # a bare number is ambiguous here


def test_apply_soak_takes_days_like_rollout_bake() -> None:
    """``apply`` reads its durations before the targets, so the option alone decides."""
    runner = CliRunner()
    ok = runner.invoke(app, ["apply", "--yes", "--soak", "1d"])
    assert isinstance(ok.exception, UsageError) and "no targets" in ok.exception.message
    bad = runner.invoke(app, ["apply", "--yes", "--soak", "1y"])
    assert bad.exit_code == 2 and "not a duration" in bad.output
