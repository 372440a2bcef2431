"""The env-reference guard (issue 21) through the SDK's real provider server, against `backend`
(the emulator, or a real Dokploy in the real tier: the services are made through the API,
`application.create` + `application.saveEnvironment`, which needs no Docker).

An update that removes a project's or environment's env key that a service refers to
(`${{project.KEY}}`, `${{environment.KEY}}`) is refused by the diff, so at preview and at `up`
before any write, naming the service and the key; `allow_breaking_env_references` lets it through;
removing a key nobody refers to makes no request beyond the update itself.
"""

from __future__ import annotations

import grpc
import pytest
from _backend import n

from dokploy_pulumi import DokployClient
from dokploy_pulumi.testing.provider_server import UNKNOWN, diff_kind

P = "__provider"


@pytest.fixture
def api(backend):
    with DokployClient(backend.url, backend.api_key) as client:
        yield client


def _app(backend, api, environment_id: str, name: str, env: str, build_args: str = "") -> str:
    app = backend.add_service(environment_id, "application", name)
    api.post(
        "application.saveEnvironment",
        {"applicationId": app, "env": env, "buildArgs": build_args, "buildSecrets": "", "createEnvFile": True},
    )
    return app


def _refused(server, id_, outs, news) -> str:
    with pytest.raises(grpc.RpcError) as err:
        server.diff(id_, outs, news)
    return err.value.details().removeprefix("Exception calling application: ")


def _project(blob, **kw):
    return {P: blob, "name": n("refs"), "description": None, "env": None, "force_destroy": False, **kw}


def test_project_key_an_application_refers_to_is_not_removed(server, project_blob, backend, api):
    inputs, _ = server.check({}, _project(project_blob, env={"DATABASE_URL": "pg-conn-1", "LOG": "info", "OLD": "x"}))
    id_, outs = server.create(inputs)
    production = outs["default_environment_id"]
    staging = api.environment.create(id_, n("staging")).environment_id
    _app(backend, api, production, "web", "DB=${{project.DATABASE_URL}}\nLEVEL=${{project.LOG}}")
    # In the build args, in another environment: still the project's variable.
    _app(backend, api, staging, "worker", "", build_args="URL=postgres://${{project.DATABASE_URL}}/x")

    news, _ = server.check(outs, _project(project_blob, env={"LOG": "info"}))
    backend.reset_requests()
    text = _refused(server, id_, outs, news)
    assert text.startswith(f"Project '{n('refs')}' ({id_}): update failed: removing project env key(s) DATABASE_URL")
    assert "application 'web'" in text and "application 'worker'" in text and "${{project.DATABASE_URL}}" in text
    assert "OLD" not in text.split("would break")[1]  # only the keys a service uses are named
    assert "allow_breaking_env_references=True" in text and "pg-conn-1" not in text
    # Reads only: project.one, then each application (none on releases that nest whole rows).
    assert {r.method for r in backend.requests} == {"GET"}
    assert backend.requests[0].procedure == "project.one"
    assert {r.procedure for r in backend.requests} <= {"project.one", "application.one"}
    assert "DATABASE_URL=pg-conn-1" in backend.get_project(id_)["env"]

    # Opting out in the same change lets the diff and the update through.
    allowed, _ = server.check(outs, _project(project_blob, env={"LOG": "info"}, allow_breaking_env_references=True))
    assert diff_kind(server.diff(id_, outs, allowed)) == "some"
    outs = server.update(id_, outs, allowed)
    assert outs["env"] == {"LOG": "info"} and "DATABASE_URL" not in backend.get_project(id_)["env"]
    assert outs["allow_breaking_env_references"] is True


def test_removing_a_key_nobody_refers_to_makes_no_extra_request(server, project_blob, backend, api):
    inputs, _ = server.check({}, _project(project_blob, env={"KEEP": "1", "DROP": "2"}))
    id_, outs = server.create(inputs)
    _app(backend, api, outs["default_environment_id"], "web", "H=${{project.HAND}}")

    # No key removed (one changed, one added): the diff asks nothing.
    changed, _ = server.check(outs, _project(project_blob, env={"KEEP": "one", "DROP": "2", "NEW": "3"}))
    backend.reset_requests()
    assert diff_kind(server.diff(id_, outs, changed)) == "some" and backend.requests == []

    # A key removed that nothing uses: the look finds nothing, and the update is one request.
    fewer, _ = server.check(outs, _project(project_blob, env={"KEEP": "1"}))
    backend.reset_requests()
    assert diff_kind(server.diff(id_, outs, fewer)) == "some"
    assert backend.request_count("project.one") == 1 and backend.request_count("project.update") == 0
    backend.reset_requests()
    outs = server.update(id_, outs, fewer)
    assert [r.procedure for r in backend.requests] == ["project.update"] and outs["env"] == {"KEEP": "1"}

    # HAND, which web uses, added by hand (not in the state): an update that removes a key removes it
    # too, so it counts.
    backend.set_project_fields(id_, env="KEEP=1\nHAND=by-hand\n")
    empty, _ = server.check(outs, _project(project_blob, env={}))
    text = _refused(server, id_, outs, empty)
    assert "removing project env key(s) HAND would break 1 service(s)" in text and "application 'web'" in text

    # Opted out: no look at all, whatever is removed.
    allowed, _ = server.check(outs, _project(project_blob, env={}, allow_breaking_env_references=True))
    backend.reset_requests()
    assert diff_kind(server.diff(id_, outs, allowed)) == "some" and backend.requests == []

    # Unknown at preview: no look yet (the diff of `up` decides with the value).
    assert diff_kind(server.diff(id_, outs, {**fewer, "env": UNKNOWN})) == "some" and backend.requests == []


