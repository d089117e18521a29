"""Regenerate ``src/vecpatch/data/pgvector_objects.json`` from pgvector's update scripts.

Usage: python scripts/build_pgvector_objects.py EXTENSION_DIR

EXTENSION_DIR is a PostgreSQL ``share/extension`` folder holding every
``vector--A--B.sql`` (any sandbox build has them). For each update step the file
lists the functions, types and operators the step creates, so a plan can name the
user objects an ``ALTER EXTENSION vector UPDATE`` would collide with.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_STEP = re.compile(r"vector--(?P<src>[0-9.]+)--(?P<dst>[0-9.]+)\.sql$")
_FUNCTION = re.compile(r"CREATE\s+FUNCTION\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_AGGREGATE = re.compile(r"CREATE\s+AGGREGATE\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_TYPE = re.compile(r"CREATE\s+TYPE\s+(\w+)", re.IGNORECASE)
_OPERATOR = re.compile(r"CREATE\s+OPERATOR\s+([^\s(]+)\s*\(([^;]*?)\);", re.IGNORECASE | re.S)
_ARG = re.compile(r"(LEFTARG|RIGHTARG)\s*=\s*(\w+)", re.IGNORECASE)


def _args(text: str) -> str:
    return ",".join(a.strip().lower() for a in text.split(",") if a.strip())


def objects(sql: str) -> dict[str, list[str]]:
    """Objects one update script creates, as ``name(argtypes)`` signatures."""
    functions = {f"{n.lower()}({_args(a)})" for n, a in _FUNCTION.findall(sql)}
    functions |= {f"{n.lower()}({_args(a)})" for n, a in _AGGREGATE.findall(sql)}
    operators = set()
    for name, body in _OPERATOR.findall(sql):
        if name.upper() in ("CLASS", "FAMILY"):
            continue
        sides = dict((k.upper(), v.lower()) for k, v in _ARG.findall(body))
        operators.add(f"{name}({sides.get('LEFTARG', 'none')},{sides.get('RIGHTARG', 'none')})")
    return {
        "functions": sorted(functions),
        "types": sorted({t.lower() for t in _TYPE.findall(sql)}),
        "operators": sorted(operators),
    }


def main(folder: Path) -> dict[str, dict[str, list[str]]]:
    steps: dict[str, dict[str, list[str]]] = {}
    for script in sorted(folder.glob("vector--*--*.sql")):
        found = _STEP.search(script.name)
        if found:
            key = f"{found['src']}--{found['dst']}"
            steps[key] = objects(script.read_text(encoding="utf-8"))
    return steps


if __name__ == "__main__":
    data = {
        "about": "objects each pgvector update script creates (scripts/build_pgvector_objects.py)",
        "steps": main(Path(sys.argv[1])),
    }
    out = Path(__file__).resolve().parent.parent / "src/vecpatch/data/pgvector_objects.json"
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(data['steps'])} steps)")
