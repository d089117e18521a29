"""Public names of a package imported on first use (PEP 562 module ``__getattr__``).

Why: the CLI parses its options with light types (``vecpatch.apply.model``) and must not
pay for the runner, SQLAlchemy or FastAPI before a command needs them. A package lists
its public names and the submodule each comes from; type checkers see ordinary imports
under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def exports(
    package: str, namespace: dict[str, Any], sources: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name imported from its source once."""
    names = frozenset(public)

    def getattr_(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *names})

    return getattr_, dir_
