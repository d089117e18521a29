"""Every exception vecpatch defines is a VecpatchError, so it carries a message and an exit code."""

import ast
import importlib
from pathlib import Path

import vecpatch
from vecpatch.errors import VecpatchError
from vecpatch.exitcodes import ExitCode

SRC = Path(vecpatch.__file__).parent


def _exception_classes() -> list[tuple[str, str]]:
    """``(module path, class name)`` of every class whose base names end in Error/Exception."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name | ast.Attribute)
                and ast.unparse(b).endswith(("Error", "Exception", "Failed", "Busy", "NotFound"))
                for b in node.bases
            ):
                found.append((str(path.relative_to(SRC)), node.name))
    return found


def test_every_error_class_is_a_vecpatch_error() -> None:
    outside = []
    for rel, name in _exception_classes():
        module = importlib.import_module("vecpatch." + rel.removesuffix(".py").replace("/", "."))
        cls = getattr(module, name)
        if not (issubclass(cls, VecpatchError) and isinstance(cls.exit_code, ExitCode)):
            outside.append(f"{rel}:{name}")
    assert outside == []
