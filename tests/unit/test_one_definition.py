"""Each rule below is written once in the package (the emulator included); every other module imports
it. The test reads every module's string literals with `ast` and fails on a copy elsewhere.

- the default environment's name and description: `_releases.DEFAULT_ENVIRONMENT_NAME` (also when
  quoted in a message) and `DEFAULT_ENVIRONMENT_DESCRIPTION`;
- the env-key rule: `_dotenv.ENV_KEY_RE` (dotenv's own line regex is built from it);
- JavaScript's whitespace: `_js.JS_WHITESPACE` (dotenv's parser, the searches, the emulator);
- the resources' type tokens: `_tokens` (the resource classes' `module=`, import, recover).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

import dokploy_pulumi
from dokploy_pulumi._dotenv import ENV_KEY_RE
from dokploy_pulumi._js import JS_WHITESPACE
from dokploy_pulumi._releases import DEFAULT_ENVIRONMENT_DESCRIPTION, DEFAULT_ENVIRONMENT_NAME
from dokploy_pulumi._tokens import MODULE, TYPE_PREFIX

PACKAGE = Path(dokploy_pulumi.__file__).parent


def _docstrings(tree: ast.Module) -> set[int]:
    """The docstrings' nodes: prose that names a rule's value is no copy of it."""
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _literals() -> list[tuple[str, str]]:
    """(module path, string literal) for every string constant in the package but docstrings, f-string
    parts included."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                out.append((path.relative_to(PACKAGE).as_posix(), node.value))
    return out


def _names_default(text: str) -> bool:
    # The name itself, or quoted inside a message (which then says the wrong name if it changes).
    return text == DEFAULT_ENVIRONMENT_NAME or any(f"{q}{DEFAULT_ENVIRONMENT_NAME}{q}" in text for q in "'\"")


RULES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "default environment name": ("_releases.py", _names_default),
    "default environment description": ("_releases.py", lambda s: DEFAULT_ENVIRONMENT_DESCRIPTION in s),
    "env-key regex": ("_dotenv.py", lambda s: ENV_KEY_RE.pattern in s),
    # Its last six characters (no text has them together by chance).
    "JS whitespace": ("_js.py", lambda s: JS_WHITESPACE[-6:] in s),
    "type-token prefix": ("_tokens.py", lambda s: "pulumi-python:dynamic" in s),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_is_written_once(rule: str) -> None:
    home, is_copy = RULES[rule]
    where = sorted({path for path, text in _literals() if is_copy(text)})
    assert where == [home]


def test_the_resource_classes_take_their_module_from_tokens() -> None:
    from dokploy_pulumi import Environment, Project

    # pulumi.dynamic.Resource builds the token from `module=`: the classes and `_tokens` agree.
    assert f"pulumi-python:{Project._resource_type_name}" == TYPE_PREFIX + "Project"
    assert f"pulumi-python:{Environment._resource_type_name}" == TYPE_PREFIX + "Environment"
    written = [
        kw.value.value
        for node in ast.walk(ast.parse((PACKAGE / "_resources.py").read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        for kw in node.keywords
        if kw.arg == "module" and isinstance(kw.value, ast.Constant)
    ]
    assert written == [] and MODULE == "dokploy"
