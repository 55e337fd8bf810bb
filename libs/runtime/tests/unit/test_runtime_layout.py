"""The runtime's own shape: no import circles between its modules, and each thing in one home."""

from __future__ import annotations

import ast
from pathlib import Path

import sambang_runtime

ROOT = Path(sambang_runtime.__file__).parent


def _imports(module: Path) -> set[str]:
    """The runtime modules one module imports (relative imports, type-checking ones included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {a.name for a in node.names}
    return found


def test_no_module_of_the_runtime_imports_one_that_imports_it_back() -> None:
    graph = {p.stem: _imports(p) for p in ROOT.glob("*.py")}
    circles = sorted(f"{a} <-> {b}" for a, deps in graph.items() for b in deps if a < b and a in graph.get(b, set()))
    assert circles == []


def test_the_clock_lives_in_clock_and_errors_stays_about_errors() -> None:
    errors = ast.parse((ROOT / "errors.py").read_text())
    names = {t.id for n in errors.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    names |= {n.name for n in errors.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert "Clock" not in names and "system_clock" not in names
    assert "clock" not in _imports(ROOT / "errors.py")
    from sambang_runtime.clock import Clock, system_clock

    assert Clock is not None and system_clock().tzinfo is not None
