"""A duplicate POST whose answer is lost: the copy it made is adopted, never duplicated or orphaned.

Every test here loses an answer with `inject_fault`, an emulator-only hook.
"""

from __future__ import annotations

import grpc
import pytest
from _backend import n

from dokploy_pulumi import DokployClient
from dokploy_pulumi.providers import EnvironmentDuplicateProvider, ProjectDuplicateProvider
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of

P = "__provider"

pytestmark = pytest.mark.hook("inject_fault (lost answers)")


@pytest.fixture
def fast_server(backend, clean_env):
    """A provider server with a 1 s client timeout, so lost answers are found quickly."""
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": backend.url, "dokploy:apiKey": backend.api_key, "dokploy:timeout": "1"})
        yield srv


@pytest.fixture
def staging(backend):
    with DokployClient(backend.url, backend.api_key) as api:
        pid = backend.create_project(n("app"))["projectId"]
        return api.environment.create(pid, "staging").environment_id


def _create(server, props):
    inputs, failures = server.check({}, props)
    assert failures == []
    return server.create(inputs)


def _named(rows, name):
    return [r for r in rows if r["name"] == name]


@pytest.mark.parametrize("fault", [{"drop_after_commit": True}, {"latency": 1.5}])
def test_environment_duplicate_answer_lost_after_commit_is_adopted(fast_server, backend, staging, fault):
    emu = backend
    emu.inject_fault("environment.duplicate", **fault)
    props = {P: blob_of(EnvironmentDuplicateProvider()), "source_environment_id": staging, "name": "copy-1"}
    id_, outs = _create(fast_server, props)
    copies = _named(emu.environments(), "copy-1")
    assert [c["environmentId"] for c in copies] == [id_] and outs["name"] == "copy-1"


def test_environment_duplicate_dropped_before_commit_creates_nothing(fast_server, backend, staging):
    emu = backend
    emu.inject_fault("environment.duplicate", drop=True)
    props = {P: blob_of(EnvironmentDuplicateProvider()), "source_environment_id": staging, "name": "copy-2"}
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, props)
    assert "nothing was created" in err.value.details()
    assert _named(emu.environments(), "copy-2") == []
    assert emu.request_count("environment.duplicate") == 1  # the POST was not repeated


@pytest.mark.parametrize("fault", [{"drop_after_commit": True}, {"latency": 1.5}])
def test_project_duplicate_answer_lost_after_commit_is_adopted(fast_server, backend, staging, fault):
    emu = backend
    emu.inject_fault("project.duplicate", **fault)
    props = {P: blob_of(ProjectDuplicateProvider()), "source_environment_id": staging, "name": n("sandbox")}
    id_, outs = _create(fast_server, props)
    projects = _named(emu.projects(), n("sandbox"))
    assert [p["projectId"] for p in projects] == [id_]
    default = [e for e in emu.environments() if e["projectId"] == id_ and e["isDefault"]]
    assert outs["default_environment_id"] == default[0]["environmentId"] and outs["project_id"] == id_


def test_project_duplicate_dropped_before_commit_creates_nothing(fast_server, backend, staging):
    emu = backend
    emu.inject_fault("project.duplicate", drop=True)
    props = {P: blob_of(ProjectDuplicateProvider()), "source_environment_id": staging, "name": n("sandbox-2")}
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, props)
    assert "nothing was created" in err.value.details()
    assert _named(emu.projects(), n("sandbox-2")) == []
    assert emu.request_count("project.duplicate") == 1
