"""The floor plan as a contract: the import-linter contracts in pyproject.toml hold, and no
function-level import of the project's own modules hides an edge from them (a lazy import is
how a cycle or an upward dependency stays out of sight)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("hotline", "ivr", "routing", "recordings")


def _project_module(node: ast.Import | ast.ImportFrom) -> str | None:
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: always the project's own
            return "." * node.level + (node.module or "")
        names = [node.module or ""]
    else:
        names = [alias.name for alias in node.names]
    return next((n for n in names if n.split(".")[0] in ROOTS), None)


def function_level_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each import of a project module inside a function or method."""
    found = []
    for func in ast.walk(ast.parse(source)):
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    module = _project_module(node)
                    if module is not None:
                        found.append((node.lineno, module))
    return sorted(set(found))


def test_the_grep_finds_a_lazy_import() -> None:
    source = "import os\n\ndef f():\n    from hotline.store import db\n    import json\n"
    assert function_level_imports(source) == [(4, "hotline.store")]


def test_no_function_level_import_of_the_projects_own_modules() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for root in ROOTS
        for path in sorted((REPO / root).rglob("*.py"))
        for line, module in function_level_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_import_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
