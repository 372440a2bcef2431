"""Through the SDK's own provider server: a server echoing every request, in every shape, never gets
the API key or an env value (new or old, multi-line, long) into what Pulumi shows (the gRPC
error's details) or into the provider process's stderr. The rule is `_redact.py`'s."""

from __future__ import annotations

import os
import re

import grpc
import pytest
from _echo_server import FORMS, EchoServer, Shape, leaked
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dokploy_pulumi._dotenv import unrepresentable_env_keys
from dokploy_pulumi._redact import RUN
from dokploy_pulumi.testing.provider_server import ProviderServer

P = "__provider"

# Our own words that redaction keeps by its documented rule (`_lifecycle._run`'s `keep` and
# `_exceptions.context_words`): the resource's label and operation, the procedure, its path and the
# status. A value "Proj" shows inside "Project 'app'" by that rule, not as a leak.
PUBLIC_WORDS = re.compile(
    r"Exception calling application: |Project 'app'( \([^)]*\))?: (create|update|read|delete) failed:"
    r"|(project|environment|tag|settings)\.[A-Za-z]+( \([A-Z]+ /api/[A-Za-z.]+\))?|/api/[A-Za-z.]+|failed with \d{3}"
)


def without_public_words(text: str) -> str:
    """`text` with the words redaction keeps cut out (each replaced by a NUL, so no new run forms)."""
    return PUBLIC_WORDS.sub("\0", text)


values = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\n '\"`#\\"),
    min_size=1,
    max_size=300,
)
envs = st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True), values, min_size=1, max_size=3)
keys = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=16, max_size=64)
shapes = st.builds(
    Shape,
    form=st.sampled_from(FORMS),
    # Statuses a GET is not retried on, so every example answers at once.
    status=st.sampled_from([200, 400, 401, 403, 404, 409, 500]),
    cut=st.none() | st.integers(1, 600),
    skip=st.integers(0, 400),
    wrap=st.none() | st.integers(RUN + 4, 100),
)


@pytest.fixture(scope="module")
def echo():
    with EchoServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def provider(echo):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOKPLOY_")}
    with ProviderServer(env=env) as srv:
        yield srv


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(key=keys, old=envs, new=envs, shape=shapes)
# Found by the py3.10 matrix cell: a value that is the start of our label's word.
@example(key="0" * 16, old={"A": "0"}, new={"A": "Proj"}, shape=Shape("json-message", 200, None, 0, None))
def test_no_key_or_env_value_in_provider_errors(echo, provider, project_blob, key, old, new, shape):
    if unrepresentable_env_keys(old) or unrepresentable_env_keys(new):
        return  # refused at check: never sent
    echo.shape = shape
    provider.configure({"dokploy:url": echo.url, "dokploy:apiKey": key})
    inputs, failures = provider.check({}, {P: project_blob, "name": "app", "env": new})
    assert failures == []
    olds = {**inputs, "env": old, "organization_id": "o1", "created_at": "2026-01-01T00:00:00Z"}
    new_values, old_values = list(new.values()), list(old.values())
    # Each call with the secrets it holds: the key, and the env values of its inputs and outputs.
    calls = (
        (lambda: provider.create(inputs), new_values),
        (lambda: provider.update("p1", olds, inputs), old_values + new_values),
        (lambda: provider.read("p1", olds), old_values),
        (lambda: provider.delete("p1", olds), old_values),
    )
    failed = 0
    for call, secrets in calls:
        try:
            call()
            continue
        except grpc.RpcError as exc:
            text = exc.details() or ""
        failed += 1
        for secret in (key, *secrets):
            assert not leaked(without_public_words(text), secret), (secret, text)
    assert failed, "the echoing server made no call fail"
    stderr = provider.stderr_text()
    for secret in (key, *old_values, *new_values):
        assert not leaked(stderr, secret), (secret, stderr)
