"""Check the host and port keywords of a connection string before anything dials them.

libpq parses ``port=abc`` or a 5,000-character host without complaint and only
fails (or Python's resolver raises ``UnicodeError``) at connect time, in the
middle of a fleet run. Checking here turns those into validation problems that
name the key, without ever repeating the password.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

MAX_HOST = 253
"""DNS limit on a whole name (RFC 1035); each label is at most 63."""
_HOST_CHARS = re.compile(r"[A-Za-z0-9._-]+")


def _short(value: str) -> str:
    """A value fit to quote in a message: long ones are cut."""
    return repr(value) if len(value) <= 40 else repr(value[:40]) + f"… ({len(value)} characters)"


def _host_problem(host: str) -> str | None:
    """Why *host* (one entry of a host list) cannot be a host name, socket dir or address."""
    if not host or host.startswith(("/", "@")):
        return None
    if len(host) > MAX_HOST:
        return f"host {_short(host)} is longer than {MAX_HOST} characters"
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"host {_short(host)} is not a valid IPv6 address"
        return None
    try:
        ascii_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return f"host {_short(host)} is not a valid name (parts of 1 to 63 characters between dots)"
    if not _HOST_CHARS.fullmatch(ascii_name):
        return f"host {_short(host)} may only hold letters, digits, '.', '-' and '_'"
    return None


def _port_problem(port: str) -> str | None:
    if not port:
        return None
    if not port.isdigit():
        return f"port {_short(port)} is not a number"
    if not 1 <= int(port) <= 65535:
        return f"port {port} is out of range (1-65535)"
    return None


def address_problems(params: Mapping[str, object]) -> list[str]:
    """Every problem with ``host``, ``hostaddr`` and ``port`` in parsed connection keywords."""
    hosts = str(params.get("host") or "").split(",")
    problems = [p for h in hosts if (p := _host_problem(h.strip())) is not None]
    for addr in filter(None, str(params.get("hostaddr") or "").split(",")):
        try:
            ipaddress.ip_address(addr.strip())
        except ValueError:
            problems.append(f"hostaddr {_short(addr)} is not an IP address")
    ports = str(params.get("port") or "").split(",")
    problems += [p for port in ports if (p := _port_problem(port.strip())) is not None]
    if len(ports) > 1 and len(ports) != len(hosts):
        problems.append(f"{len(ports)} ports for {len(hosts)} hosts (give one, or one per host)")
    return problems
