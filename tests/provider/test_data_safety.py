"""Data safety at the edges (issue 11), through the SDK's real provider server against the backend.

Each test reproduces one way a provider could lose or corrupt data without saying so:
1. a 404 that is not about the object taken for "deleted";
2. a lost create adopting an object that another resource (or an earlier run) made;
4. a response whose body cannot be decoded escaping as a raw httpx error;
5. credentials in the URL leaking into messages or state;
6. an object found after a lost create, then not adopted, left unnamed;
7. adopting the default environment erasing its description.
(3, env values changed on the way to services, is in tests/provider/test_env_fidelity.py.)
Tests that need a fault, a skewed clock or a dropped answer are `hook` tests (emulator only).
"""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from _backend import n

from dokploy_pulumi import DokployClient
from dokploy_pulumi.providers import EnvironmentDuplicateProvider
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of, diff_kind

P = "__provider"

NGINX_404 = "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>"
ROUTER_404 = {"message": "Not found", "code": "NOT_FOUND"}  # Dokploy's router: no such procedure
OTHER_PATH_404 = {  # a NOT_FOUND from another procedure (v0.30 names it in data.path)
    "message": "Project not found",
    "code": "NOT_FOUND",
    "data": {"code": "NOT_FOUND", "httpStatus": 404, "path": "project.somethingElse"},
}


@pytest.fixture
def fast_server(backend, clean_env):
    """A provider server with a 1 s client timeout, so lost answers are searched for briefly."""
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": backend.url, "dokploy:apiKey": backend.api_key, "dokploy:timeout": "1"})
        yield srv


def _project(blob, **kw):
    return {P: blob, "name": n("app"), "description": None, "env": None, "force_destroy": False, **kw}


def _create(server, props):
    inputs, failures = server.check({}, props)
    assert failures == []
    return server.create(inputs)


def _named(rows, name):
    return [r for r in rows if r["name"] == name]


# -- 1. only the procedure's own NOT_FOUND means "gone" -----------------------------------------------


@pytest.mark.hook("inject_fault")
@pytest.mark.parametrize(
    "answer",
    [
        dict(status=404, body=NGINX_404, content_type="text/html"),
        dict(status=404, body=ROUTER_404),
        dict(status=404, body=OTHER_PATH_404),
        dict(status=404, body=""),
    ],
    ids=["html-proxy-page", "router-unknown-procedure", "other-procedure-path", "empty-body"],
)
def test_refresh_keeps_the_resource_when_a_404_is_not_about_it(server, project_blob, backend, answer):
    emu = backend
    id_, outs = _create(server, _project(project_blob))
    emu.inject_fault("project.one", **answer, times=10)
    with pytest.raises(grpc.RpcError) as err:
        server.read(id_, outs)  # an error: the engine keeps the resource in state
    details = err.value.details()
    assert f"Project '{n('app')}' ({id_}): read failed" in details
    assert "404" in details
    emu.clear_faults()
    assert server.read(id_, outs)[0] == id_


@pytest.mark.hook("inject_fault")
@pytest.mark.parametrize(
    "answer",
    [dict(status=404, body=NGINX_404, content_type="text/html"), dict(status=404, body=ROUTER_404)],
    ids=["html-proxy-page", "router-unknown-procedure"],
)
def test_destroy_fails_when_a_404_is_not_about_the_object(server, project_blob, environment_blob, backend, answer):
    emu = backend
    pid, pouts = _create(server, _project(project_blob, force_destroy=True))
    inputs, _ = server.check({}, {P: environment_blob, "project_id": pid, "name": "staging"})
    eid, eouts = server.create(inputs)
    emu.inject_fault("environment.remove", **answer)
    with pytest.raises(grpc.RpcError) as err:
        server.delete(eid, eouts)
    assert "delete failed" in err.value.details()
    assert emu.get_environment(eid) is not None
    emu.inject_fault("project.remove", **answer)
    with pytest.raises(grpc.RpcError):
        server.delete(pid, pouts)
    assert emu.get_project(pid) is not None


