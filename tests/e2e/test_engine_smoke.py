"""Proves the e2e machinery: real Pulumi CLI + our Python language host + the dynamic plugin.

The program is tiny and written by the tests: one `pulumi.dynamic.Resource` whose provider
writes a marker file, so each engine operation can be checked from outside the engine too.
The provider class lives in a module of the program folder (not in `__main__`), so it is
pickled by reference and imported by the provider process through PYTHONPATH.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _pulumi import PulumiStack, PulumiStackFactory

DYNAMIC_TYPE = "pulumi-python:dynamic/smoke:Echo"

PULUMI_YAML = """\
name: smoke
runtime: python
description: e2e smoke test of the engine, the language host and the dynamic plugin
"""

PROVIDER_MODULE = '''\
"""Provider for the smoke test: stores its inputs and mirrors them to a marker file."""

from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi.dynamic as dynamic


class EchoProvider(dynamic.ResourceProvider):
    token: Optional[str] = None

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        # The whole stack config arrives here, namespaced and decrypted.
        self.token = req.config.get("smoke:token")

    def _outs(self, props: dict[str, Any]) -> dict[str, Any]:
        Path(props["marker"]).write_text(props["value"])
        return {
            "value": props["value"],
            "marker": props["marker"],
            "token_seen": self.token is not None,
        }

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_="echo-1", outs=self._outs(props))

    def update(self, id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs=self._outs(news))

    def delete(self, id: str, props: dict[str, Any]) -> None:
        Path(props["marker"]).unlink()


class Echo(dynamic.Resource, module="smoke", name="Echo"):
    value: pulumi.Output[str]
    token_seen: pulumi.Output[bool]

    def __init__(self, name: str, value: str, marker: str) -> None:
        props = {"value": value, "marker": marker, "token_seen": None}
        super().__init__(EchoProvider(), name, props)
'''

MAIN = """\
import pulumi

from smoke_provider import Echo

config = pulumi.Config()
if config.get("fail") == "true":
    raise RuntimeError("smoke program failed on purpose")

echo = Echo("echo", config.get("value") or "hello", config.require("marker"))
print("smoke program ran")
pulumi.export("echo_id", echo.id)
pulumi.export("value", echo.value)
pulumi.export("token_seen", echo.token_seen)
token = config.get_secret("token")
if token is not None:
    pulumi.export("token", token)
    pulumi.export("token_reversed", token.apply(lambda t: t[::-1]))
"""


@pytest.fixture
def program_dir(tmp_path: Path) -> Path:
    program = tmp_path / "smoke-program"
    program.mkdir()
    (program / "Pulumi.yaml").write_text(PULUMI_YAML)
    (program / "smoke_provider.py").write_text(PROVIDER_MODULE)
    (program / "__main__.py").write_text(MAIN)
    return program


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "echo.marker"


@pytest.fixture
def stack(pulumi_stack: PulumiStackFactory, program_dir: Path, marker: Path) -> PulumiStack:
    s = pulumi_stack(program_dir)
    s.init()
    s.set_config("smoke:marker", str(marker))
    return s


def _dynamic_resources(stack: PulumiStack) -> list[dict]:
    return [r for r in stack.resources() if r["type"] == DYNAMIC_TYPE]


def test_lifecycle_preview_up_no_changes_update_refresh_destroy(stack: PulumiStack, marker: Path) -> None:
    preview = stack.preview()
    assert [(s.op, s.type, s.name) for s in preview.steps()] == [("create", DYNAMIC_TYPE, "echo")]
    assert not marker.exists(), "preview must not call create"

    result = stack.up()
    assert "smoke program ran" in result.stdout  # program stdout reaches the engine
    assert marker.read_text() == "hello"
    assert stack.outputs() == {"echo_id": "echo-1", "value": "hello", "token_seen": False}
    (resource,) = _dynamic_resources(stack)
    assert resource["id"] == "echo-1"

    stack.preview(expect_no_changes=True)
    stack.refresh(expect_no_changes=True)

    stack.set_config("smoke:value", "changed")
    changed = stack.preview(expect_no_changes=True, expect_failure=True)
    assert [(s.op, s.name) for s in changed.steps()] == [("update", "echo")]
    stack.up()
    assert marker.read_text() == "changed"
    assert stack.outputs()["value"] == "changed"

    stack.destroy()
    assert not marker.exists(), "destroy must call delete"
    assert _dynamic_resources(stack) == []


def test_program_error_fails_the_update_with_its_message(stack: PulumiStack) -> None:
    stack.set_config("smoke:fail", "true")

    preview = stack.preview(expect_failure=True)
    messages = "\n".join(d.get("message", "") for d in preview.diagnostics)
    assert "smoke program failed on purpose" in messages

    result = stack.up(expect_failure=True)
    assert "smoke program failed on purpose" in result.output
    # The user's traceback, trimmed to the program's own frames.
    assert "Traceback" in result.output and "__main__.py" in result.output
    assert "runpy" not in result.output
    assert _dynamic_resources(stack) == []


def test_secret_config_reaches_program_and_provider(stack: PulumiStack) -> None:
    stack.set_config("smoke:token", "s3cr3t-value", secret=True)
    stack.up()

    hidden = stack.outputs()
    assert hidden["token"] == "[secret]"
    assert hidden["token_reversed"] == "[secret]"  # derived values stay secret
    assert hidden["token_seen"] is True  # the provider's configure() got the stack config

    shown = stack.outputs(show_secrets=True)
    assert shown["token"] == "s3cr3t-value"
    assert shown["token_reversed"] == "eulav-t3rc3s"

    # Encrypted at rest: the plaintext is nowhere in the state file's export.
    assert "s3cr3t-value" not in json.dumps(stack.export())
    stack.destroy()
