"""Targets given on the command line: DSNs/URIs or libpq service names.

A service name that libpq cannot find would otherwise surface later as a vague
connection failure, so it is checked here against the same service files libpq
reads, and every bad argument is reported at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from vecpatch.redact import redact_dsn
from vecpatch.targets.address import address_problems
from vecpatch.targets.errors import Problem, TargetsError
from vecpatch.targets.model import Target

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def is_dsn(arg: str) -> bool:
    """A string with ``=`` or ``://`` is a connection string; anything else is a service name."""
    return "=" in arg or "://" in arg


def service_files(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """The service files libpq consults, in its order (user file first)."""
    files = []
    if environ.get("PGSERVICEFILE"):
        files.append(Path(environ["PGSERVICEFILE"]))
    else:
        files.append(Path(environ.get("HOME", str(Path.home()))) / ".pg_service.conf")
    if environ.get("PGSYSCONFDIR"):
        files.append(Path(environ["PGSYSCONFDIR"]) / "pg_service.conf")
    else:
        # Debian's libpq default; other builds may differ, so a miss here only warns via error.
        files.append(Path("/etc/postgresql-common/pg_service.conf"))
    return files


def known_services(environ: Mapping[str, str] = os.environ) -> set[str]:
    """Every section name in the service files that exist and can be read."""
    names: set[str] = set()
    for file in service_files(environ):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        names.update(m.group(1).strip() for m in map(_SECTION.match, text.splitlines()) if m)
    return names


def _name_for(params: Mapping[str, object]) -> str:
    """A readable, password-free name: ``service``, or ``host:port/dbname``."""
    if params.get("service"):
        return str(params["service"])
    host = str(params.get("host") or "local").split(",")[0]
    port = params.get("port")
    name = f"{host}:{port}" if port else host
    return f"{name}/{params['dbname']}" if params.get("dbname") else name


def targets_from_args(args: list[str], environ: Mapping[str, str] = os.environ) -> list[Target]:
    """Turn positional arguments into targets; raise TargetsError listing every bad one."""
    problems: list[Problem] = []
    targets: list[Target] = []
    services: set[str] | None = None
    for index, arg in enumerate(args):
        where = f"argument {index + 1}"
        if is_dsn(arg):
            try:
                params = conninfo_to_dict(arg)
            except psycopg.ProgrammingError as exc:
                message = f"not a valid connection string ({redact_dsn(str(exc))})"
                problems.append(Problem(message, "arguments", where))
                continue
            bad = address_problems(params)
            if bad:
                problems += [Problem(m, "arguments", where) for m in bad]
                continue
            dsn = arg
        else:
            services = known_services(environ) if services is None else services
            if arg not in services:
                searched = ", ".join(str(f) for f in service_files(environ))
                message = f"no service {arg!r} in the libpq service files ({searched})"
                problems.append(Problem(message, "arguments", where))
                continue
            params, dsn = {"service": arg}, f"service={arg}"
        name = _name_for(params)
        if any(t.name == name for t in targets):
            name = f"{name}#{index + 1}"
        targets.append(Target(name=name, dsn=dsn))
    if problems:
        raise TargetsError(problems, hint="pass a URI, a key=value DSN or a pg_service.conf name")
    return targets