def test_a_wrong_url_path_is_an_error_not_an_empty_server(backend, clean_env, project_blob):
    emu = backend
    with ProviderServer(env=clean_env) as good:
        good.configure({"dokploy:url": emu.url, "dokploy:apiKey": emu.api_key})
        id_, outs = _create(good, _project(project_blob))
    with ProviderServer(env=clean_env) as wrong:
        # Dokploy is served at /, the user wrote /dokploy: every call lands on a non-API path.
        wrong.configure({"dokploy:url": emu.url + "/dokploy", "dokploy:apiKey": emu.api_key})
        with pytest.raises(grpc.RpcError) as err:
            wrong.read(id_, outs)
        assert "probably wrong" in err.value.details()
        with pytest.raises(grpc.RpcError):
            wrong.delete(id_, outs)
    assert emu.get_project(id_) is not None


def test_the_procedures_own_not_found_still_means_gone(server, project_blob, backend):
    id_, outs = _create(server, _project(project_blob))
    backend.delete_project(id_)
    assert server.read(id_, outs)[0] == ""  # dropped from state
    server.delete(id_, outs)  # already gone: success


# -- 2. a lost create adopts only what it made --------------------------------------------------------


@pytest.mark.hook("inject_fault (dropped create)")
def test_lost_create_never_adopts_an_older_object_of_the_same_name(fast_server, project_blob, backend):
    emu = backend
    older = emu.create_project(n("app"))  # made a moment ago, by an earlier run or another stack
    time.sleep(1.1)  # the server's Date header has one-second resolution
    emu.inject_fault("project.create", drop=True)  # never reaches the server
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, _project(project_blob))
    assert "nothing was created" in err.value.details()
    assert [p["projectId"] for p in _named(emu.projects(), n("app"))] == [older["projectId"]]


@pytest.mark.hook("clock_offset, inject_fault")
def test_lost_create_adopts_its_own_object_even_when_the_server_clock_is_behind(fast_server, project_blob, backend):
    emu = backend
    emu.clock_offset = -600.0  # the server's clock is ten minutes behind ours
    try:
        emu.inject_fault("project.create", drop_after_commit=True)
        id_, outs = _create(fast_server, _project(project_blob, name=n("skewed")))
    finally:
        emu.clock_offset = 0.0
    assert [p["projectId"] for p in _named(emu.projects(), n("skewed"))] == [id_]
    assert outs["name"] == n("skewed")


@pytest.mark.hook("inject_fault (dropped create)")
def test_lost_create_ignores_an_object_another_resource_of_the_stack_holds(fast_server, project_blob, backend):
    emu = backend
    # Another resource of this stack made "app" in this process, just now.
    held, _ = _create(fast_server, _project(project_blob))
    emu.inject_fault("project.create", drop=True)
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, _project(project_blob))
    assert "nothing was created" in err.value.details()
    assert [p["projectId"] for p in _named(emu.projects(), n("app"))] == [held]


@pytest.mark.hook("inject_fault (latency + drop)")
def test_environment_duplicate_searches_only_the_source_project(fast_server, backend):
    emu = backend
    with DokployClient(emu.url, emu.api_key) as api:
        shop = emu.create_project(n("shop"))["projectId"]
        other = emu.create_project(n("other"))["projectId"]
        staging = api.environment.create(shop, "staging").environment_id
        # While the duplicate is in flight (and before it is dropped), someone makes an environment
        # of the same name in another project.
        emu.inject_fault("environment.duplicate", latency=0.6, drop=True)
        timer = threading.Timer(0.2, lambda: api.environment.create(other, "review-7"))
        timer.start()
        props = {P: blob_of(EnvironmentDuplicateProvider()), "source_environment_id": staging, "name": "review-7"}
        try:
            with pytest.raises(grpc.RpcError) as err:
                _create(fast_server, props)
        finally:
            timer.join()
    assert "nothing was created" in err.value.details()
    assert [e["projectId"] for e in _named(emu.environments(), "review-7")] == [other]


