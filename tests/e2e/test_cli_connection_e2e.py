"""`python -m dokploy_pulumi import` and `recover` in a real Pulumi project folder (file backend, real
CLI): one connection resolver, errors as one line without secrets, option values beginning with "-".

Two emulators: the stack's config names server A, the environment names server B. The provider
reads the stack config first; so must both commands, and when that config cannot be read they
must say why and talk to neither server (never fall back to B).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _echo_server import EchoServer, Shape, leaked
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "imported"
KEY_A = "k3yA-6f1d2c9b8a7e5d4c"  # no word a message uses: redaction would garble it
KEY_B = "k3yB-0e7a3c5d4f1b2a9e"
PROJECT_T = "pulumi-python:dynamic/dokploy:Project"


@pytest.fixture
def servers():
    with DokployEmulator(api_key=KEY_A) as a, DokployEmulator(api_key=KEY_B) as b:
        yield a, b


def _stack(pulumi_stack: PulumiStackFactory, url_a: str, url_b: str) -> PulumiStack:
    """A stack whose config says server A while the environment says server B."""
    env: dict = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update(DOKPLOY_URL=url_b, DOKPLOY_API_KEY=KEY_B)
    stack = pulumi_stack(PROGRAM, env=env)
    stack.init()
    stack.set_config("dokploy:url", url_a)
    stack.set_config("dokploy:apiKey", KEY_A, secret=True)
    return stack


def _pending_create(stack: PulumiStack, name: str, **inputs) -> str:
    """Put a pending create of a Project named `name` into the state, as a killed `up` leaves it.

    Written into the file backend's checkpoint directly: `pulumi stack import` drops pending
    operations. The blob's MD5 attribute is kept in step, as the backend writes it.
    """
    path = stack.program_dir.parent / "state" / ".pulumi" / "stacks" / "dokploy-imported" / f"{stack.stack}.json"
    doc = json.loads(path.read_text())
    urn = f"urn:pulumi:{stack.stack}::dokploy-imported::{PROJECT_T}::{name}"
    op = {
        "resource": {"urn": urn, "custom": True, "type": PROJECT_T, "inputs": {"name": name, **inputs}},
        "type": "creating",
    }
    doc["checkpoint"]["latest"]["pending_operations"] = [op]
    raw = json.dumps(doc).encode()
    path.write_bytes(raw)
    attrs_path = path.with_name(path.name + ".attrs")
    attrs = json.loads(attrs_path.read_text())
    attrs["md5"] = base64.b64encode(hashlib.md5(raw).digest()).decode()
    attrs_path.write_text(json.dumps(attrs))
    assert stack.export()["deployment"]["pending_operations"] == [op]
    return urn


def _run(stack: PulumiStack, *args: str, **env: str | None) -> subprocess.CompletedProcess:
    merged = dict(stack.env)
    for k, v in env.items():
        if v is None:
            merged.pop(k, None)
        else:
            merged[k] = v
    return subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", *args],
        cwd=stack.program_dir,
        env=merged,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _one_line_error(proc: subprocess.CompletedProcess, *secrets: str) -> str:
    """The command failed with exit status 1 and a single `error:` line, no traceback, no secret."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for secret in (KEY_A, KEY_B, "e2e-test-passphrase", *secrets):
        assert secret not in proc.stdout + proc.stderr
    return lines[0]


# -- case 3: one resolver ---------------------------------------------------------------------------


def test_import_and_recover_read_the_stack_config_before_the_environment(servers, pulumi_stack):
    a, b = servers
    on_a = a.create_project("made-on-a")["projectId"]
    b.create_project("made-on-b")
    stack = _stack(pulumi_stack, a.url, b.url)
    _pending_create(stack, "made-on-a")
    a.reset_requests()
    b.reset_requests()

    gen = _run(stack, "import", "--project-id", on_a)
    assert gen.returncode == 0, gen.stderr
    assert on_a in gen.stdout and f"from {a.url} " in gen.stdout
    rec = _run(stack, "recover")
    assert rec.returncode in (0, 2), rec.stdout + rec.stderr
    assert on_a in rec.stdout  # the candidate found on A
    assert a.request_count("project.all") >= 2 and b.requests == []
    for proc in (gen, rec):
        assert KEY_A not in proc.stdout + proc.stderr and KEY_B not in proc.stdout + proc.stderr


