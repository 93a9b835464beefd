"""The package's shape: no import cycles between its modules, nor between its parts (each
subpackage, each top-level module); the layers import downwards only (runtime -> api ->
service -> engines, and audio below them all); the HTTP layer stays out of the service layer,
and the package never imports its own entry points.

Every import counts, wherever it stands: at module level, inside a function (a lazy import
still ties the two modules; it only moves the moment the cycle bites) and under
TYPE_CHECKING (a type named from a module is a dependency on it as well). An import of
``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``: those count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "speech_api"
# Top to bottom: a layer may import the layers below it, never one above.
LAYERS = ("runtime", "api", "service", "engines")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module this file imports, anywhere in it (absolute names; relative imports are
    resolved), with the names taken from each (`from a import b` may import module a.b)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = _package_of(path)[: 1 - node.level or None] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def _package_of(path: Path) -> list[str]:
    name = module_name(path).split(".")
    return name if path.name == "__init__.py" else name[:-1]


def _with_packages(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def graph() -> dict[str, set[str]]:
    """module -> the package's modules its import runs (its own ancestors left out: they are
    already running when it is imported)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges = {}
    for name, path in modules.items():
        ran = set().union(set(), *(_with_packages(m) for m in imports(path)))
        edges[name] = {m for m in ran if m in modules} - _with_packages(name)
    return edges


def part(module: str) -> str:
    """The part of the package a module belongs to: its subpackage or top-level module."""
    parts = module.split(".")
    return ".".join(parts[:2])


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> list[str] | None:
        if node in stack:
            return [*stack[stack.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(edges.get(node, ())):
            if (cycle := visit(nxt, [*stack, node])) is not None:
                return cycle
        done.add(node)
        return None

    for module in sorted(edges):
        if (cycle := visit(module, [])) is not None:
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_import_cycles_between_the_packages_parts():
    """A part (subpackage or top-level module) that imports another part which imports it
    back has an arrow running upwards, even when no two modules form a cycle."""
    parts: dict[str, set[str]] = {}
    for module, targets in graph().items():
        parts.setdefault(part(module), set()).update(part(t) for t in targets)
    for name, targets in parts.items():
        targets.discard(name)
        targets.discard("speech_api")  # the package's face (its version) is everyone's
    cycle = find_cycle(parts)
    assert cycle is None, "parts that import each other: " + " -> ".join(cycle)


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_downwards_only(layer):
    above = {f"speech_api.{name}" for name in LAYERS[: LAYERS.index(layer)]}
    for path in (PACKAGE / layer).rglob("*.py"):
        upward = {m for m in imports(path) if part(m) in above}
        assert not upward, f"{path.relative_to(PACKAGE)} imports upwards: {sorted(upward)}"


def test_audio_depends_on_no_layer():
    layers = {f"speech_api.{name}" for name in LAYERS}
    for path in (PACKAGE / "audio").rglob("*.py"):
        assert not {m for m in imports(path) if part(m) in layers}, path


def test_service_and_engines_know_nothing_of_http():
    for path in [*(PACKAGE / "service").rglob("*.py"), *(PACKAGE / "engines").rglob("*.py")]:
        imported = imports(path)
        assert not any(m.startswith("speech_api.api") for m in imported), path
        assert not any(m.split(".")[0] in ("fastapi", "starlette") for m in imported), path


def test_the_package_does_not_import_its_entry_points():
    for path in PACKAGE.rglob("*.py"):
        assert not any(m.startswith("handlers") for m in imports(path)), path
        assert "import handlers" not in path.read_text(), path


def test_the_checks_see_lazy_and_type_only_imports(tmp_path):
    """The reader finds imports inside functions and under TYPE_CHECKING, not only at the
    top of a module (the cycles these tests exist for were all closed by such imports)."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from speech_api.api import app\n"
        "def f():\n    import speech_api.runtime.serve\n"
    )
    found = imports(source)
    assert {"speech_api.api", "speech_api.api.app", "speech_api.runtime.serve"} <= found