# -- 4. an answer that cannot be decoded --------------------------------------------------------------


@pytest.mark.hook("inject_fault (garbled body)")
def test_corrupt_content_encoding_is_a_lost_answer(fast_server, project_blob, backend):
    emu = backend
    emu.inject_fault("project.create", status=200, body=b"\x00not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, _project(project_blob, name=n("garbled")))
    details = err.value.details()
    assert "could not be decoded" in details and "nothing was created" in details
    assert "httpx" not in details and "DecodingError" not in details


# -- 5. credentials in the URL --------------------------------------------------------------------------


def test_url_with_credentials_is_refused_at_preview(backend, clean_env, project_blob):
    emu = backend
    with ProviderServer(env=clean_env) as srv:
        srv.configure(
            {"dokploy:url": emu.url.replace("http://", "http://admin:hunter2@"), "dokploy:apiKey": emu.api_key}
        )
        _, failures = srv.check({}, _project(project_blob))
        assert failures and failures[0][0] == "connection"
        assert "must not contain a user name or password" in failures[0][1] and "dokploy:apiKey" in failures[0][1]
        assert "hunter2" not in failures[0][1] and "admin" not in failures[0][1]
        conn = {"url": "https://ops:s3cr3t@dokploy.example.com", "api_key_env": "DOKPLOY_API_KEY"}
        _inputs, failures = srv.check({}, _project(project_blob, connection=conn))
        assert failures and failures[0][0] == "connection"
        assert "s3cr3t" not in failures[0][1]
    with pytest.raises(ValueError) as info:
        DokployClient("https://ops:s3cr3t@dokploy.example.com", "k")
    assert "s3cr3t" not in str(info.value)


# -- 6. found after a lost create, but not adopted ------------------------------------------------------


@pytest.mark.hook("inject_fault")
def test_a_found_object_that_cannot_be_adopted_is_named(fast_server, project_blob, backend):
    emu = backend
    emu.inject_fault("project.create", drop_after_commit=True)
    # Taking it over reads it (project.one): that read fails with a plain 500 (not retried).
    emu.inject_fault(
        "project.one", status=500, body={"message": "database restarting", "code": "INTERNAL_SERVER_ERROR"}
    )
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, _project(project_blob, name=n("half-made")))
    made = _named(emu.projects(), n("half-made"))
    assert len(made) == 1
    details = err.value.details()
    assert made[0]["projectId"] in details and f"adopt_id={made[0]['projectId']!r}" in details
    assert "database restarting" in details


# -- 7. the default environment keeps its description ---------------------------------------------------


def test_adopting_the_default_environment_without_a_description_keeps_it(
    server, project_blob, environment_blob, backend
):
    emu = backend
    pid, pouts = _create(server, _project(project_blob))
    default = pouts["default_environment_id"]
    emu.set_environment_fields(default, description="Customer-facing (edited in the UI)")
    emu.reset_requests()
    inputs, failures = server.check({}, {P: environment_blob, "project_id": pid, "name": "production"})
    assert failures == [] and inputs.get("description") is None
    eid, outs = server.create(inputs)
    assert eid == default
    assert [r.procedure for r in emu.requests] == ["project.one"]  # read only: no update
    assert emu.get_environment(default)["description"] == "Customer-facing (edited in the UI)"
    assert outs["description"] == "Customer-facing (edited in the UI)"
    # Unset stays unmanaged: no diff, and refresh changes nothing.
    news, _ = server.check(outs, {P: environment_blob, "project_id": pid, "name": "production"})
    assert diff_kind(server.diff(eid, outs, news)) == "none"
    # Declared, it converges like any other input.
    news, _ = server.check(outs, {P: environment_blob, "project_id": pid, "name": "production", "description": "Prod"})
    assert diff_kind(server.diff(eid, outs, news)) == "some"
    server.update(eid, outs, news)
    assert emu.get_environment(default)["description"] == "Prod"