def test_an_unreadable_stack_config_is_an_error_and_no_other_server_is_asked(servers, pulumi_stack):
    a, b = servers
    stack = _stack(pulumi_stack, a.url, b.url)
    _pending_create(stack, "app")
    a.reset_requests()
    b.reset_requests()
    lines = []
    for command in (["import", "--all"], ["recover"]):
        proc = _run(stack, *command, PULUMI_CONFIG_PASSPHRASE=None)
        line = _one_line_error(proc)
        assert line.startswith("error: cannot read the stack's config (`pulumi config --json --show-secrets` failed: ")
        assert "passphrase" in line.lower()  # the CLI's own reason
        assert "no other source is used instead" in line
        lines.append(line)
    assert lines[0] == lines[1]
    assert b.requests == [] and a.requests == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "dokploy:caBundle",
            "/nonexistent/dokploy-ca.pem",
            "error: The CA bundle '/nonexistent/dokploy-ca.pem' for {a} does not exist.",
        ),
        (
            "dokploy:timeout",
            "soon",
            "error: The Dokploy timeout (config dokploy:timeout or $DOKPLOY_TIMEOUT) must be a positive number of seconds, got 'soon'.",
        ),
        (
            "dokploy:url",
            "http://admin:hunter2pw@127.0.0.1:1",
            "error: Bad Dokploy URL (config dokploy:url or $DOKPLOY_URL): the Dokploy URL must not contain a user "
            "name or password (http://***@127.0.0.1:1): Dokploy authenticates with an API key, which goes in config "
            "dokploy:apiKey or DOKPLOY_API_KEY (or the variable a Connection's api_key_env names), never in the URL.",
        ),
        (
            "dokploy:url",
            "ftp://127.0.0.1/dokploy",
            "error: Bad Dokploy URL (config dokploy:url or $DOKPLOY_URL): the Dokploy URL must start with http:// or "
            "https:// and name a host: 'ftp://127.0.0.1/dokploy'.",
        ),
    ],
    ids=["missing-ca-bundle", "bad-timeout", "user-password-url", "ftp-url"],
)
def test_every_stack_setting_is_honoured_and_refused_alike(servers, pulumi_stack, key, value, expected):
    a, b = servers
    stack = _stack(pulumi_stack, a.url, b.url)
    _pending_create(stack, "app")
    stack.set_config(key, value)
    a.reset_requests()
    b.reset_requests()
    for command in (["import", "--all"], ["recover"]):
        line = _one_line_error(_run(stack, *command), "hunter2pw")
        assert line == expected.format(a=a.url), line
    assert a.requests == [] and b.requests == []


def test_a_resources_own_connection_is_resolved_as_the_provider_does(servers, pulumi_stack):
    a, b = servers
    on_b = b.create_project("on-b")["projectId"]
    stack = _stack(pulumi_stack, a.url, b.url)
    # The pending create names server B with the key in another config key, as a Connection does.
    stack.set_config("dokploy-b:apiKey", KEY_B, secret=True)
    _pending_create(stack, "on-b", connection={"url": b.url, "api_key_config": "dokploy-b:apiKey"})
    a.reset_requests()
    b.reset_requests()
    rec = _run(stack, "recover", DOKPLOY_API_KEY=None, DOKPLOY_URL=None)
    assert rec.returncode in (0, 2), rec.stdout + rec.stderr
    assert on_b in rec.stdout and a.requests == [] and b.request_count("project.all") == 1
    # A connection without a readable key: the provider's own message.
    _pending_create(stack, "on-b", connection={"url": b.url, "api_key_env": "NOPE_KEY"})
    line = _one_line_error(_run(stack, "recover"))
    assert line == f"error: No Dokploy API key for {b.url}: set $NOPE_KEY."


# -- case 9: the command line -------------------------------------------------------------------------


def test_a_project_id_beginning_with_a_dash(servers, pulumi_stack, monkeypatch):
    a, b = servers
    from dokploy_pulumi.testing import _store

    ids = (f"-dashId{n:014d}" for n in itertools.count())
    monkeypatch.setattr(_store, "new_id", lambda size=21: next(ids))
    dashed = a.create_project("dashed")["projectId"]
    monkeypatch.undo()
    assert dashed.startswith("-")
    stack = _stack(pulumi_stack, a.url, b.url)
    for args in (["--project-id", dashed], [f"--project-id={dashed}"]):
        gen = _run(stack, "import", *args)
        assert gen.returncode == 0, gen.stderr
        assert f'adopt_id="{dashed}"' in gen.stdout or f"adopt_id='{dashed}'" in gen.stdout, gen.stdout


def test_an_unexpected_failure_is_one_line_without_secrets(servers, pulumi_stack):
    a, b = servers
    a.create_project("app")
    stack = _stack(pulumi_stack, a.url, b.url)
    folder = stack.program_dir / "out"
    folder.mkdir()
    line = _one_line_error(_run(stack, "import", "--all", "--output", str(folder), "--force"))
    assert line.startswith("error: unexpected IsADirectoryError: ") and "a bug in dokploy_pulumi" in line
    # recover: a pending create whose connection the state holds in a shape no provider wrote
    # (a2b6a6c: a ValueError traceback) is refused by the resolver like any bad connection.
    _pending_create(stack, "app", connection={"url": a.url, "api_key_config": "dokploy:apiKey", "timeout": "x"})
    line = _one_line_error(_run(stack, "recover"))
    assert line == "error: The Dokploy timeout (the connection) must be a positive number of seconds, got 'x'."


# -- case 8: a server echoing the request, through both commands -----------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        Shape("json-message", 400),
        Shape("text", 500, skip=20),
        Shape("html", 404),
        Shape("headers-only", 401, wrap=23),
        Shape("double-json", 500),
        Shape("headers-only", 200, skip=90, cut=12),  # a piece cut out of the middle of the key
        Shape("no-message-json", 403, skip=40),
    ],
    ids=lambda s: f"{s.form}-{s.status}" + ("-cut" if s.cut else ""),
)
def test_commands_never_show_the_key_a_server_echoes(pulumi_stack, shape):
    with EchoServer(shape) as echo:
        env: dict = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
        stack = pulumi_stack(PROGRAM, env=env)
        stack.init()
        stack.set_config("dokploy:url", echo.url)
        stack.set_config("dokploy:apiKey", KEY_A, secret=True)
        _pending_create(stack, "app")
        for command in (["import", "--all"], ["recover"]):
            proc = _run(stack, *command)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
            assert not leaked(proc.stdout + proc.stderr, KEY_A), proc.stderr
        assert any(KEY_A in r for r in echo.requests)  # it was echoed: the commands hid it
