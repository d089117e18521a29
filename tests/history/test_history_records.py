"""The three descriptions of each history table agree: records, schema and migrations.

Migrations ↔ schema is checked by Alembic's ``compare_metadata`` on SQLite and
PostgreSQL (``test_history_sqlite``/``test_history_postgres``); this checks records ↔
schema, so a column added to one but not the other fails here instead of being
dropped silently when rows are read back.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import pytest
from sqlalchemy import JSON, Boolean, Column, Engine, Float, Integer, String, Table, inspect

from vecpatch.history import records, schema
from vecpatch.history.engine import make_engine, upgrade
from vecpatch.history.schema import UTCDateTime

PAIRS: dict[str, type[Any]] = {
    "runs": records.RunRecord,
    "scan_results": records.ScanRecord,
    "findings": records.FindingRecord,
    "stage_cases": records.StageCaseRecord,
    "apply_steps": records.ApplyStepRecord,
    "incidents": records.IncidentRecord,
    "rollout_state": records.RolloutStateRecord,
}
WITHOUT_RECORD = {"catalog_first_seen", "notifications"}
"""Key/value tables the store reads and writes through dedicated methods."""
STAMPED = {"recorded_at", "started_at", "updated_at"}
"""Filled in by the store when the record leaves them None, so NOT NULL yet optional."""


def _columns(table: Table) -> dict[str, Column[Any]]:
    """The table's columns, without an autoincrement surrogate key no record carries."""
    return {
        c.name: c
        for c in table.columns
        if not (c.name == "id" and c.primary_key and isinstance(c.type, Integer))
    }


def _hint(record: type[Any], name: str) -> tuple[set[Any], bool]:
    """The field's base types (unions unpacked, Literal → its values' type) and optional-ness."""
    hint = typing.get_type_hints(record)[name]
    parts = (
        set(typing.get_args(hint))
        if typing.get_origin(hint) in (typing.Union, types.UnionType)
        else {hint}
    )
    optional = type(None) in parts
    bases: set[Any] = set()
    for part in parts - {type(None)}:
        if typing.get_origin(part) is Literal:
            bases |= {type(v) for v in typing.get_args(part)}
        else:
            bases.add(typing.get_origin(part) or part)
    return bases, optional


def _python_type(column: Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return datetime
    for sql_type, py in ((Boolean, bool), (Float, float), (Integer, int), (String, str)):
        if isinstance(kind, sql_type):
            return py
    if isinstance(kind, JSON) or "JSON" in type(kind).__name__.upper():
        return Mapping
    raise AssertionError(f"{column.table.name}.{column.name}: unknown column type {kind!r}")


def test_every_table_is_described() -> None:
    assert set(schema.metadata.tables) == set(PAIRS) | WITHOUT_RECORD


@pytest.mark.parametrize("table_name", sorted(PAIRS))
def test_record_fields_are_the_columns(table_name: str) -> None:
    record = PAIRS[table_name]
    columns = _columns(schema.metadata.tables[table_name])
    assert [f.name for f in dataclasses.fields(record)] and set(columns) == {
        f.name for f in dataclasses.fields(record)
    }
    for name, column in columns.items():
        bases, optional = _hint(record, name)
        assert bases == {_python_type(column)}, f"{table_name}.{name}: {bases} vs {column.type}"
        if optional and name not in STAMPED:
            assert column.nullable, f"{table_name}.{name} may be None but the column is NOT NULL"
        if column.nullable and not optional:
            assert bases == {Mapping}, f"{table_name}.{name} is nullable but the record is not"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A history file created by the migrations alone."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('records') / 'h.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("table_name", sorted(PAIRS))
def test_record_fields_are_the_migrated_columns(migrated: Engine, table_name: str) -> None:
    """The third side directly: what the migrations built holds exactly the record's fields."""
    fields = {f.name for f in dataclasses.fields(PAIRS[table_name])}
    columns = {c["name"] for c in inspect(migrated).get_columns(table_name)}
    assert columns - ({"id"} - fields) == fields  # a surrogate id is the store's, not the record's