def _environment(blob, project_id, **kw):
    return {P: blob, "project_id": project_id, "name": n("staging"), "description": None, "env": None, **kw}


def test_environment_key_refused_directly_and_through_a_project_variable(server, environment_blob, backend, api):
    pid = backend.create_project(n("refs"), env="VIA=${{environment.REGION}}")["projectId"]
    inputs, _ = server.check({}, _environment(environment_blob, pid, env={"TOKEN": "tk-secret-9", "REGION": "eu"}))
    id_, outs = server.create(inputs)
    _app(backend, api, id_, "api", "AUTH=Bearer ${{environment.TOKEN}}")
    # A project variable that refers to the environment's: Dokploy resolves it in the service.
    _app(backend, api, id_, "geo", "WHERE=${{project.VIA}}")

    news, _ = server.check(outs, _environment(environment_blob, pid, env={}))
    text = _refused(server, id_, outs, news)
    assert text.startswith(f"Environment '{n('staging')}' ({id_}): update failed: removing environment env key(s)")
    assert "application 'api'" in text and "${{environment.TOKEN}}" in text
    assert "application 'geo'" in text and "${{environment.REGION}}" in text
    assert "tk-secret-9" not in text
    assert backend.get_environment(id_)["env"].count("=") == 2  # nothing written

    allowed, _ = server.check(outs, _environment(environment_blob, pid, env={}, allow_breaking_env_references=True))
    assert diff_kind(server.diff(id_, outs, allowed)) == "some"
    outs = server.update(id_, outs, allowed)
    assert outs["env"] == {} and backend.get_environment(id_)["env"] == ""


@pytest.mark.hook("set_service_variables")
def test_every_service_type_is_read_with_the_fewest_requests(server, project_blob, backend):
    inputs, _ = server.check({}, _project(project_blob, env={"K": "v", "OTHER": "w"}))
    id_, outs = server.create(inputs)
    env_id = outs["default_environment_id"]
    kinds = ["application", "compose", "postgres", "mysql", "mariadb", "mongo", "redis"]
    kinds += ["libsql"] if backend.release.libsql else []
    for kind in kinds:
        backend.set_service_variables(backend.add_service(env_id, kind, f"{kind}-svc"), env="X=${{project.K}}")
    # Not references: another case, spaces inside the braces, a comment line, the other key.
    quiet = backend.add_service(env_id, "application", "quiet")
    backend.set_service_variables(
        quiet, env="A=${{Project.K}}\nB=${{ project.K }}\n# C=${{project.K}}\nD=${{project.OTHER}}", previewEnv=None
    )
    backend.set_service_variables(
        backend.add_service(env_id, "application", "preview"), previewBuildSecrets="S=${{project.K}}"
    )

    news, _ = server.check(outs, _project(project_blob, env={"OTHER": "w"}))
    backend.reset_requests()
    text = _refused(server, id_, outs, news)
    for kind in kinds:
        assert f"{kind} '{kind}-svc'" in text
    assert "application 'preview'" in text and "'quiet'" not in text
    # project.one, plus each service's own read where project.one's services are slim (v0.29.14+).
    services = len(kinds) + 2
    assert backend.request_count() == 1 + (services if backend.release.slim_reads else 0)
    if backend.release.slim_reads:
        assert all(backend.request_count(f"{kind}.one") >= 1 for kind in kinds)

    # A service whose variables the server could not decrypt cannot be checked: refused too, said so.
    ciphertext = "enc:v1:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    backend.set_service_variables(quiet, env=ciphertext)
    text = _refused(server, id_, outs, news)
    assert "application 'quiet'" in text and "could not decrypt" in text and ciphertext not in text
