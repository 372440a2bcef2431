"""Every way a Dokploy call can fail, as the client reports it.

Each test asserts the exception class, that the message names the procedure and the server's reason,
and (through `assert_key_hidden`) that the API key shows up in no message, repr, chained exception,
traceback or httpx/httpcore log line. Failures are produced by the emulator, either naturally (wrong
key, missing objects, refused operations) or with `inject_fault` (proxy pages, 5xx, drops, latency).
"""

from __future__ import annotations

import logging
import socket
import time
import traceback
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import tenacity.nap

from dokploy_pulumi import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DokployClient,
    DokployError,
    InputValidationError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnknownProcedureError,
    UnsupportedMediaTypeError,
)
from dokploy_pulumi.testing import DokployEmulator

KEY = "dkp-unit-SECRET-4f9a1c2e7b"
OTHER_KEY = "dkp-other-org-SECRET-8d3e5a"
WRONG_KEY = "dkp-wrong-SECRET-1b2c3d4e"
SECRETS = (KEY, OTHER_KEY, WRONG_KEY)
MISSING = "missingXXXXXXXXXXXXXX"


@pytest.fixture(scope="module")
def emu() -> Iterator[DokployEmulator]:
    with DokployEmulator(api_key=KEY) as emulator:
        emulator.add_api_key(OTHER_KEY)
        yield emulator


@pytest.fixture(autouse=True)
def fresh(emu: DokployEmulator, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    emu.reset()
    emu.latency = 0.0
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    caplog.set_level(logging.DEBUG, logger="dokploy_pulumi")
    yield
    emu.reset()


def make(emu: DokployEmulator, key: str = KEY, **kw: Any) -> DokployClient:
    options: dict[str, Any] = dict(timeout=5.0, max_retries=2, backoff=0.01, max_backoff=0.05)
    options.update(kw)
    return DokployClient(emu.url, key, **options)


@pytest.fixture
def client(emu: DokployEmulator) -> Iterator[DokployClient]:
    with make(emu) as c:
        yield c


@pytest.fixture
def no_retry(emu: DokployEmulator) -> Iterator[DokployClient]:
    with make(emu, max_retries=0) as c:
        yield c


def texts_of(exc: BaseException) -> list[str]:
    """Everything a user or a log could print about an exception and what it chains to."""
    out = [
        str(exc),
        repr(exc),
        repr(exc.args),
        repr(vars(exc)),
        "".join(traceback.format_exception(exc)),
        "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format()),
    ]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            out += [str(linked), repr(linked), "".join(traceback.format_exception(linked))]
            # httpx's errors carry the request, whose headers hold the key: none may be chained.
            request = getattr(linked, "_request", None)
            if request is not None:
                out.append(repr(dict(request.headers)))
    return out


def assert_key_hidden(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    texts = texts_of(exc) + [caplog.text] + [repr(r.__dict__) for r in caplog.records]
    for secret in SECRETS:
        for text in texts:
            assert secret not in text


def assert_names(exc: DokployError, procedure: str, reason: str) -> None:
    assert procedure in str(exc), str(exc)
    assert reason in str(exc), str(exc)
    assert exc.procedure == procedure


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], bool], within: float = 3.0) -> bool:
    """Poll `condition`: a request held by a latency fault is still in flight after the client gave up."""
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def in_flight_done(emu: DokployEmulator) -> Callable[[], bool]:
    return lambda: all(r.status is not None for r in emu.requests)


def trpc(code: str, message: str, status: int, path: str) -> dict[str, Any]:
    return {"message": message, "code": code, "data": {"code": code, "httpStatus": status, "path": path}}


# -- the leak check itself sees httpx's debug logs ---------------------------------------------------


def test_debug_logs_are_captured_and_clean(client, caplog):
    client.project.all()
    assert any(r.name.startswith(("httpx", "httpcore")) for r in caplog.records)
    assert KEY not in caplog.text


