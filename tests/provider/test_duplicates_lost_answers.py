"""A duplicate POST whose answer is lost: the copy it made is adopted, never duplicated or orphaned."""

from __future__ import annotations

import grpc
import pytest

from dokploy_pulumi import DokployClient
from dokploy_pulumi.providers import EnvironmentDuplicateProvider, ProjectDuplicateProvider

from ._harness import ProviderServer, blob_of

P = "__provider"


@pytest.fixture
def fast_server(dokploy_emulator, clean_env):
    """A provider server with a 1 s client timeout, so lost answers are found quickly."""
    with ProviderServer(env=clean_env) as srv:
        srv.configure(
            {"dokploy:url": dokploy_emulator.url, "dokploy:apiKey": dokploy_emulator.api_key, "dokploy:timeout": "1"}
        )
        yield srv


@pytest.fixture
def staging(dokploy_emulator):
    with DokployClient(dokploy_emulator.url, dokploy_emulator.api_key) as api:
        pid = dokploy_emulator.create_project("app")["projectId"]
        return api.environment.create(pid, "staging").environment_id


def _create(server, props):
    inputs, failures = server.check({}, props)
    assert failures == []
    return server.create(inputs)


def _named(rows, name):
    return [r for r in rows if r["name"] == name]


@pytest.mark.parametrize("fault", [{"drop_after_commit": True}, {"latency": 1.5}])
def test_environment_duplicate_answer_lost_after_commit_is_adopted(fast_server, dokploy_emulator, staging, fault):
    emu = dokploy_emulator
    emu.inject_fault("environment.duplicate", **fault)
    props = {P: blob_of(EnvironmentDuplicateProvider()), "source_environment_id": staging, "name": "copy-1"}
    id_, outs = _create(fast_server, props)
    copies = _named(emu.environments(), "copy-1")
    assert [c["environmentId"] for c in copies] == [id_] and outs["name"] == "copy-1"


def test_environment_duplicate_dropped_before_commit_creates_nothing(fast_server, dokploy_emulator, staging):
    emu = dokploy_emulator
    emu.inject_fault("environment.duplicate", drop=True)
    props = {P: blob_of(EnvironmentDuplicateProvider()), "source_environment_id": staging, "name": "copy-2"}
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, props)
    assert "nothing was created" in err.value.details()
    assert _named(emu.environments(), "copy-2") == []
    assert emu.request_count("environment.duplicate") == 1  # the POST was not repeated


@pytest.mark.parametrize("fault", [{"drop_after_commit": True}, {"latency": 1.5}])
def test_project_duplicate_answer_lost_after_commit_is_adopted(fast_server, dokploy_emulator, staging, fault):
    emu = dokploy_emulator
    emu.inject_fault("project.duplicate", **fault)
    props = {P: blob_of(ProjectDuplicateProvider()), "source_environment_id": staging, "name": "sandbox"}
    id_, outs = _create(fast_server, props)
    projects = _named(emu.projects(), "sandbox")
    assert [p["projectId"] for p in projects] == [id_]
    default = [e for e in emu.environments() if e["projectId"] == id_ and e["isDefault"]]
    assert outs["default_environment_id"] == default[0]["environmentId"] and outs["project_id"] == id_


def test_project_duplicate_dropped_before_commit_creates_nothing(fast_server, dokploy_emulator, staging):
    emu = dokploy_emulator
    emu.inject_fault("project.duplicate", drop=True)
    props = {P: blob_of(ProjectDuplicateProvider()), "source_environment_id": staging, "name": "sandbox-2"}
    with pytest.raises(grpc.RpcError) as err:
        _create(fast_server, props)
    assert "nothing was created" in err.value.details()
    assert _named(emu.projects(), "sandbox-2") == []
    assert emu.request_count("project.duplicate") == 1
