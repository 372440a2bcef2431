"""Security properties: TLS on by default, CA bundles, a warned opt-out, and secrets kept out of
state, logs, errors, reprs, tracebacks and the wire (except the one header that must carry the key).

Nothing here sends a request to a non-loopback host: clients for such hosts are only constructed.
"""

from __future__ import annotations

import http.server
import json
import logging
import shutil
import ssl
import subprocess
import threading
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from dokploy_pulumi import APIConnectionError, Connection, DokployClient, ProviderError
from dokploy_pulumi._connection import ClientPool, ConfigSource
from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider
from dokploy_pulumi.testing import DokployEmulator

KEY = "dkp_security_test_key_5f0c1a9e7b3d"
SECRET = "sk_live_51Hsecret_env_value_Zq9"
OTHER_SECRET = "postgres://admin:hunter2-very-secret@db:5432/app"


def _ssl_context(client: DokployClient) -> ssl.SSLContext:
    # httpx keeps the context on its connection pool (httpx 0.28 / httpcore 1.x; pinned in constraints).
    return client._t._http._transport._pool._ssl_context  # type: ignore[attr-defined]


# -- TLS ------------------------------------------------------------------------------------------


def test_tls_verification_is_on_by_default():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning (and no httpx deprecation) on the default path
        client = DokployClient("https://dokploy.example.com", KEY)
    ctx = _ssl_context(client)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname is True
    client.close()
    # And through the provider's own configuration path, with nothing set but URL and key.
    _url, _key, verify, _timeout = ClientPool(
        ConfigSource({"dokploy:url": "https://d.example.com", "dokploy:apiKey": KEY}, {})
    ).resolve(None)
    assert verify is True


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    """A one-certificate CA bundle (taken from certifi's store)."""
    import certifi

    pem = Path(certifi.where()).read_text()
    first = pem[pem.index("-----BEGIN CERTIFICATE-----") : pem.index("-----END CERTIFICATE-----") + 25]
    path = tmp_path / "ca.pem"
    path.write_text(first + "\n")
    return path


def _trusts_exactly(client: DokployClient, ca: Path) -> None:
    ctx = _ssl_context(client)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname is True
    cas = ctx.get_ca_certs()
    assert len(cas) == 1  # the bundle, and only the bundle
    der = ssl.PEM_cert_to_DER_cert(ca.read_text())
    assert ctx.get_ca_certs(binary_form=True) == [der]


def test_ca_bundle_passes_through_connection_env_and_config(ca_file: Path):
    path = str(ca_file)
    sources = {
        "Connection(ca_bundle=...)": (
            ClientPool(ConfigSource(None, {"K": KEY})),
            Connection(url="https://dokploy.example.com", api_key_env="K", ca_bundle=path),
        ),
        "DOKPLOY_CA_BUNDLE": (
            ClientPool(
                ConfigSource(
                    None, {"DOKPLOY_URL": "https://d.example.com", "DOKPLOY_API_KEY": KEY, "DOKPLOY_CA_BUNDLE": path}
                )
            ),
            None,
        ),
        "dokploy:caBundle": (
            ClientPool(
                ConfigSource(
                    {"dokploy:url": "https://d.example.com", "dokploy:apiKey": KEY, "dokploy:caBundle": path}, {}
                )
            ),
            None,
        ),
    }
    for where, (pool, conn) in sources.items():
        _url, _key, verify, _t = pool.resolve(conn)
        assert verify == path, where
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the path is not handed to httpx as a (deprecated) str
            client = pool.client(conn)
        _trusts_exactly(client, ca_file)
        client.close()


def test_missing_ca_bundle_is_a_check_failure(monkeypatch):
    monkeypatch.setenv("DOKPLOY_URL", "https://dokploy.example.com")
    monkeypatch.setenv("DOKPLOY_API_KEY", KEY)
    monkeypatch.setenv("DOKPLOY_CA_BUNDLE", "/nonexistent/dokploy-ca.pem")
    result = ProjectProvider().check({}, {"name": "app"})
    assert [(f.property, f.reason) for f in result.failures] == [
        ("connection", "The CA bundle '/nonexistent/dokploy-ca.pem' for https://dokploy.example.com does not exist.")
    ]
    assert KEY not in json.dumps([f.reason for f in result.failures])


def test_unreadable_ca_bundle_is_named(tmp_path: Path):
    bogus = tmp_path / "not-a-ca.pem"
    bogus.write_text("this is not a certificate\n")
    with pytest.raises(ValueError, match="cannot be loaded") as err:
        DokployClient("https://dokploy.example.com", KEY, verify=str(bogus))
    assert str(bogus) in str(err.value) and KEY not in str(err.value)