# -- no answer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["get", "post"])
def test_connection_refused(caplog, call):
    with DokployClient(f"http://127.0.0.1:{closed_port()}", KEY, max_retries=1, backoff=0.01) as c:
        with pytest.raises(APIConnectionError) as info:
            c.project.all() if call == "get" else c.project.create("never")
    exc = info.value
    assert not isinstance(exc, APITimeoutError)
    assert exc.request_sent is False
    procedure = "project.all" if call == "get" else "project.create"
    assert_names(exc, procedure, "cannot connect")
    assert_key_hidden(exc, caplog)


def test_connect_timeout_means_not_sent(caplog):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with DokployClient("http://127.0.0.1:9", KEY, max_retries=0, transport=httpx.MockTransport(refuse)) as c:
        with pytest.raises(APITimeoutError) as info:
            c.project.create("never")
    assert info.value.request_sent is False
    assert_names(info.value, "project.create", "timed out connecting")
    assert_key_hidden(info.value, caplog)


def test_read_timeout(emu, caplog):
    emu.inject_fault("project.all", latency=2.0)
    with make(emu, timeout=0.2, max_retries=0) as c:
        with pytest.raises(APITimeoutError) as info:
            c.project.all()
        # The client gave up without waiting for the answer: the server is still sleeping in the
        # latency fault (its record has no status yet), and there was exactly one attempt.
        (seen,) = emu.requests
        assert seen.procedure == "project.all" and seen.status is None
    assert wait_until(in_flight_done(emu), within=6.0)
    exc = info.value
    assert exc.request_sent is True
    assert_names(exc, "project.all", "0.2s")
    assert_key_hidden(exc, caplog)


def test_timed_out_post_is_not_repeated(emu, caplog):
    emu.inject_fault("project.create", latency=0.6)
    with make(emu, timeout=0.2, max_retries=3) as c, pytest.raises(APITimeoutError) as info:
        c.project.create("slow")
    assert info.value.request_sent is True
    assert "may have been applied" in str(info.value)
    assert wait_until(in_flight_done(emu))
    assert emu.request_count("project.create") == 1  # not repeated
    assert [p["name"] for p in emu.projects()] == ["slow"]  # and it was applied after all
    assert_key_hidden(info.value, caplog)


@pytest.mark.parametrize("mode", ["drop", "drop_after_commit"])
def test_dropped_post_is_not_repeated(emu, client, caplog, mode):
    emu.inject_fault("project.create", **{mode: True})
    with pytest.raises(APIConnectionError) as info:
        client.project.create("dropped", description="d")
    exc = info.value
    assert not isinstance(exc, APITimeoutError)
    assert exc.request_sent is True
    assert_names(exc, "project.create", "may have been applied")
    assert emu.request_count("project.create") == 1
    named = [p for p in emu.projects() if p["name"] == "dropped"]
    assert len(named) == (1 if mode == "drop_after_commit" else 0)
    assert_key_hidden(exc, caplog)


# -- 401 ----------------------------------------------------------------------------------------------


def test_401_bare_for_a_wrong_key(emu, caplog):
    with make(emu, key=WRONG_KEY) as c, pytest.raises(AuthenticationError) as info:
        c.project.all()
    exc = info.value
    assert exc.status == 401 and exc.body == {"message": "Unauthorized"}
    assert exc.probably_rate_limited is False
    assert_names(exc, "project.all", "Unauthorized")
    assert "rate-limited" not in str(exc)
    assert emu.request_count("project.all") == 1  # 401 is never retried
    assert_key_hidden(exc, caplog)


def test_health_does_not_prove_the_key_works(emu, caplog):
    with make(emu, key=WRONG_KEY) as c:
        assert c.health() is True  # no auth on /api/health
        with pytest.raises(AuthenticationError) as info:
            c.project.all()
    assert info.value.probably_rate_limited is False
    assert "rate-limited" not in str(info.value)


def test_401_after_the_key_worked_says_rate_limited(emu, client, caplog):
    emu.rate_limit_after(1)
    assert client.project.all() == []
    with pytest.raises(AuthenticationError) as info:
        client.project.create("limited")
    exc = info.value
    assert exc.probably_rate_limited is True
    assert_names(exc, "project.create", "Unauthorized")
    assert "rate-limited" in str(exc) and "401" in str(exc)
    assert_key_hidden(exc, caplog)


