"""No import circles in `dokploy_pulumi/` (the emulator in `testing/` included).

Every module's imports are read with `ast` (nothing is imported). What counts is each module's
*module-level* imports, those under `if TYPE_CHECKING:` included: they run when the module loads (or
shape its types), so a circle among them means a module can see another half-initialised, and that
two layers each lean on the other. Imports inside functions do not count: they are how a module
defers a heavy or upper-layer dependency until it is called (the provider classes import their HTTP
stack that way), when both modules are fully loaded. A submodule's implicit import of its parent
package (`dokploy_pulumi/__init__.py`, which only declares the lazy exports) does not count either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import dokploy_pulumi

PACKAGE = Path(dokploy_pulumi.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _module_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """The statements that run when the module loads: every block but a function's body (`if`
    TYPE_CHECKING and `try` fallbacks, `with`, loops, `match`, and class bodies, which run then too)."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            pending += [s for s in getattr(node, field, []) if isinstance(s, ast.stmt)]
        for handler in getattr(node, "handlers", []):
            pending += handler.body
        for case in getattr(node, "cases", []):
            pending += case.body


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules its module-level imports load."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _module_level(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:  # `from . import _x` loads the submodule, `from ._x import y` _x
                    target = f"{source}.{alias.name}"
                    targets.add(target if target in modules else source)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_walk_sees_the_imports() -> None:
    graph = import_graph()
    # Known edges, one of each kind: plain, `from . import x`, under TYPE_CHECKING, in the emulator.
    assert "dokploy_pulumi._routers" in graph["dokploy_pulumi._client"]
    assert "dokploy_pulumi.testing._persistence" in graph["dokploy_pulumi.testing._store"]
    assert "dokploy_pulumi._functions" in graph["dokploy_pulumi"]
    assert "dokploy_pulumi._releases" in graph["dokploy_pulumi.testing._releases"]


def test_the_walk_sees_imports_in_every_block_that_runs_at_load() -> None:
    source = (
        "import a0\n"
        "with open('x'):\n    import a1\n"
        "class C:\n    import a2\n    class D:\n        from . import a3\n"
        "for _ in ():\n    import a4\n"
        "try:\n    import a5\nexcept ImportError:\n    import a6\n"
        "match 1:\n    case 1:\n        import a7\n"
        "def f():\n    import not_at_load\n"
        "class E:\n    def g(self):\n        import not_at_load_either\n"
    )
    names = {
        a.name
        for node in _module_level(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for a in node.names
    }
    assert names == {f"a{i}" for i in range(8)}


def test_cycles_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_package() -> None:
    assert cycles(import_graph()) == []
