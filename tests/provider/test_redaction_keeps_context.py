"""Redaction is never so eager that an error loses which call failed and how: an env value that is a
common word ("create", "project", "failed") is hidden where the server echoes it, but the
procedure, its path and the status, which are our own words, stay in what Pulumi shows."""

from __future__ import annotations

import os

import grpc
import pytest
from _echo_server import EchoServer, Shape, leaked

from dokploy_pulumi.testing.provider_server import ProviderServer

P = "__provider"
KEY = "k3y-0f-s1xteen-chars-at-least"


@pytest.fixture(scope="module")
def echo():
    with EchoServer(Shape(form="json-message", status=400)) as srv:
        yield srv


@pytest.fixture(scope="module")
def provider(echo):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOKPLOY_")}
    with ProviderServer(env=env) as srv:
        srv.configure({"dokploy:url": echo.url, "dokploy:apiKey": KEY})
        yield srv


@pytest.mark.parametrize("word", ["create", "project", "failed", "Dokploy"])
def test_common_word_env_value_keeps_procedure_and_status(provider, project_blob, word):
    inputs, failures = provider.check({}, {P: project_blob, "name": "app", "env": {"MODE": word}})
    assert failures == []
    with pytest.raises(grpc.RpcError) as info:
        provider.create(inputs)
    text = info.value.details() or ""
    # The echoed body (which holds the value) is hidden ...
    assert "MODE=" not in text or not leaked(text.split("MODE=", 1)[1], word), text
    assert KEY not in text
    # ... and our own words say which call failed, with which status.
    assert "project.create (POST /api/project.create)" in text, text
    assert "failed with 400" in text, text
