"""Read a TOML or YAML targets file into a :class:`TargetsFile`, reporting every problem.

Layering of values: ``[defaults]`` < ``[environments.<env>]`` < the target's own
keys (a key set on the target replaces the default whole; lists are not merged).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from vecpatch.redact import redact_text
from vecpatch.targets.conninfo import unresolved
from vecpatch.targets.errors import Problem, TargetsError
from vecpatch.targets.locate import Locator, toml_locator, yaml_locator
from vecpatch.targets.model import Credential, Settings, Target, TargetsFile

TOP_KEYS = ("settings", "defaults", "environments", "targets")
INLINE_SECRET = "inline secret; prefer env:NAME, file:PATH or .pgpass"


def _decode(data: bytes, source: str) -> str:
    """The file as text, or one problem naming the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded"
        raise TargetsError([Problem(message, source, line=line)]) from None


def _parse(path: Path) -> tuple[Any, Locator]:
    """Parse by extension (``.yaml``/``.yml`` are YAML, anything else TOML)."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TargetsError([Problem(f"cannot read: {exc.strerror}", source)]) from None
    text = _decode(data, source)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text), yaml_locator(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise TargetsError([Problem(f"invalid YAML: {problem}", source, line=line)]) from None
    try:
        return tomllib.loads(text), toml_locator(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise TargetsError([Problem(f"invalid TOML: {exc}", source, line=line)]) from None


class _Collector:
    """Accumulates problems for one file, filling in source and line."""

    def __init__(self, source: str, locate: Locator) -> None:
        self.source = source
        self.locate = locate
        self.problems: list[Problem] = []

    def add(
        self,
        message: str,
        path: tuple[str | int, ...],
        *,
        label: str = "",
        field: str = "",
        severity: str = "error",
    ) -> None:
        problem = Problem(
            redact_text(message),
            self.source,
            label or ".".join(str(p) for p in path),
            field,
            self.locate(path),
            "warning" if severity == "warning" else "error",
        )
        if problem not in self.problems:
            self.problems.append(problem)

    def pydantic(
        self,
        exc: ValidationError,
        path: tuple[str | int, ...],
        label: str,
        known: Any,
        inherited: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Record each pydantic error; blame a shared table when the key came from one."""
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc)
            where, who = path, label
            if inherited and loc and str(loc[0]) in inherited:
                where = inherited[str(loc[0])]
                who = ".".join(where)
            message = wording(err)
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(str(loc[0]), list(known), n=1)
                message = "unknown option" + (f" (did you mean {close[0]!r}?)" if close else "")
            self.add(message, (*where, *loc[:1]), label=who, field=field)


_WORDING = {
    "missing": "required key is missing",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a table/mapping",
    "model_type": "must be a string or a table/mapping",
    "too_long": "is too long",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least"),
    "greater_than": ("gt", "must be more than"),
    "less_than_equal": ("le", "must be at most"),
    "less_than": ("lt", "must be less than"),
}


def wording(err: ErrorDetails) -> str:
    """vecpatch's words for one pydantic error; our own validators' messages pass through."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", "invalid value"))
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"{words} {ctx.get(key)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    return _WORDING.get(kind, "has a value of the wrong kind")


def _table(doc: Mapping[str, Any], key: str, out: _Collector) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        out.add(f"'{key}' must be a table/mapping", (key,))
        return {}
    return value


def _settings(doc: Mapping[str, Any], out: _Collector) -> Settings:
    raw = _table(doc, "settings", out)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        out.pydantic(exc, ("settings",), "settings", Settings.model_fields)
        return Settings()
    for key in settings.model_extra or {}:
        out.add(
            "unknown setting (kept, but not used yet)",
            ("settings", key),
            label="settings",
            field=key,
            severity="warning",
        )
    return settings


def _resolve_path(cred: Credential, base: Path) -> Credential:
    """Make a ``file:``/``pgpass:`` path absolute, relative to the targets file."""
    if cred.kind not in ("file", "pgpass") or not cred.ref:
        return cred
    path = Path(cred.ref).expanduser()
    return cred if path.is_absolute() else cred.model_copy(update={"ref": str(base / path)})


def _env_defaults(
    raw: Mapping[str, Any], defaults: Mapping[str, Any], envs: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``[environments.<env>]`` table that applies to *raw* (empty when none does)."""
    env = raw.get("environment", defaults.get("environment"))
    found = envs.get(env, {}) if isinstance(env, str) else {}
    return found if isinstance(found, dict) else {}


