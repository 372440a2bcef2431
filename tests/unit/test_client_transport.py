"""The client's transport: URLs, headers, the shared connection pool, threads, timeouts, OMIT."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from dokploy_pulumi import APITimeoutError, DokployClient, __version__
from dokploy_pulumi._transport import OMIT, USER_AGENT, normalize_url
from dokploy_pulumi._transport import retry_after_seconds as _retry_after_seconds
from dokploy_pulumi.testing import DokployEmulator

KEY = "dkp-transport-SECRET-77aa"


@pytest.fixture(scope="module")
def emu() -> Iterator[DokployEmulator]:
    with DokployEmulator(api_key=KEY) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def fresh(emu: DokployEmulator) -> Iterator[None]:
    emu.reset()
    yield
    emu.reset()


def make(emu: DokployEmulator, **kw: Any) -> DokployClient:
    options: dict[str, Any] = dict(timeout=5.0, max_retries=2, backoff=0.01, max_backoff=0.05)
    options.update(kw)
    return DokployClient(emu.url, KEY, **options)


@pytest.fixture
def client(emu: DokployEmulator) -> Iterator[DokployClient]:
    with make(emu) as c:
        yield c


def count_new_connections(c: DokployClient) -> list[Any]:
    """Spy on the client's own httpcore pool: one entry per TCP connection it opens."""
    pool = c._t._http._transport._pool  # httpx.HTTPTransport -> httpcore.ConnectionPool
    created: list[Any] = []
    original = pool.create_connection

    def create_connection(origin: Any) -> Any:
        created.append(origin)
        return original(origin)

    pool.create_connection = create_connection
    return created


# -- URLs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, base",
    [
        ("https://dokploy.example.com", "https://dokploy.example.com/api/"),
        ("https://dokploy.example.com/", "https://dokploy.example.com/api/"),
        ("https://dokploy.example.com/api", "https://dokploy.example.com/api/"),
        ("https://dokploy.example.com/api/", "https://dokploy.example.com/api/"),
        ("  https://dokploy.example.com/api//  ", "https://dokploy.example.com/api/"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000/api/"),
        ("https://example.com/dokploy", "https://example.com/dokploy/api/"),
        ("https://example.com/dokploy/api/", "https://example.com/dokploy/api/"),
    ],
)
def test_normalize_url(given, base):
    assert normalize_url(given) == base


@pytest.mark.parametrize("bad", ["", "   ", "dokploy.example.com", "ftp://x", "https://", None])
def test_bad_urls_are_refused(bad):
    with pytest.raises(ValueError):
        normalize_url(bad)


def test_empty_key_is_refused():
    with pytest.raises(ValueError) as info:
        DokployClient("http://127.0.0.1:1", "")
    assert "key" in str(info.value)


def test_plain_http_to_a_remote_host_warns_without_the_key():
    with pytest.warns(UserWarning, match="unencrypted") as record:
        DokployClient("http://dokploy.example.com", KEY).close()
    assert all(KEY not in str(w.message) for w in record)


def test_loopback_http_does_not_warn(emu):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(emu).close()
        DokployClient("http://localhost:3000", KEY).close()


def test_verify_false_warns():
    with pytest.warns(UserWarning, match="verification"):
        DokployClient("https://dokploy.example.com", KEY, verify=False).close()


def test_repr_has_no_key(client):
    assert KEY not in repr(client) and KEY not in str(client)
    assert client.base_url in repr(client)


# -- headers and bodies -----------------------------------------------------------------------------


def test_user_agent_names_package_and_version(emu, client):
    client.project.all()
    client.project.create("ua")
    assert f"dokploy-pulumi/{__version__}" in USER_AGENT
    for request in emu.requests:
        assert request.headers["user-agent"] == USER_AGENT


def test_key_travels_in_x_api_key_only(emu, client):
    client.project.all()
    (request,) = emu.requests
    assert request.headers["x-api-key"] == "***"  # present (the emulator masks it in its log)
    assert "authorization" not in request.headers and "cookie" not in request.headers


def test_health_sends_no_key(emu, client):
    assert client.health() is True
    (request,) = emu.requests
    assert request.path == "/api/health" and "x-api-key" not in request.headers
    client.project.all()  # and the key is still sent afterwards
    assert emu.requests[-1].headers["x-api-key"] == "***"