# -- 4xx from the procedures -------------------------------------------------------------------------


def test_403_other_organizations_environment(emu, client, caplog):
    env_id = client.project.create("mine").environment.environment_id
    with make(emu, key=OTHER_KEY) as other, pytest.raises(PermissionDeniedError) as info:
        other.environment.one(env_id)
    exc = info.value
    assert exc.status == 403
    assert_names(exc, "environment.one", "You are not allowed to access this environment")
    assert_key_hidden(exc, caplog)


def test_403_from_a_proxy(emu, no_retry, caplog):
    emu.inject_fault("project.all", status=403, body=trpc("FORBIDDEN", "Forbidden by policy", 403, "project.all"))
    with pytest.raises(PermissionDeniedError) as info:
        no_retry.project.all()
    assert_names(info.value, "project.all", "Forbidden by policy")
    assert_key_hidden(info.value, caplog)


def test_404_project_not_found(client, caplog):
    with pytest.raises(NotFoundError) as info:
        client.project.one(MISSING)
    exc = info.value
    assert exc.status == 404 and exc.body["code"] == "NOT_FOUND"
    assert_names(exc, "project.one", "Project not found")
    assert_key_hidden(exc, caplog)


def test_404_unknown_procedure_is_not_a_statement_about_an_object(client, caplog):
    # The router's "no such procedure" says nothing about any object: never NotFoundError.
    with pytest.raises(UnknownProcedureError) as info:
        client.get("project.nothingHere", None)
    assert not isinstance(info.value, NotFoundError)
    assert_names(info.value, "project.nothingHere", "Not found")
    assert "has no procedure project.nothingHere" in str(info.value)
    assert_key_hidden(info.value, caplog)


@pytest.mark.parametrize("procedure", ["environment.update", "environment.duplicate"])
def test_400_wrapped_not_found(client, caplog, procedure):
    with pytest.raises(NotFoundError) as info:
        if procedure == "environment.update":
            client.environment.update(MISSING, description="x")
        else:
            client.environment.duplicate(MISSING, "copy")
    exc = info.value
    assert exc.status == 400
    assert_names(exc, procedure, "Environment not found")
    assert_key_hidden(exc, caplog)


def test_400_unknown_project_on_environment_create_is_not_found(client, caplog):
    # The server's 400 carries raw SQL whose words differ by release; the client asks project.one.
    with pytest.raises(NotFoundError) as info:
        client.environment.create(MISSING, "orphan")
    assert info.value.status == 400
    assert_names(info.value, "environment.create", f"project {MISSING} does not exist")
    assert_key_hidden(info.value, caplog)


def test_400_validation_has_field_errors(client, caplog):
    with pytest.raises(InputValidationError) as info:
        client.project.search(limit=0, offset=-1)
    exc = info.value
    assert isinstance(exc, BadRequestError) and exc.status == 400
    assert set(exc.field_errors) == {"limit", "offset"}
    assert all(exc.field_errors.values())
    assert_names(exc, "project.search", "Input validation failed")
    assert "limit" in str(exc) and "offset" in str(exc)
    assert_key_hidden(exc, caplog)


def test_400_validation_null_rejected(client, caplog):
    pid = client.project.create("p").project.project_id
    with pytest.raises(InputValidationError) as info:
        client.project.update(pid, env=None)
    assert "env" in info.value.field_errors
    assert_names(info.value, "project.update", "Input validation failed")


def test_400_other_is_bad_request(client, caplog):
    env_id = client.project.create("p").environment.environment_id
    with pytest.raises(BadRequestError) as info:
        client.environment.remove(env_id)
    exc = info.value
    assert type(exc) is BadRequestError
    assert_names(exc, "environment.remove", "You cannot delete the default environment")
    assert_key_hidden(exc, caplog)


def test_400_plain_text_invalid_json(emu, client, caplog):
    emu.inject_fault("project.create", status=400, body="Invalid JSON", content_type="text/plain; charset=utf-8")
    with pytest.raises(BadRequestError) as info:
        client.project.create("x")
    assert type(info.value) is BadRequestError
    assert info.value.server_message == "Invalid JSON"
    assert_names(info.value, "project.create", "Invalid JSON")
    assert_key_hidden(info.value, caplog)


