"""`vecpatch targets` commands, end to end through Typer."""

import json
from pathlib import Path

from typer.testing import CliRunner

from vecpatch.cli.main import app
from vecpatch.targets import SAMPLE_TOML, load_targets

runner = CliRunner()
SENTINEL = "S3ntinel-pw-7f2c"


def test_sample_prints_a_valid_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["targets", "sample"])
    assert result.exit_code == 0
    assert result.stdout == SAMPLE_TOML
    path = tmp_path / "t.toml"
    path.write_text(result.stdout)
    assert load_targets(path).targets


def test_validate_ok_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(SAMPLE_TOML)
    assert runner.invoke(app, ["targets", "validate", str(good)]).exit_code == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[[targets]]\nname='a'\nwave='x'\n[[targets]]\nname='b'\ndsn='host=h'\nwat=1\n")
    result = runner.invoke(app, ["targets", "validate", str(bad)])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "targets[0] (a).dsn" in out and "targets[0] (a).wave" in out
    assert "targets[1] (b).wat" in out and "bad.toml:7" in out


def test_validate_warns_about_inline_secret_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(f"[[targets]]\nname='a'\ndsn='postgresql://u:{SENTINEL}@h/db'\n")
    result = runner.invoke(app, ["targets", "validate", str(path)])
    assert result.exit_code == 0
    assert "inline secret" in result.output and SENTINEL not in result.output


def test_list_redacts_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(SAMPLE_TOML)
    result = runner.invoke(
        app,
        [
            "targets",
            "list",
            "--targets",
            str(path),
            "--format",
            "json",
            "--tag",
            "eu",
            f"postgresql://u:{SENTINEL}@adhoc/db",
        ],
    )
    assert result.exit_code == 0, result.output
    assert SENTINEL not in result.output
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["orders", "search-staging"]
    assert rows[0]["stakeholders"] == ["mailto://***"]
    everything = runner.invoke(
        app, ["targets", "list", "-t", str(path), f"host=h password={SENTINEL}"]
    )
    assert everything.exit_code == 0 and SENTINEL not in everything.output
    assert "orders" in everything.output


def test_list_without_targets_is_a_usage_error(monkeypatch: object) -> None:
    result = runner.invoke(app, ["targets", "list"], env={"VECPATCH_TARGETS": ""})
    assert result.exit_code == 2


def test_help_everywhere() -> None:
    for command in ([], ["validate"], ["sample"], ["list"]):
        assert runner.invoke(app, ["targets", *command, "--help"]).exit_code == 0