def test_queries_are_get_and_mutations_post_json(emu, client):
    pid = client.project.create("m").project.project_id
    client.project.one(pid)
    client.project.search("m", limit=5, offset=0)
    get_one, get_search = emu.requests[1], emu.requests[2]
    post = emu.requests[0]
    assert post.method == "POST" and post.headers["content-type"] == "application/json"
    assert get_one.method == "GET" and get_one.query == {"projectId": pid} and get_one.body is None
    assert get_search.query == {"q": "m", "limit": "5", "offset": "0"}


def test_omit_is_absent_and_none_is_null(emu, client):
    pid = client.project.create("o").project.project_id
    client.project.update(pid, description=None)
    client.project.update(pid, name="o2")
    bodies = [r.body for r in emu.requests if r.procedure == "project.update"]
    assert bodies == [{"projectId": pid, "description": None}, {"projectId": pid, "name": "o2"}]
    assert repr(OMIT) == "OMIT" and not OMIT


def test_none_query_values_are_not_sent(emu, client):
    client.project.search(None, name=None, limit=None)
    (request,) = emu.requests
    assert request.query == {}


def test_version(client):
    assert client.version() == "v0.30.2"


# -- Retry-After ---------------------------------------------------------------------------------------


def _response(value: Any) -> httpx.Response:
    headers = {} if value is None else {"Retry-After": value}
    return httpx.Response(503, headers=headers)


@pytest.mark.parametrize("value, expected", [("3", 3.0), ("0.5", 0.5), ("-4", 0.0), (None, None), ("x", None)])
def test_retry_after_seconds(value, expected):
    assert _retry_after_seconds(_response(value)) == expected


def test_retry_after_http_date():
    # An HTTP date has whole seconds; the result is that date less the client's clock while it ran
    # (bracketed by ours before and after: no bound on how long the call took).
    when = (datetime.now(timezone.utc) + timedelta(seconds=30)).replace(microsecond=0)
    before = datetime.now(timezone.utc)
    seconds = _retry_after_seconds(_response(format_datetime(when, usegmt=True)))
    after = datetime.now(timezone.utc)
    assert seconds is not None
    assert (when - after).total_seconds() <= seconds <= (when - before).total_seconds()
    past = datetime.now(timezone.utc) - timedelta(seconds=30)
    assert _retry_after_seconds(_response(format_datetime(past, usegmt=True))) == 0.0


# -- timeouts ----------------------------------------------------------------------------------------------


def test_timeout_is_configurable(emu):
    with make(emu, timeout=2.5) as c:
        assert c.timeout == 2.5
        assert c._t._http.timeout == httpx.Timeout(2.5)
    emu.latency = 0.3
    try:
        with make(emu, timeout=2.0, max_retries=0) as c:
            assert c.project.all() == []  # slower than usual, within the timeout
        emu.reset_requests()
        with make(emu, timeout=0.1, max_retries=0) as c:
            emu.latency = 2.0
            with pytest.raises(APITimeoutError) as info:
                c.project.all()
            # It gave up at its own timeout, not the server's answer: the one request it sent is
            # still sleeping in the emulator's latency (no status recorded yet).
            (seen,) = emu.requests
            assert seen.procedure == "project.all" and seen.status is None
            assert "0.1s" in str(info.value)
    finally:
        emu.latency = 0.0
        # Let the abandoned request finish before the next test (it would count in its log).
        deadline = time.monotonic() + 10
        while any(r.status is None for r in emu.requests) and time.monotonic() < deadline:
            time.sleep(0.05)


# -- one pool, many threads ---------------------------------------------------------------------------------


def test_one_connection_is_reused_across_calls(emu, client):
    created = count_new_connections(client)
    client.project.create("pool")
    for _ in range(10):
        client.project.all()
        client.version()
    assert emu.request_count() == 21
    assert len(created) == 1


def test_one_client_is_safe_from_several_threads(emu, client):
    client.project.create("shared")
    created = count_new_connections(client)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    results: list[int] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                results.append(len(client.project.all()))
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert results == [1] * 100
    assert emu.request_count("project.all") == 100
    assert 1 <= len(created) <= 4  # at most one connection per thread, reused 25 times each


def test_close_closes_the_pool(emu):
    c = make(emu)
    c.project.all()
    c.close()
    with pytest.raises(RuntimeError):
        c.project.all()
