"""The public names are declared twice in `dokploy_pulumi/__init__.py`: `_EXPORTS` (what the lazy
`__getattr__` imports at run time) and the `if TYPE_CHECKING:` imports (what mypy and IDEs see).
The two must agree exactly, name for name and module for module: a name only in `_EXPORTS` is
untyped for users, a name only in the mirror type-checks but fails at run time.

Both lists are read from the source (ast), so the test needs no import of pulumi for the mirror.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import dokploy_pulumi

INIT = Path(dokploy_pulumi.__file__)


def _tree() -> ast.Module:
    return ast.parse(INIT.read_text(encoding="utf-8"), filename=str(INIT))


def declared_exports() -> dict[str, str]:
    """`_EXPORTS` as written: public name -> private module (without the leading dot)."""
    for node in _tree().body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "_EXPORTS":
            assert isinstance(node.value, ast.Dict), "_EXPORTS is no longer a dict literal"
            out: dict[str, str] = {}
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                assert isinstance(key, ast.Constant) and isinstance(value, ast.Constant)
                assert key.value not in out, f"{key.value} is listed twice in _EXPORTS"
                out[key.value] = value.value
            return out
    raise AssertionError("no _EXPORTS in dokploy_pulumi/__init__.py")


def type_checking_exports() -> dict[str, str]:
    """The `if TYPE_CHECKING:` imports: public name -> private module they come from."""
    out: dict[str, str] = {}
    blocks = [
        node
        for node in _tree().body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "expected exactly one `if TYPE_CHECKING:` block"
    for node in blocks[0].body:
        assert isinstance(node, ast.ImportFrom), ast.dump(node)
        assert node.level == 1 and node.module, "the mirror imports from the package's own modules"
        for alias in node.names:
            # `X as X` is what marks a re-export for mypy (--no-implicit-reexport, strict mode).
            assert alias.asname == alias.name, f"{alias.name} must be imported `as {alias.name}`"
            assert alias.name not in out, f"{alias.name} is imported twice under TYPE_CHECKING"
            out[alias.name] = node.module
    return out


def test_parsed_exports_are_the_ones_in_force() -> None:
    # The parse above reads the same table the package uses at run time.
    assert declared_exports() == dokploy_pulumi._EXPORTS


def test_type_checking_mirror_equals_exports() -> None:
    exports, mirror = declared_exports(), type_checking_exports()
    assert sorted(set(exports) - set(mirror)) == [], "in _EXPORTS only (untyped for users)"
    assert sorted(set(mirror) - set(exports)) == [], "under TYPE_CHECKING only (fails at run time)"
    assert {n: m for n, m in mirror.items() if exports[n] != m} == {}, "from another module"


def test_all_lists_every_export() -> None:
    assert dokploy_pulumi.__all__ == sorted([*declared_exports(), "__version__"])


@pytest.mark.parametrize("name", sorted(declared_exports()))
def test_each_export_resolves_to_its_module(name: str) -> None:
    module = importlib.import_module(f"dokploy_pulumi.{declared_exports()[name]}")
    assert getattr(dokploy_pulumi, name) is getattr(module, name)
