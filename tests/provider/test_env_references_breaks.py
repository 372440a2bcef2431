"""Break-it pass on the env-reference guard (issue 21): the paths beside a plain update that also
write a project's or environment's env — adoption (adopt_id, the default environment), an
EnvironmentDuplicate's update — and an opt-out that is unknown at preview, through the SDK's real
provider server against `backend` (no emulator hook: they run in the real tier too)."""

from __future__ import annotations

import grpc
import pytest
from _backend import n

from dokploy_pulumi import DokployClient
from dokploy_pulumi.providers import EnvironmentDuplicateProvider
from dokploy_pulumi.testing.provider_server import UNKNOWN, blob_of, diff_kind

P = "__provider"


@pytest.fixture
def api(backend):
    with DokployClient(backend.url, backend.api_key) as client:
        yield client


def _app(backend, api, environment_id: str, name: str, env: str) -> str:
    app = backend.add_service(environment_id, "application", name)
    api.post(
        "application.saveEnvironment",
        {"applicationId": app, "env": env, "buildArgs": "", "buildSecrets": "", "createEnvFile": True},
    )
    return app


def _details(err: pytest.ExceptionInfo) -> str:
    return err.value.details().removeprefix("Exception calling application: ")


def _project(blob, **kw):
    return {P: blob, "name": n("refs"), "description": None, "env": None, "force_destroy": False, **kw}


def _environment(blob, project_id, **kw):
    return {P: blob, "project_id": project_id, "name": n("staging"), "description": None, "env": None, **kw}


def test_adopting_a_project_does_not_remove_a_referenced_key(server, project_blob, backend, api):
    made = backend.create_project(n("refs"), env="DATABASE_URL=pg\nLOG=info")
    pid = made["projectId"]
    production = api.project.one(pid).default_environment()
    assert production is not None
    _app(backend, api, production.environment_id, "web", "DB=${{project.DATABASE_URL}}")

    inputs, _ = server.check({}, _project(project_blob, adopt_id=pid, env={"LOG": "info"}))
    with pytest.raises(grpc.RpcError) as err:
        server.create(inputs)
    text = _details(err)
    assert "removing project env key(s) DATABASE_URL" in text and "application 'web'" in text
    assert "DATABASE_URL=pg" in backend.get_project(pid)["env"]  # nothing written

    allowed, _ = server.check({}, _project(project_blob, adopt_id=pid, env={"LOG": "info"}, **_OPT_OUT))
    _, outs = server.create(allowed)
    assert outs["env"] == {"LOG": "info"} and "DATABASE_URL" not in backend.get_project(pid)["env"]


_OPT_OUT = {"allow_breaking_env_references": True}


def test_adopting_the_default_environment_does_not_remove_a_referenced_key(server, environment_blob, backend, api):
    # adopt_id takes the same path (`converge`): the default environment, the common case, stands for both.
    pid = backend.create_project(n("refs"))["projectId"]
    row = api.project.one(pid).default_environment()
    assert row is not None
    env_id, kw = row.environment_id, {"name": "production"}
    backend.set_environment_fields(env_id, env="TOKEN=tk\nREGION=eu")
    _app(backend, api, env_id, "api", "AUTH=${{environment.TOKEN}}")

    inputs, _ = server.check({}, _environment(environment_blob, pid, env={"REGION": "eu"}, **kw))
    with pytest.raises(grpc.RpcError) as err:
        server.create(inputs)
    text = _details(err)
    assert "removing environment env key(s) TOKEN" in text and "application 'api'" in text
    assert "TOKEN=tk" in backend.get_environment(env_id)["env"]

    allowed, _ = server.check({}, _environment(environment_blob, pid, env={"REGION": "eu"}, **kw, **_OPT_OUT))
    _, outs = server.create(allowed)
    assert outs["env"] == {"REGION": "eu"} and "TOKEN" not in backend.get_environment(env_id)["env"]


def test_environment_duplicate_update_does_not_remove_a_referenced_key(server, backend, api):
    pid = backend.create_project(n("refs"))["projectId"]
    source = api.environment.create(pid, n("src")).environment_id
    blob = blob_of(EnvironmentDuplicateProvider())
    dup = {P: blob, "source_environment_id": source, "name": n("copy"), "description": None}
    inputs, _ = server.check({}, {**dup, "env": {"TOKEN": "tk", "REGION": "eu"}})
    id_, outs = server.create(inputs)
    _app(backend, api, id_, "api", "AUTH=${{environment.TOKEN}}")

    news, _ = server.check(outs, {**dup, "env": {"REGION": "eu"}})
    with pytest.raises(grpc.RpcError) as err:
        server.diff(id_, outs, news)
    assert "removing environment env key(s) TOKEN" in _details(err)
    assert "TOKEN=tk" in backend.get_environment(id_)["env"]

    # No longer declaring env leaves the variables alone: nothing to guard, no request.
    undeclared, _ = server.check(outs, {**dup, "env": None})
    backend.reset_requests()
    server.diff(id_, outs, undeclared)
    assert backend.requests == []

    allowed, _ = server.check(outs, {**dup, "env": {"REGION": "eu"}, **_OPT_OUT})
    assert diff_kind(server.diff(id_, outs, allowed)) == "some"
    outs = server.update(id_, outs, allowed)
    assert "TOKEN" not in backend.get_environment(id_)["env"]


def test_an_opt_out_unknown_at_preview_is_not_refused_yet(server, project_blob, backend, api):
    inputs, _ = server.check({}, _project(project_blob, env={"DATABASE_URL": "pg", "LOG": "info"}))
    id_, outs = server.create(inputs)
    news, _ = server.check(outs, _project(project_blob, env={"LOG": "info"}))
    # The opt-out comes from another resource's output: the diff of `up` decides, with its value
    # (a look now would be a request, and a refusal if a service used the key).
    backend.reset_requests()
    assert diff_kind(server.diff(id_, outs, {**news, "allow_breaking_env_references": UNKNOWN})) == "some"
    assert backend.requests == []


@pytest.mark.hook("inject_fault")
def test_a_service_deleted_while_the_guard_reads_is_not_a_failure(server, project_blob, backend, api):
    inputs, _ = server.check({}, _project(project_blob, env={"DATABASE_URL": "pg", "LOG": "info"}))
    id_, outs = server.create(inputs)
    production = outs["default_environment_id"]
    _app(backend, api, production, "web", "DB=${{project.DATABASE_URL}}")
    _app(backend, api, production, "gone", "DB=${{project.DATABASE_URL}}")
    # One service's own read answers its NOT_FOUND (deleted between project.one and its read; on
    # releases that nest whole rows there is no such read, and both are named).
    gone = {"message": "Application not found", "code": "NOT_FOUND"}
    gone["data"] = {"code": "NOT_FOUND", "httpStatus": 404, "path": "application.one"}
    backend.inject_fault("application.one", status=404, body=gone)
    news, _ = server.check(outs, _project(project_blob, env={"LOG": "info"}))
    with pytest.raises(grpc.RpcError) as err:
        server.diff(id_, outs, news)
    text = _details(err)
    count = 1 if backend.release.slim_reads else 2
    assert f"removing project env key(s) DATABASE_URL would break {count} service(s)" in text, text
