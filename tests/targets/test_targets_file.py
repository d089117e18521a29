"""Loading and validating targets files (TOML and YAML)."""

from pathlib import Path

import pytest

from vecpatch.targets import (
    SAMPLE_TOML,
    Credential,
    TargetsError,
    check_targets,
    load_targets,
    parse_windows,
    select,
)

MINIMAL = """\
[[targets]]
name = "orders"
environment = "production"
dsn = "postgresql://vecpatch@db1.example.internal:5432/postgres"
password = "env:ORDERS_DB_PASSWORD"   # or "file:/run/secrets/orders", or omit to use .pgpass
databases = "all"
tags = ["eu"]
wave = 1
"""


def write(tmp_path: Path, text: str, name: str = "targets.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_minimal_file_from_the_issue_loads(tmp_path: Path) -> None:
    loaded = load_targets(write(tmp_path, MINIMAL))
    (target,) = loaded.targets
    assert target.name == "orders"
    assert target.environment == "production"
    assert target.password == Credential(kind="env", ref="ORDERS_DB_PASSWORD")
    assert target.databases == "all"
    assert target.tags == ("eu",)
    assert target.wave == 1
    assert target.connect_timeout == 5
    assert target.statement_timeout == 30
    assert loaded.warnings == ()


def test_sample_validates(tmp_path: Path) -> None:
    loaded, problems = check_targets(write(tmp_path, SAMPLE_TOML))
    assert loaded is not None, problems
    assert problems == []
    orders = loaded.targets[0]
    assert orders.window == "sat 02:00-04:00"  # from [environments.production]
    assert orders.timezone == "Europe/Berlin"
    assert loaded.targets[1].timezone == "UTC"  # staging: only [defaults]


def test_yaml_equivalent_loads(tmp_path: Path) -> None:
    text = """\
settings:
  concurrency: 4
defaults:
  statement_timeout: 10
targets:
  - name: orders
    dsn: postgresql://vecpatch@db1/postgres
    databases: [app, analytics]
    password: file:secrets/orders
"""
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "orders").write_text("pw\n")
    loaded = load_targets(write(tmp_path, text, "t.yaml"))
    target = loaded.targets[0]
    assert target.statement_timeout == 10
    assert target.databases == ("app", "analytics")
    assert loaded.settings.concurrency == 4
    # Relative file: references are relative to the targets file, not the CWD.
    assert target.password is not None
    assert target.password.ref == str(tmp_path / "secrets" / "orders")


BAD_TOML = """\
[settings]
concurrency = "many"

[defaults]
timezone = "Mars/Olympus"

[[targets]]
name = "a"
dsn = "postgresql://u@h/db"
wave = -1

[[targets]]
name = "b"
dns = "host=h"
window = "someday 1-2"
package_hook = "install {pkg}"
"""


def test_every_error_is_reported_with_its_location(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_TOML)
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    problems = {(p.location, p.field): p for p in caught.value.problems}
    assert problems[("settings", "concurrency")].line == 2
    assert problems[("defaults", "timezone")].line == 5
    assert problems[("targets[0] (a)", "wave")].line == 10
    assert problems[("targets[1] (b)", "dsn")].message == "required key is missing"
    assert "did you mean 'dsn'" in problems[("targets[1] (b)", "dns")].message
    assert problems[("targets[1] (b)", "dns")].line == 14
    assert problems[("targets[1] (b)", "window")].line == 15
    assert "{pkg}" in problems[("targets[1] (b)", "package_hook")].message or "pkg" in str(
        problems[("targets[1] (b)", "package_hook")]
    )
    assert all(p.source == str(path) for p in caught.value.problems)
    # The default's error is reported once, against [defaults], not once per target.
    assert sum(p.field == "timezone" for p in caught.value.problems) == 1