def test_409_conflict(emu, client, caplog):
    emu.inject_fault("project.create", status=409, body=trpc("CONFLICT", "Already exists", 409, "project.create"))
    with pytest.raises(ConflictError) as info:
        client.project.create("x")
    assert info.value.status == 409
    assert_names(info.value, "project.create", "Already exists")
    assert_key_hidden(info.value, caplog)


def test_415_unsupported_media_type(emu, client, caplog):
    body = trpc("UNSUPPORTED_MEDIA_TYPE", 'Unsupported content-type "text/plain"', 415, "project.create")
    emu.inject_fault("project.create", status=415, body=body)
    with pytest.raises(UnsupportedMediaTypeError) as info:
        client.project.create("x")
    assert info.value.status == 415
    assert_names(info.value, "project.create", "Unsupported content-type")
    assert_key_hidden(info.value, caplog)


@pytest.mark.parametrize("retry_after, expected", [("7", 7.0), ("0", 0.0), (None, None), ("soon", None)])
def test_429_rate_limit_parses_retry_after(emu, no_retry, caplog, retry_after, expected):
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    emu.inject_fault(
        "project.all", status=429, headers=headers, body=trpc("TOO_MANY_REQUESTS", "Slow down", 429, "project.all")
    )
    with pytest.raises(RateLimitError) as info:
        no_retry.project.all()
    assert info.value.status == 429
    assert info.value.retry_after == expected
    assert_names(info.value, "project.all", "Slow down")
    assert_key_hidden(info.value, caplog)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_internal_server_error(emu, no_retry, caplog, status):
    code = {500: "INTERNAL_SERVER_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}
    emu.inject_fault("project.all", status=status, body=trpc(code[status], f"broken {status}", status, "project.all"))
    with pytest.raises(InternalServerError) as info:
        no_retry.project.all()
    assert info.value.status == status
    assert_names(info.value, "project.all", f"broken {status}")
    assert_key_hidden(info.value, caplog)


def test_other_status_is_api_status_error(emu, no_retry, caplog):
    emu.inject_fault("project.all", status=418, body={"message": "I am a teapot"})
    with pytest.raises(APIStatusError) as info:
        no_retry.project.all()
    assert info.value.status == 418
    assert_names(info.value, "project.all", "I am a teapot")


# -- bodies that are not Dokploy's ------------------------------------------------------------------

HTML = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


def test_malformed_json_on_200(emu, client, caplog):
    emu.inject_fault("project.all", status=200, body='[{"projectId": ')
    with pytest.raises(InvalidResponseError) as info:
        client.project.all()
    exc = info.value
    assert exc.status == 200
    assert_names(exc, "project.all", "not JSON")
    assert emu.request_count("project.all") == 1
    assert_key_hidden(exc, caplog)


def test_html_page_on_200(emu, client, caplog):
    emu.inject_fault("project.create", status=200, body="<html>Login</html>", content_type="text/html")
    with pytest.raises(InvalidResponseError) as info:
        client.project.create("x")
    assert_names(info.value, "project.create", "text/html")
    assert_key_hidden(info.value, caplog)


def test_json_of_the_wrong_shape_on_200(emu, client, caplog):
    emu.inject_fault("project.one", status=200, body={"unexpected": True})
    with pytest.raises(InvalidResponseError) as info:
        client.project.one("anything")
    assert_names(info.value, "project.one", "projectId")
    assert_key_hidden(info.value, caplog)


def test_html_error_page_from_a_proxy(emu, no_retry, caplog):
    emu.inject_fault("project.all", status=502, body=HTML, content_type="text/html")
    with pytest.raises(InternalServerError) as info:
        no_retry.project.all()
    exc = info.value
    assert exc.status == 502 and exc.body is None
    assert_names(exc, "project.all", "502 Bad Gateway")
    assert "<html>" in exc.server_message and len(exc.server_message) <= 200
    assert_key_hidden(exc, caplog)


def test_empty_error_body(emu, no_retry, caplog):
    emu.inject_fault("project.all", status=503, body=None)
    with pytest.raises(InternalServerError) as info:
        no_retry.project.all()
    assert_names(info.value, "project.all", "(empty body)")


# -- retries --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_get_is_retried_on_transient_status(emu, client, status):
    emu.inject_fault("project.all", status=status, body={"message": "try again"})
    assert client.project.all() == []
    assert emu.request_count("project.all") == 2


def test_get_is_retried_after_a_dropped_connection(emu, client):
    client.project.create("one")
    emu.inject_fault("project.all", drop=True)
    assert [p.name for p in client.project.all()] == ["one"]
    assert emu.request_count("project.all") == 2


def test_get_is_retried_after_a_read_timeout(emu):
    emu.inject_fault("project.all", latency=0.6)
    with make(emu, timeout=0.2, max_retries=1) as c:
        assert c.project.all() == []
    assert emu.request_count("project.all") == 2
    assert wait_until(in_flight_done(emu))


def test_retry_after_is_honoured(emu, client, monkeypatch):
    # The sleeps the client asks for between attempts, recorded instead of slept: the retry loop
    # (tenacity) sleeps through `tenacity.nap`, which calls `time.sleep` of the module it holds.
    slept: list[float] = []
    monkeypatch.setattr(tenacity.nap, "time", SimpleNamespace(sleep=slept.append))
    emu.inject_fault("project.all", status=503, headers={"Retry-After": "3"}, body={"message": "busy"})
    assert client.project.all() == []
    # One wait of exactly the hinted 3 s (the backoff alone would be at most 0.05 s here), then the retry.
    assert slept == [3.0]
    assert emu.request_count("project.all") == 2


def test_retries_give_up_after_max_retries(emu):
    emu.inject_fault("project.all", status=503, times=10, body={"message": "down"})
    with make(emu, max_retries=2) as c, pytest.raises(InternalServerError) as info:
        c.project.all()
    assert emu.request_count("project.all") == 3
    assert_names(info.value, "project.all", "down")


@pytest.mark.parametrize("status", [500, 501])
def test_get_is_not_retried_on_other_5xx(emu, client, status):
    emu.inject_fault("project.all", status=status, body={"message": "bug"})
    with pytest.raises(InternalServerError):
        client.project.all()
    assert emu.request_count("project.all") == 1


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_post_is_not_retried_on_transient_status(emu, client, status):
    emu.inject_fault("project.create", status=status, body={"message": "unavailable"})
    with pytest.raises((InternalServerError, RateLimitError)):
        client.project.create("once")
    assert emu.request_count("project.create") == 1
    assert emu.projects() == []


def test_post_is_retried_when_the_connection_never_opened(emu):
    """A POST whose connection could not even be opened never reached the server: safe to repeat."""
    real = httpx.HTTPTransport()
    attempts = []

    class FlakyConnect(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            attempts.append(request.url.path)
            if len(attempts) == 1:
                raise httpx.ConnectError("connection refused", request=request)
            return real.handle_request(request)

        def close(self) -> None:
            real.close()

    with DokployClient(emu.url, KEY, backoff=0.01, transport=FlakyConnect()) as c:
        c.project.create("after-refusal")
    assert len(attempts) == 2
    assert emu.request_count("project.create") == 1
    assert [p["name"] for p in emu.projects()] == ["after-refusal"]


def test_validation_errors_are_not_retried(emu, client):
    with pytest.raises(InputValidationError):
        client.project.search(limit=1000)
    assert emu.request_count("project.search") == 1


@pytest.mark.parametrize("answer", [None, "", 3, {"version": "v0.30.2"}])
def test_a_version_answer_that_is_no_version_is_an_error_not_the_text_none(emu, answer):
    emu.inject_fault("settings.getDokployVersion", status=200, body=answer)
    with make(emu, max_retries=0) as c:
        with pytest.raises(InvalidResponseError) as info:
            c.version()
    assert "not a version" in str(info.value)
    if answer != "":  # an empty body reaches the client as no JSON value at all
        assert repr(answer) in str(info.value)
