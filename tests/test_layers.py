"""The import rules of CONTRIBUTING.md ("Layers"), checked with ``ast`` over src/vecpatch.

Fails on an upward import (a lower layer importing a higher one: ``automation``/``web`` →
``cli``, a service → ``automation``…), on core code importing I/O, and on a new import
cycle between modules or between components. Imports under ``if TYPE_CHECKING:`` are
left out: they never run. Known violations are listed in :data:`ALLOWED_UPWARD` and
:data:`ALLOWED_CYCLES`; the test also fails when one of them is gone, so the lists only
ever shrink.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import vecpatch

SRC = Path(vecpatch.__file__).parent


def _names(text: str) -> frozenset[str]:
    return frozenset(f"vecpatch.{name}" for name in text.split())


# Layers, top first: a component may import its own layer and those below it. A new
# top-level module or package not named here is a service (the third layer).
LAYERS: tuple[frozenset[str], ...] = (
    _names("__main__ cli"),
    _names("automation web"),
    _names("usecases"),
)
SERVICES = len(LAYERS)
CORE: frozenset[str] = {"vecpatch"} | _names(
    "errors exitcodes findings durations redact placeholders lazy"
    " catalog.versions catalog.cvss catalog.conditions catalog.sanitize catalog.facts"
    " catalog.model catalog.match catalog.distro catalog.debformat probe.facts history.records"
    " targets.errors targets.window report.model"
)
"""Pure modules (data types and decisions): nothing they import, directly or through other
vecpatch modules, imports I/O or anything above the services."""
IO_LIBRARIES = frozenset(
    {
        "psycopg", "psycopg_pool", "httpx", "sqlalchemy", "alembic", "fastapi", "starlette",
        "uvicorn", "procrastinate", "apprise", "filelock", "playwright", "subprocess", "socket",
        "shutil", "tempfile", "asyncio", "urllib.request", "http", "typer", "rich",
    }
)  # fmt: skip

# Known violations (none left): an entry added here must say why, and is deleted once its
# import is gone (the test says which).
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset()
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules an import statement loads (``from pkg import mod`` names ``pkg.mod``)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*anchor, *([node.module] if node.module else [])])
    for alias in node.names:
        full = f"{base}.{alias.name}"
        yield full if full in MODULES else base


@cache
def imports() -> Mapping[str, frozenset[str]]:
    """Every module's runtime imports (module-level and inside functions)."""
    found: dict[str, frozenset[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        found[module] = frozenset(
            target
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped
            for target in _targets(module, node)
        )
    return found


def component(module: str) -> str:
    """A core module stands alone; anything else belongs to ``vecpatch.<first part>``."""
    return module if module in CORE else ".".join(module.split(".")[:2])


def layer(module: str) -> int:
    """0 for the top (the CLI), one more per layer down; services (and core) are last."""
    name = ".".join(module.split(".")[:2])
    return next((depth for depth, members in enumerate(LAYERS) if name in members), SERVICES)


def _own(targets: frozenset[str]) -> list[str]:
    return sorted(t for t in targets if t == "vecpatch" or t.startswith("vecpatch."))


def upward_imports() -> set[tuple[str, str]]:
    return {
        (module, target)
        for module, targets in imports().items()
        for target in _own(targets)
        if layer(target) < layer(module)
    }


def _cycles(graph: Mapping[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected groups of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.add(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def module_cycles() -> set[frozenset[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in imports().items():
        graph[module] |= {t for t in _own(targets) if t in MODULES and t != module}
    # A package's __init__ re-exporting its modules is not a cycle of its own making.
    for module in list(graph):
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    return _cycles(graph)


def component_cycles() -> set[frozenset[str]]:
    """Cycles between components through downward or sideways imports (upward ones are
    reported by themselves)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in imports().items():
        graph[component(module)] |= {
            component(t)
            for t in _own(targets)
            if component(t) != component(module) and layer(t) >= layer(module)
        }
    return _cycles(graph)


def test_no_new_upward_import() -> None:
    assert upward_imports() - ALLOWED_UPWARD == set()


def test_no_new_import_cycle() -> None:
    cycles = module_cycles() | component_cycles()
    assert cycles - ALLOWED_CYCLES == set()


def test_the_allow_lists_only_name_what_still_exists() -> None:
    """When one of these fails, the violation is fixed: delete its entry above."""
    assert ALLOWED_UPWARD - upward_imports() == set()
    assert ALLOWED_CYCLES - (module_cycles() | component_cycles()) == set()


def _reached(start: str) -> set[str]:
    """*start* and every vecpatch module it imports, directly or not."""
    seen, todo = {start}, [start]
    while todo:
        for target in _own(imports()[todo.pop()]):
            if target in MODULES and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _io(module: str) -> set[str]:
    return {t for t in imports()[module] if t in IO_LIBRARIES or t.split(".")[0] in IO_LIBRARIES}


def test_core_reaches_no_io() -> None:
    bad = {
        f"{core} -> {module}: {sorted(_io(module)) or 'layer ' + str(layer(module))}"
        for core in sorted(CORE & set(MODULES))
        for module in _reached(core)
        if _io(module) or layer(module) < SERVICES
    }
    assert bad == set()