def test_yaml_errors_have_exact_lines(tmp_path: Path) -> None:
    text = "targets:\n  - name: a\n    dsn: host=h\n  - name: b\n    dsn: host=h\n    wave: x\n"
    _, problems = check_targets(write(tmp_path, text, "t.yml"))
    (problem,) = problems
    assert (problem.location, problem.field, problem.line) == ("targets[1] (b)", "wave", 6)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[targets]]\nname = 'a'\n", "dsn"),
        ("", "no targets"),
        ("[[targets]\n", "invalid TOML"),
        ("[[targets]]\nname='a'\ndsn='host=h'\n[[targets]]\nname='a'\ndsn='host=h'\n", "duplicate"),
        ("[[targets]]\nname='a b'\ndsn='host=h'\n", "letters"),
        ("[[targets]]\nname='a'\ndsn='host=h'\ndatabases='some'\n", '"all"'),
        ("[[targets]]\nname='a'\ndsn='nonsense here'\n", "connection string"),
        ("[[targets]]\nname='a'\ndsn='host=h'\nstakeholders=['x']\n", "apprise"),
        ("[[targets]]\nname='a'\ndsn='host=h'\npassword='env:'\n", "variable name"),
        ("oops = 1\n[[targets]]\nname='a'\ndsn='host=h'\n", "top-level"),
    ],
)
def test_single_mistakes(tmp_path: Path, text: str, fragment: str) -> None:
    loaded, problems = check_targets(write(tmp_path, text))
    assert loaded is None
    assert any(fragment in str(p) for p in problems), problems


def test_inline_secrets_warn_but_load(tmp_path: Path) -> None:
    text = (
        "[[targets]]\nname='a'\ndsn='postgresql://u:hunter2@h/db'\n"
        "[[targets]]\nname='b'\ndsn='host=h'\npassword='hunter2'\n"
    )
    loaded = load_targets(write(tmp_path, text))
    assert [(w.location, w.field) for w in loaded.warnings] == [
        ("targets[0] (a)", "dsn"),
        ("targets[1] (b)", "password"),
    ]
    assert all("prefer env:" in w.message for w in loaded.warnings)
    assert all("hunter2" not in str(w) for w in loaded.warnings)
    # The models never show the secret either.
    assert "hunter2" not in repr(loaded)
    assert loaded.targets[0].display_dsn == "postgresql://u:***@h/db"


def test_unknown_settings_are_kept_with_a_warning(tmp_path: Path) -> None:
    loaded = load_targets(write(tmp_path, "[settings]\ncolour='x'\n" + MINIMAL))
    assert loaded.settings.model_extra == {"colour": "x"}
    assert [w.field for w in loaded.warnings] == ["colour"]


def test_select_filters(tmp_path: Path) -> None:
    targets = load_targets(write(tmp_path, SAMPLE_TOML)).targets
    assert [t.name for t in select(targets, env="staging")] == ["search-staging"]
    assert [t.name for t in select(targets, tag="eu")] == ["orders", "search-staging"]
    assert [t.name for t in select(targets, tag="search", wave=0)] == ["search-staging"]
    assert select(targets, wave=7) == []


def test_windows() -> None:
    (window,) = parse_windows("mon-fri 23:00-01:00")
    assert window.days == frozenset(range(5))
    assert len(parse_windows("sat 02:00-04:00; daily 02:00-03:00")) == 2
    for bad in ("sat 25:00-26:00", "sat 02:00-02:00", "blursday 01:00-02:00", "02:00-04:00"):
        with pytest.raises(ValueError):
            parse_windows(bad)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("t.toml", "[[targets]]\nname = 'a'\ndsn = \n", 3),
        ("t.yaml", "targets:\n  - name: a\n    dsn: [unclosed\n", 4),
    ],
)
def test_syntax_errors_carry_a_line(tmp_path: Path, name: str, text: str, line: int) -> None:
    loaded, problems = check_targets(write(tmp_path, text, name))
    assert loaded is None
    (problem,) = problems
    assert problem.line == line and "invalid" in problem.message


def test_unreadable_file(tmp_path: Path) -> None:
    _, problems = check_targets(tmp_path / "absent.toml")
    assert "cannot read" in problems[0].message
