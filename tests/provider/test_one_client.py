"""A provider process serves every resource type of a stack over one connection (one client).

The SDK's provider server makes one provider instance per `__provider` blob, so a stack of
Projects, Environments and EnvironmentDuplicates has three configured instances in one process.
They share the process's client: every request arrives on one keep-alive connection (one client
port). `tests/unit/test_client_pool.py` counts the clients made.
"""

from __future__ import annotations

import pytest
from _backend import n

from dokploy_pulumi.providers import EnvironmentDuplicateProvider
from dokploy_pulumi.testing.provider_server import blob_of

P = "__provider"


@pytest.mark.hook("client_port")  # the emulator's record of the client's TCP port
def test_three_resource_types_one_connection(server, backend, project_blob, environment_blob) -> None:
    backend.reset_requests()
    inputs, failures = server.check({}, {P: project_blob, "name": n("app")})
    assert failures == []
    project_id, _ = server.create(inputs)
    inputs, failures = server.check({}, {P: environment_blob, "project_id": project_id, "name": "staging"})
    assert failures == []
    environment_id, _ = server.create(inputs)
    dup_blob = blob_of(EnvironmentDuplicateProvider())
    inputs, failures = server.check({}, {P: dup_blob, "source_environment_id": environment_id, "name": "copy"})
    assert failures == []
    server.create(inputs)
    procedures = [r.procedure for r in backend.requests]
    assert {"project.create", "environment.create", "environment.duplicate"} <= set(procedures)
    assert len({r.client_port for r in backend.requests}) == 1, procedures
