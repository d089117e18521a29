"""Read a TOML or YAML targets file into a :class:`TargetsFile`, reporting every problem.

Layering of values: ``[defaults]`` < ``[environments.<env>]`` < the target's own
keys (a key set on the target replaces the default whole; lists are not merged).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from vecpatch.redact import redact_text
from vecpatch.targets.errors import Problem, TargetsError
from vecpatch.targets.locate import Locator, toml_locator, yaml_locator
from vecpatch.targets.model import Settings, Target, TargetsFile

TOP_KEYS = ("settings", "defaults", "environments", "targets")
INLINE_SECRET = "inline secret; prefer env:NAME, file:PATH or .pgpass"


def _parse(path: Path) -> tuple[Any, Locator]:
    """Parse by extension (``.yaml``/``.yml`` are YAML, anything else TOML)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetsError([Problem(f"cannot read: {exc.strerror}", source)]) from None
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
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(str(loc[0]), list(known), n=1)
                message = "unknown option" + (f" (did you mean {close[0]!r}?)" if close else "")
            self.add(message, (*where, *loc[:1]), label=who, field=field)


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


def _resolve_paths(target: Target, base: Path) -> Target:
    """Make ``file:``/``pgpass:`` paths absolute, relative to the targets file."""
    cred = target.password
    if cred is None or cred.kind not in ("file", "pgpass") or not cred.ref:
        return target
    path = Path(cred.ref).expanduser()
    if path.is_absolute():
        return target
    resolved = cred.model_copy(update={"ref": str(base / path)})
    return target.model_copy(update={"password": resolved})


def _target(
    index: int, raw: Any, defaults: Mapping[str, Any], envs: Mapping[str, Any], out: _Collector
) -> Target | None:
    path: tuple[str | int, ...] = ("targets", index)
    if not isinstance(raw, dict):
        out.add("each target must be a table/mapping", path)
        return None
    name = raw.get("name")
    label = f"targets[{index}]" + (f" ({name})" if isinstance(name, str) else "")
    env = raw.get("environment", defaults.get("environment"))
    env_defaults = envs.get(env, {}) if isinstance(env, str) else {}
    env_defaults = env_defaults if isinstance(env_defaults, dict) else {}
    inherited = {k: ("defaults",) for k in defaults}
    inherited.update({k: ("environments", str(env)) for k in env_defaults})
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


def check_targets(path: str | Path) -> tuple[TargetsFile | None, list[Problem]]:
    """Validate a targets file; return the result (None if any error) and all problems."""
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
    targets: list[Target] = []
    for index, raw in enumerate(raw_targets):
        target = _target(index, raw, defaults, envs, out)
        if target is None:
            continue
        if any(t.name == target.name for t in targets):
            out.add(
                "duplicate target name",
                ("targets", index, "name"),
                label=f"targets[{index}] ({target.name})",
                field="name",
            )
        targets.append(_resolve_paths(target, file.parent))
    if any(p.severity == "error" for p in out.problems):
        return None, out.problems
    warnings = tuple(p for p in out.problems if p.severity == "warning")
    loaded = TargetsFile(path=file, settings=settings, targets=tuple(targets), warnings=warnings)
    return loaded, out.problems


def load_targets(path: str | Path) -> TargetsFile:
    """Load and validate a targets file; raise :class:`TargetsError` listing every error."""
    loaded, problems = check_targets(path)
    if loaded is None:
        raise TargetsError(problems, hint="run `vecpatch targets validate FILE` for details")
    return loaded