def _target(
    index: int,
    raw: dict[str, Any],
    defaults: Mapping[str, Any],
    envs: Mapping[str, Any],
    out: _Collector,
) -> Target | None:
    path: tuple[str | int, ...] = ("targets", index)
    label = _label(index, raw)
    env_defaults = _env_defaults(raw, defaults, envs)
    env = str(raw.get("environment", defaults.get("environment")))
    inherited: dict[str, tuple[str, ...]] = {k: ("defaults",) for k in defaults}
    inherited.update({k: ("environments", env) for k in env_defaults})
    for key in raw:
        inherited.pop(key, None)
    try:
        target = Target.model_validate({**defaults, **env_defaults, **raw})
    except ValidationError as exc:
        out.pydantic(exc, path, label, Target.model_fields, inherited)
        return None
    if target.password is not None and target.password.kind == "inline":
        where = (*path, "password") if "password" in raw else ("defaults", "password")
        out.add(INLINE_SECRET, where, label=label, field="password", severity="warning")
    if target.conninfo.get("password"):
        out.add(INLINE_SECRET, (*path, "dsn"), label=label, field="dsn", severity="warning")
    return target


def _label(index: int, raw: Mapping[str, Any]) -> str:
    name = raw.get("name")
    return f"targets[{index}]" + (f" ({name})" if isinstance(name, str) else "")


def _credential(
    raw: Mapping[str, Any], defaults: Mapping[str, Any], envs: Mapping[str, Any]
) -> Credential | None:
    """The password reference a target ends up with, read even when the rest of it is invalid."""
    value = {**defaults, **_env_defaults(raw, defaults, envs), **raw}.get("password")
    try:
        return Credential.parse(value) if isinstance(value, str) else None
    except ValueError:
        return None  # already reported by the target's own validation


def _check_secret(
    cred: Credential | None,
    index: int,
    raw: Mapping[str, Any],
    environ: Mapping[str, str],
    out: _Collector,
) -> None:
    """A password reference that cannot be resolved now is an error, not a later "unscanned"."""
    reason = None if cred is None else unresolved(cred, environ)
    if reason is not None:
        where: tuple[str | int, ...] = ("targets", index)
        where = (*where, "password") if "password" in raw else where
        out.add(reason, where, label=_label(index, raw), field="password")


def _targets(
    raw_targets: list[Any],
    defaults: Mapping[str, Any],
    envs: Mapping[str, Any],
    base: Path,
    environ: Mapping[str, str],
    out: _Collector,
) -> list[Target]:
    """Validate every target, checking names and secrets even of targets that are invalid."""
    targets: list[Target] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_targets):
        if not isinstance(raw, dict):
            out.add("each target must be a table/mapping", ("targets", index))
            continue
        target = _target(index, raw, defaults, envs, out)
        name = raw.get("name")
        if isinstance(name, str) and name in names:
            where = ("targets", index, "name")
            out.add("duplicate target name", where, label=_label(index, raw), field="name")
        names.add(name if isinstance(name, str) else "")
        cred = _credential(raw, defaults, envs)
        cred = None if cred is None else _resolve_path(cred, base)
        _check_secret(cred, index, raw, environ, out)
        if target is not None:
            targets.append(target if cred is None else target.model_copy(update={"password": cred}))
    return targets


def check_targets(
    path: str | Path, environ: Mapping[str, str] = os.environ
) -> tuple[TargetsFile | None, list[Problem]]:
    """Validate a targets file; return the result (None if any error) and all problems.

    Password references are resolved against *environ* and the file system too, so a
    missing variable or secret file is reported here rather than as unscanned targets.
    """
    file = Path(path)
    try:
        doc, locate = _parse(file)
    except TargetsError as exc:
        return None, list(exc.problems)
    out = _Collector(str(file), locate)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        out.add("the file must be a table/mapping with a 'targets' list", ())
        return None, out.problems
    for key in doc:
        if key not in TOP_KEYS:
            out.add(f"unknown top-level key (expected one of {', '.join(TOP_KEYS)})", (key,))
    settings = _settings(doc, out)
    defaults = _table(doc, "defaults", out)
    if "name" in defaults:
        out.add("a default name makes no sense; set it per target", ("defaults", "name"))
    envs = _table(doc, "environments", out)
    raw_targets = doc.get("targets", [])
    if not isinstance(raw_targets, list) or not raw_targets:
        out.add("no targets: add at least one [[targets]] table", ("targets",))
        raw_targets = raw_targets if isinstance(raw_targets, list) else []
    targets = _targets(raw_targets, defaults, envs, file.parent, environ, out)
    if any(p.severity == "error" for p in out.problems):
        return None, out.problems
    warnings = tuple(p for p in out.problems if p.severity == "warning")
    loaded = TargetsFile(path=file, settings=settings, targets=tuple(targets), warnings=warnings)
    return loaded, out.problems


def load_targets(path: str | Path, environ: Mapping[str, str] = os.environ) -> TargetsFile:
    """Load and validate a targets file; raise :class:`TargetsError` listing every error."""
    loaded, problems = check_targets(path, environ)
    if loaded is None:
        raise TargetsError(problems, hint="run `vecpatch targets validate FILE` for details")
    return loaded