def test_insecure_skip_verify_is_explicit_and_warned():
    with pytest.warns(UserWarning, match="TLS certificate verification is disabled"):
        client = DokployClient("https://dokploy.example.com", KEY, verify=False)
    assert _ssl_context(client).verify_mode == ssl.CERT_NONE
    client.close()
    env = {"DOKPLOY_URL": "https://d.example.com", "DOKPLOY_API_KEY": KEY}
    for value in ("1", "true", "yes", "on", "TRUE"):
        pool = ClientPool(ConfigSource(None, {**env, "DOKPLOY_INSECURE_SKIP_VERIFY": value}))
        with pytest.warns(UserWarning, match="verification is disabled") as record:
            pool.client(None).close()
        assert all(KEY not in str(w.message) for w in record)
    # Anything else, or nothing, keeps verification on (and says nothing).
    for value in ("0", "false", "no", "", "off"):
        pool = ClientPool(ConfigSource(None, {**env, "DOKPLOY_INSECURE_SKIP_VERIFY": value}))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            client = pool.client(None)
        assert _ssl_context(client).verify_mode == ssl.CERT_REQUIRED
        client.close()
    conn = Connection(url="https://d.example.com", api_key_env="K", insecure_skip_verify=True)
    with pytest.warns(UserWarning, match="verification is disabled"):
        ClientPool(ConfigSource(None, {"K": KEY})).client(conn).close()
    cfg = {"dokploy:url": "https://d.example.com", "dokploy:apiKey": KEY, "dokploy:insecureSkipVerify": "true"}
    with pytest.warns(UserWarning, match="verification is disabled"):
        ClientPool(ConfigSource(cfg, {})).client(None).close()


@pytest.mark.parametrize("url", ["http://dokploy.example.com", "http://10.0.0.5:3000/api", "http://[2001:db8::1]:3000"])
def test_plain_http_to_a_remote_host_warns(url):
    with pytest.warns(UserWarning, match="plain http to a non-loopback host") as record:
        client = DokployClient(url, KEY)  # constructed only: no request is sent
    client.close()
    assert all(KEY not in str(w.message) for w in record)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000", "https://dokploy.example.com"]
)
def test_loopback_or_https_does_not_warn(url):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DokployClient(url, KEY).close()


# -- TLS end to end, against a local HTTPS server with a self-signed certificate --------------------


class _Health(http.server.BaseHTTPRequestHandler):
    seen_keys: list[str] = []

    def do_GET(self) -> None:
        _Health.seen_keys.append(self.headers.get("x-api-key", ""))
        body = b'{"ok": true}' if self.path == "/api/health" else b'"v0.30.2"'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()


def test_tls_end_to_end_default_refuses_self_signed_ca_bundle_and_opt_out_accept(tls_server):
    url, cert = tls_server
    _Health.seen_keys.clear()
    with DokployClient(url, KEY, max_retries=0) as client, pytest.raises(APIConnectionError) as err:
        client.version()
    text = str(err.value)
    assert "cannot connect" in text and KEY not in text and KEY not in repr(err.value)
    assert "certificate" in text.lower() and "DOKPLOY_CA_BUNDLE" in text  # says why, and what to do
    assert _Health.seen_keys == []  # the key never left over an unverified connection
    with DokployClient(url, KEY, max_retries=0, verify=str(cert)) as client:
        assert client.version() == "v0.30.2"
    with pytest.warns(UserWarning, match="verification is disabled"):
        client = DokployClient(url, KEY, max_retries=0, verify=False)
    with client:
        assert client.version() == "v0.30.2"
    assert _Health.seen_keys == [KEY, KEY]  # sent as the raw x-api-key header, only once verified/opted out


# -- the API key: only ever in the x-api-key header -----------------------------------------------


def test_key_is_sent_only_as_the_x_api_key_header():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("project.create"):
            return httpx.Response(200, json={"projectId": "p1", "name": "n", "env": "", "description": None})
        return httpx.Response(200, json={"projectId": "p1", "name": "n", "env": "", "environments": []})

    with DokployClient("http://127.0.0.1:9", KEY, transport=httpx.MockTransport(handler)) as client:
        client.project.create("n", env="A=1\n")
        client.project.one("p1")
    assert len(seen) == 2
    for request in seen:
        assert request.headers["x-api-key"] == KEY  # the raw header is the key...
        assert "authorization" not in request.headers  # ...never a Bearer token
        others = {k: v for k, v in request.headers.items() if k.lower() != "x-api-key"}
        assert KEY not in json.dumps(others) and KEY not in str(request.url) and KEY.encode() not in request.content


@pytest.fixture
def emu() -> Iterator[DokployEmulator]:
    with DokployEmulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture
