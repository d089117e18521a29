"""Make feed strings safe to store and print.

Feed text is attacker-reachable (anyone can file a CVE description), so before it
reaches a terminal or the cache we drop ANSI escapes and control characters and cap
the length; a 1 MB "summary" must not flood a report.
"""

from __future__ import annotations

import re

# CSI / OSC / other ESC sequences, then C0/C1 controls except tab and newline.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

SUMMARY_MAX = 300
DETAILS_MAX = 4000
FIELD_MAX = 200
ID_MAX = 64
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def clean_text(value: object, limit: int = FIELD_MAX, *, multiline: bool = False) -> str:
    """Strip escapes and control characters and cap to ``limit`` characters."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    text = text[: limit * 4]  # bound the regex work on huge inputs
    text = _ANSI.sub("", text)
    if not multiline:
        text = text.replace("\n", " ").replace("\t", " ")
    text = _CONTROL.sub("", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def clean_id(value: object) -> str | None:
    """An advisory or alias id, or None when it does not look like one."""
    text = clean_text(value, ID_MAX)
    return text if _ID_RE.match(text) else None
