"""The tests' own layout: shared helpers live in tests/support/, so no test module imports
another test module or conftest (pytest would collect an imported test twice, and a change to
one test file would break others)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("tests", "bench")


def imported(tree: ast.Module, package: str) -> set[str]:
    """Every module an ``import`` or ``from … import`` anywhere in the tree names, relative
    imports resolved from ``package``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            names.add(stem)
            names.update(f"{stem}.{alias.name}" for alias in node.names)
    return names


def forbidden(name: str) -> bool:
    parts = name.split(".")
    return (
        len(parts) >= 2
        and parts[0] == "tests"
        and (parts[1] == "conftest" or parts[1].startswith("test_"))
    )


def test_no_test_module_imports_another_or_conftest() -> None:
    offences = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            package = ".".join(relative.parent.parts)
            tree = ast.parse(path.read_text("utf-8"), str(relative))
            offences += [
                f"{relative}: {n}" for n in sorted(imported(tree, package)) if forbidden(n)
            ]
    assert not offences, "import the helper from tests/support/ instead:\n" + "\n".join(offences)


def test_the_check_sees_every_form_of_import() -> None:
    caught = [
        "from tests.test_loop import staff",
        "import tests.test_loop",
        "from tests import test_loop",
        "from tests.conftest import Bot",
        "from tests import conftest",
        "def f():\n    from tests.test_stats import Made",
    ]
    for source in caught:
        assert any(forbidden(n) for n in imported(ast.parse(source), "tests")), source
    assert any(forbidden(n) for n in imported(ast.parse("from . import test_loop"), "tests"))
    assert any(forbidden(n) for n in imported(ast.parse("from ..conftest import Bot"), "tests.x"))
    allowed = ["from tests.support.chat import Bot", "import tests.support.images", "import test"]
    for source in allowed:
        assert not any(forbidden(n) for n in imported(ast.parse(source), "tests")), source
