"""The domain and everything above the database layer know no driver exception: repositories and
run_in_transaction translate psycopg's errors into threadline.db.errors (a constraint's meaning is written beside
its SQL), so a module above db/ that catches psycopg's classes is a layering fault this test names."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.paths import REPO_ROOT

LAYER = REPO_ROOT / "layers" / "threadline" / "threadline"
ABOVE_THE_DATABASE = ["http", "domain", "channels", "realtime", "bedrock", "meta", "delivery", "models"]


def _caught_names(handler: ast.ExceptHandler) -> list[str]:
    if handler.type is None:
        return []
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return [ast.unparse(node) for node in nodes]


def _driver_catches(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            found += [
                f"{path.relative_to(LAYER)}:{node.lineno} except {name}"
                for name in _caught_names(node)
                if name.startswith("psycopg")
            ]
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("psycopg.errors"):
            found.append(f"{path.relative_to(LAYER)}:{node.lineno} imports {node.module}")
    return found


def test_no_module_above_the_database_layer_catches_a_driver_exception():
    modules = [path for package in ABOVE_THE_DATABASE for path in sorted((LAYER / package).rglob("*.py"))]
    assert len(modules) > 50  # the walk found the layer

    assert [catch for path in modules for catch in _driver_catches(path)] == []


def test_the_check_sees_a_driver_catch(tmp_path):
    sample = LAYER / "domain" / "__init__.py"
    fault = tmp_path / "fault.py"
    fault.write_text("import psycopg\ntry:\n    pass\nexcept (ValueError, psycopg.IntegrityError):\n    pass\n")

    assert _caught_names(ast.parse(fault.read_text()).body[1].handlers[0]) == ["ValueError", "psycopg.IntegrityError"]  # type: ignore[attr-defined]
    assert _driver_catches(sample) == []