def env_creds(emu, monkeypatch):
    monkeypatch.setenv("DOKPLOY_URL", emu.url)
    monkeypatch.setenv("DOKPLOY_API_KEY", KEY)
    monkeypatch.setenv("DOKPLOY_TIMEOUT", "1")
    for name in ("DOKPLOY_CA_BUNDLE", "DOKPLOY_INSECURE_SKIP_VERIFY"):
        monkeypatch.delenv(name, raising=False)


def _chain_text(exc: BaseException) -> str:
    """Everything a user or a log could see of an exception: str, repr, full chained traceback."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc, chain=True))]
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:  # also hidden (suppressed) contexts
        seen.add(id(cur))
        parts += [str(cur), repr(cur)]
        cur = cur.__cause__ or cur.__context__
    return "\n".join(parts)


def test_no_key_in_state_logs_errors_or_request_log(emu, env_creds, caplog):
    caplog.set_level(logging.DEBUG)  # root, httpx and httpcore at DEBUG
    for name in ("httpx", "httpcore", "dokploy_pulumi"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    proj, envp = ProjectProvider(), EnvironmentProvider()
    texts: list[str] = []

    checked = proj.check({}, {"name": "app", "description": "d", "env": {"TOKEN": SECRET}})
    assert checked.failures == []
    created = proj.create(checked.inputs)
    read = proj.read(created.id, created.outs)
    news = proj.check(created.outs, {"name": "app", "description": "e", "env": {"TOKEN": OTHER_SECRET}})
    updated = proj.update(created.id, created.outs, news.inputs)
    echeck = envp.check({}, {"project_id": created.id, "name": "staging", "env": {"TOKEN": SECRET}})
    ecreated = envp.create(echeck.inputs)
    eread = envp.read(ecreated.id, ecreated.outs)
    texts += [
        json.dumps(x, default=str)
        for x in (
            checked.inputs,
            created.outs,
            read.outs,
            read.inputs,
            news.inputs,
            updated.outs,
            echeck.inputs,
            ecreated.outs,
            eread.outs,
            eread.inputs,
        )
    ]

    # Errors: a 500, a dropped connection, a 401 (rate-limit wording), a timeout.
    failures: list[BaseException] = []
    faults = (
        dict(status=500, body={"message": "boom"}),
        dict(drop=True),
        dict(status=401, body={"message": "Unauthorized"}),
        dict(latency=1.5),
    )
    for fault in faults:
        emu.inject_fault("project.update", **fault)
        with pytest.raises(ProviderError) as err:
            proj.update(created.id, updated.outs, proj.check(updated.outs, {"name": "x"}).inputs)
        failures.append(err.value)
    assert "no answer within 1s" in str(failures[-1]) and "rate-limited" in str(failures[2])
    texts += [_chain_text(e) for e in failures]

    proj.delete(created.id, {**updated.outs, "force_destroy": True})
    texts.append(caplog.text)
    texts += [repr(proj), repr(proj._clients().client(None)), repr(emu)]
    # The logs really were captured at DEBUG, httpx's and httpcore's included.
    assert "HTTP Request" in caplog.text and "send_request_headers" in caplog.text
    for text in texts:
        assert KEY not in text
    # The emulator saw the key in the header (masked in its log) and accepted it: every request
    # without a fault was authenticated with exactly that key.
    for r in emu.requests:
        assert r.headers.get("x-api-key") == "***" and "authorization" not in r.headers
        assert KEY not in json.dumps([r.query, r.body, r.path], default=str)
    assert any(r.status == 200 for r in emu.requests)


def test_no_key_in_state_through_the_provider_server(emu):
    from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of

    blob = blob_of(ProjectProvider())
    assert KEY not in blob
    with ProviderServer(env={"DOKPLOY_API_KEY": KEY}) as srv:
        srv.configure({"dokploy:url": emu.url})
        inputs, failures = srv.check({}, {"__provider": blob, "name": "app", "env": {"T": SECRET}})
        assert failures == []
        id_, outs = srv.create(inputs)
        _rid, routs, rinputs = srv.read(id_, outs)
        news, _ = srv.check(outs, {"__provider": blob, "name": "app2", "env": {"T": SECRET}})
        uouts = srv.update(id_, outs, news)
        emu.inject_fault("project.remove", status=500, body={"message": "nope"})
        with pytest.raises(grpc.RpcError) as err:
            srv.delete(id_, uouts)
        stderr = srv.stderr_text()
    for text in (json.dumps([inputs, outs, routs, rinputs, news, uouts]), err.value.details(), stderr):
        assert KEY not in text


# -- env values are never printed in errors ---------------------------------------------------------


def _assert_no_env_values(text: str) -> None:
    for secret in (SECRET, OTHER_SECRET, "hunter2-very-secret", "sk_live_51H"):
        assert secret not in text, text


def test_check_failures_never_show_env_values(env_creds):
    proj = ProjectProvider()
    for env in (
        {"bad key": SECRET, "É1": OTHER_SECRET},  # keys Dokploy's parser cannot read
        {"GOOD": "1", "LOSSY": f"# {SECRET} ends with a backslash \\"},  # no quoting carries it
        {"TOKEN": 12345678901234, "OTHER": [SECRET], "THIRD": {"nested": OTHER_SECRET}},
    ):
        result = proj.check({}, {"name": "app", "env": env})
        assert [f.property for f in result.failures] == ["env"]
        _assert_no_env_values(result.failures[0].reason)
    # the key names are there, so the user can find the line
    reason = proj.check({}, {"name": "app", "env": {"bad key": SECRET}}).failures[0].reason
    assert "'bad key'" in reason


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            dict(
                status=400,
                body={
                    "message": "Input validation failed",
                    "code": "BAD_REQUEST",
                    "issues": [
                        {
                            "code": "invalid_type",
                            "expected": "string",
                            "received": "object",
                            "path": ["env"],
                            "message": "Expected string, received object",
                        }
                    ],
                },
            ),
            id="400-validation",
        ),
        pytest.param(
            # A server that echoes what it got (zod's custom messages can; so can SQL errors).
            dict(
                status=400,
                body={
                    "message": "Input validation failed",
                    "issues": [{"path": ["env"], "message": f"Invalid value TOKEN='{SECRET}' DB={OTHER_SECRET}"}],
                },
            ),
            id="400-validation-echoing-values",
        ),
        pytest.param(
            # drizzle's DrizzleQueryError puts the query parameters in its message.
            dict(
                status=500,
                body={
                    "message": f'Failed query: update "project" set "env" = $1 where ... params: TOKEN={SECRET}\nDB="{OTHER_SECRET}"\n',
                    "code": "INTERNAL_SERVER_ERROR",
                },
            ),
            id="500-with-query-params",
        ),
        pytest.param(
            dict(status=500, body={"message": "internal error", "code": "INTERNAL_SERVER_ERROR"}), id="500-plain"
        ),
        pytest.param(dict(status=200, body=f"TOKEN={SECRET}", content_type="text/plain"), id="200-not-json-echo"),
    ],
)
def test_env_values_never_printed_in_update_errors(emu, env_creds, fault):
    proj = ProjectProvider()
    created = proj.create(proj.check({}, {"name": "app", "env": {"TOKEN": "old-value-1234"}}).inputs)
    news = proj.check(created.outs, {"name": "app", "env": {"TOKEN": SECRET, "DB": OTHER_SECRET}}).inputs
    emu.inject_fault("project.update", **fault)
    with pytest.raises(ProviderError) as err:
        proj.update(created.id, created.outs, news)
    text = _chain_text(err.value)
    _assert_no_env_values(text)
    assert "update failed" in text and "Project 'app'" in text
    assert "old-value-1234" not in text  # the old values are secrets too


def test_env_values_never_printed_in_environment_errors(emu, env_creds):
    proj, envp = ProjectProvider(), EnvironmentProvider()
    pid = proj.create(proj.check({}, {"name": "app"}).inputs).id
    inputs = envp.check({}, {"project_id": pid, "name": "staging", "env": {"TOKEN": SECRET}}).inputs
    # The env is set by a follow-up update at create: its failure (echoing the value) is rolled back.
    emu.inject_fault(
        "environment.update", status=500, body={"message": f"Error updating the environment: params TOKEN={SECRET}"}
    )
    with pytest.raises(ProviderError) as err:
        envp.create(inputs)
    _assert_no_env_values(_chain_text(err.value))
    assert "removed again" in str(err.value)
    created = envp.create(inputs)
    emu.inject_fault("environment.one", status=200, body={"environmentId": created.id, "env": f"TOKEN={SECRET}"})
    with pytest.raises(ProviderError) as err:
        envp.read(created.id, created.outs)  # a wrong-shape answer names fields, never values
    _assert_no_env_values(_chain_text(err.value))
    emu.inject_fault("environment.remove", status=400, body={"message": f"Cannot delete: {SECRET}"})
    with pytest.raises(ProviderError) as err:
        envp.delete(created.id, created.outs)
    _assert_no_env_values(_chain_text(err.value))


def test_env_values_are_not_logged(emu, env_creds, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    proj = ProjectProvider()
    created = proj.create(proj.check({}, {"name": "app", "env": {"TOKEN": SECRET}}).inputs)
    proj.read(created.id, created.outs)
    assert "HTTP Request" in caplog.text
    _assert_no_env_values(caplog.text)
