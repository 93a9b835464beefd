"""The package's shape: no import cycles between its modules, the HTTP layer stays out of the
service layer, and the package never imports its own entry points."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "speech_api"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Modules imported at module level (function-level and TYPE_CHECKING imports are lazy by
    design and cannot form an import-time cycle)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_no_import_cycles():
    edges = graph()
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            raise AssertionError(
                "import cycle: " + " -> ".join([*stack[stack.index(node) :], node])
            )
        if node in done:
            return
        for nxt in sorted(edges[node]):
            visit(nxt, [*stack, node])
        done.add(node)

    for module in sorted(edges):
        visit(module, [])


def test_service_and_engines_know_nothing_of_http():
    for path in [*(PACKAGE / "service").rglob("*.py"), *(PACKAGE / "engines").rglob("*.py")]:
        imported = imports(path)
        assert not any(m.startswith("speech_api.api") for m in imported), path
        assert not any(m.split(".")[0] in ("fastapi", "starlette") for m in imported), path


def test_the_package_does_not_import_its_entry_points():
    for path in PACKAGE.rglob("*.py"):
        assert not any(m.startswith("handlers") for m in imports(path)), path
        assert "import handlers" not in path.read_text(), path
