"""EnvironmentDuplicate and ProjectDuplicate through the SDK's real provider server, against the backend."""

from __future__ import annotations

import base64

import grpc
import pulumi
import pytest
from _backend import n

from dokploy_pulumi import DokployClient, EnvironmentDuplicate, ProjectDuplicate, ProjectDuplicateArgs
from dokploy_pulumi.providers import EnvironmentDuplicateProvider, ProjectDuplicateProvider
from dokploy_pulumi.testing.provider_server import UNKNOWN, blob_of, diff_kind

P = "__provider"


@pytest.fixture(scope="session")
def environment_duplicate_blob() -> str:
    return blob_of(EnvironmentDuplicateProvider())


@pytest.fixture(scope="session")
def project_duplicate_blob() -> str:
    return blob_of(ProjectDuplicateProvider())


@pytest.fixture
def api(backend):
    with DokployClient(backend.url, backend.api_key) as client:
        yield client


@pytest.fixture
def source(backend, api):
    """A project 'app' with a 'staging' environment (description, env) holding two services."""
    emu = backend
    pid = emu.create_project(n("app"))["projectId"]
    env = api.environment.create(pid, "staging", description="pre-release")
    api.environment.update(env.environment_id, env="A=1\nB=2\n")
    services = {
        "db": emu.add_service(env.environment_id, type="postgres", name="db"),
        "web": emu.add_service(env.environment_id, type="application", name="web"),
    }
    return {"project_id": pid, "environment_id": env.environment_id, "services": services}


def procedures(emu):
    return [r.procedure for r in emu.requests]


# -- EnvironmentDuplicate ---------------------------------------------------------------------------------


def _env_props(blob, source_id, **kw):
    base = {P: blob, "source_environment_id": source_id, "name": "staging-copy", "description": None, "env": None}
    base.update(kw)
    return base


def _env_create(server, blob, source_id, **kw):
    inputs, failures = server.check({}, _env_props(blob, source_id, **kw))
    assert failures == []
    return server.create(inputs), inputs


def test_environment_duplicate_create_is_one_request_and_keeps_copied_env(
    server, environment_duplicate_blob, source, backend
):
    emu = backend
    emu.reset_requests()
    (id_, outs), inputs = _env_create(server, environment_duplicate_blob, source["environment_id"], description="copy")
    assert emu.requests[0].body == {
        "environmentId": source["environment_id"],
        "name": "staging-copy",
        "description": "copy",
    }
    if emu.release.duplicate_copies_env:
        assert procedures(emu) == ["environment.duplicate"]  # the server copied the env (v0.30.2)
    else:
        # v0.26.7 leaves the copy's env empty: the provider reads the source's and sets it.
        assert procedures(emu) == ["environment.duplicate", "environment.one", "environment.update"]
        assert emu.requests[1].query == {"environmentId": source["environment_id"]}
    row = emu.get_environment(id_)
    assert row["projectId"] == source["project_id"] and row["env"] == "A=1\nB=2\n"  # every release
    assert outs["project_id"] == source["project_id"] and outs["is_default"] is False and outs["created_at"]
    assert outs["name"] == "staging-copy" and outs["description"] == "copy"
    # env was not declared: the copy's variables stay and are not tracked, so nothing shows a diff.
    assert outs["env"] == {}
    news, _ = server.check(inputs, _env_props(environment_duplicate_blob, source["environment_id"], description="copy"))
    assert diff_kind(server.diff(id_, outs, news)) == "none"


def test_environment_duplicate_declared_env_and_description(server, environment_duplicate_blob, source, backend):
    emu = backend
    emu.reset_requests()
    # No description declared: the server copies the source's, so one update makes it "".
    (id_, outs), _ = _env_create(server, environment_duplicate_blob, source["environment_id"], env={"A": "9"})
    assert procedures(emu) == ["environment.duplicate", "environment.update"]
    assert emu.requests[1].body == {"environmentId": id_, "description": "", "env": "A=9\n"}
    assert emu.get_environment(id_)["env"] == "A=9\n" and outs["env"] == {"A": "9"} and outs["description"] == ""
    # Declared env equal to the copied one, and the description given: no follow-up update
    # (v0.26.7 copies no env: there the declared one is set by one update).
    emu.reset_requests()
    (id2, outs2), _ = _env_create(
        server, environment_duplicate_blob, source["environment_id"], name="c2", description="d", env="B=2\nA=1\n"
    )
    assert outs2["env"] == {"A": "1", "B": "2"}
    if emu.release.duplicate_copies_env:
        assert procedures(emu) == ["environment.duplicate"]
    else:
        assert procedures(emu) == ["environment.duplicate", "environment.update"]
        body = emu.requests[1].body
        assert set(body) == {"environmentId", "env"} and body["environmentId"] == id2
        assert sorted(body["env"].splitlines()) == ["A=1", "B=2"]  # in whichever order the engine sent the keys
    assert sorted(emu.get_environment(id2)["env"].splitlines()) == ["A=1", "B=2"]


@pytest.mark.hook("inject_fault")
def test_environment_duplicate_failed_follow_up_removes_the_copy(server, environment_duplicate_blob, source, backend):
    emu = backend
    before = {e["environmentId"] for e in emu.environments()}
    emu.inject_fault("environment.update", status=500, body={"message": "boom", "code": "INTERNAL_SERVER_ERROR"})
    with pytest.raises(grpc.RpcError) as err:
        _env_create(server, environment_duplicate_blob, source["environment_id"], env={"A": "9"})
    assert "boom" in err.value.details() and "removed again" in err.value.details()
    assert {e["environmentId"] for e in emu.environments()} == before  # no orphan copy


def test_environment_duplicate_updates_in_place_and_source_change_replaces(
    server, environment_duplicate_blob, source, backend, api
):
    emu = backend
    blob, src = environment_duplicate_blob, source["environment_id"]
    (id_, outs), _ = _env_create(server, blob, src, description="copy")
    news, _ = server.check(outs, _env_props(blob, src, name="renamed", description="", env={"X": "1"}))
    resp = server.diff(id_, outs, news)
    assert diff_kind(resp) == "some" and list(resp.replaces) == []
    emu.reset_requests()
    outs2 = server.update(id_, outs, news)
    assert procedures(emu) == ["environment.update"]
    assert emu.requests[0].body == {"environmentId": id_, "name": "renamed", "description": "", "env": "X=1\n"}
    assert outs2["name"] == "renamed" and outs2["env"] == {"X": "1"} and outs2["created_at"] == outs["created_at"]
    # env no longer declared: nothing is sent, the variables stay as they are.
    news2, _ = server.check(outs2, _env_props(blob, src, name="renamed", description=""))
    emu.reset_requests()
    outs3 = server.update(id_, outs2, news2)
    assert emu.request_count() == 0 and emu.get_environment(id_)["env"] == "X=1\n" and outs3["env"] == {}
    # Another source replaces; an unknown source may be another one.
    other = api.environment.create(source["project_id"], "qa").environment_id
    news3, _ = server.check(outs3, _env_props(blob, other, name="renamed", description=""))
    resp = server.diff(id_, outs3, news3)
    assert list(resp.replaces) == ["source_environment_id"]
    assert list(server.diff(id_, outs3, {**news2, "source_environment_id": UNKNOWN}).replaces) == [
        "source_environment_id"
    ]


def test_environment_duplicate_never_named_production(server, environment_duplicate_blob, source):
    blob, src = environment_duplicate_blob, source["environment_id"]
    _, failures = server.check({}, _env_props(blob, src, name="production"))
    assert failures and failures[0][0] == "name" and "'production'" in failures[0][1]
    (_id, _outs), inputs = _env_create(server, blob, src)
    _, failures = server.check(inputs, _env_props(blob, src, name="production"))
    assert failures and failures[0][0] == "name"
    assert server.check({}, _env_props(blob, src, name=UNKNOWN))[1] == []


def test_environment_duplicate_same_name_is_a_distinct_copy(server, environment_duplicate_blob, source, backend):
    """Names are not unique: a copy named like its source is tracked, and deleted, by its own id."""
    emu = backend
    (id_, outs), _ = _env_create(server, environment_duplicate_blob, source["environment_id"], name="staging")
    assert id_ != source["environment_id"]
    same = [e for e in emu.environments() if e["projectId"] == source["project_id"] and e["name"] == "staging"]
    assert len(same) == 2
    server.delete(id_, outs)
    assert emu.get_environment(id_) is None and emu.get_environment(source["environment_id"]) is not None


def test_environment_duplicate_read_drift_and_out_of_band_deletion(server, environment_duplicate_blob, source, backend):
    emu = backend
    (id_, outs), _ = _env_create(server, environment_duplicate_blob, source["environment_id"], env={"A": "1"})
    emu.set_environment_fields(id_, name="by-hand", env="A=2\n")
    emu.reset_requests()
    rid, routs, rinputs = server.read(id_, outs)
    assert procedures(emu) == ["environment.one"]
    assert rid == id_ and routs["name"] == "by-hand" and routs["env"] == {"A": "2"}
    assert rinputs["name"] == "by-hand" and rinputs["source_environment_id"] == source["environment_id"]
    assert routs["created_at"] == outs["created_at"] and routs["project_id"] == source["project_id"]
    emu.delete_environment(id_)
    rid, _, _ = server.read(id_, outs)
    assert rid == ""


def test_environment_duplicate_delete_services_refused_and_404_success(
    server, environment_duplicate_blob, source, backend
):
    emu = backend
    (id_, outs), _ = _env_create(server, environment_duplicate_blob, source["environment_id"])
    emu.add_service(id_, type="redis", name="cache")
    with pytest.raises(grpc.RpcError) as err:
        server.delete(id_, outs)
    details = err.value.details()
    assert f"EnvironmentDuplicate 'staging-copy' ({id_}): delete failed" in details
    assert "it holds 1 service(s): redis 'cache'" in details and "then destroy again" in details
    emu.delete_environment(id_)
    emu.reset_requests()
    server.delete(id_, outs)  # already gone: success, found by the look before removing
    assert procedures(emu) == ["environment.one"]


def test_environment_duplicate_unknown_source(server, environment_duplicate_blob, source, backend):
    emu = backend
    before = len(emu.environments())
    with pytest.raises(grpc.RpcError) as err:
        _env_create(server, environment_duplicate_blob, "no-such-environment")
    details = err.value.details()
    assert "EnvironmentDuplicate 'staging-copy': create failed" in details and "environment.duplicate" in details
    assert "Environment not found" in details
    assert len(emu.environments()) == before


@pytest.mark.hook("inject_fault")
def test_environment_duplicate_server_errors(server, environment_duplicate_blob, source, backend):
    emu = backend
    before = len(emu.environments())
    emu.inject_fault(
        "environment.duplicate", status=500, body={"message": "disk full", "code": "INTERNAL_SERVER_ERROR"}
    )
    with pytest.raises(grpc.RpcError) as err:
        _env_create(server, environment_duplicate_blob, source["environment_id"])
    assert "create failed" in err.value.details() and "disk full" in err.value.details()
    assert emu.api_key not in err.value.details()
    assert len(emu.environments()) == before


# -- ProjectDuplicate ----------------------------------------------------------------------------------------


def _proj_props(blob, source_id, **kw):
    base = {
        P: blob,
        "source_environment_id": source_id,
        "name": n("app-copy"),
        "description": None,
        "include_services": True,
        "selected_services": None,
        "force_destroy": False,
    }
    base.update(kw)
    return base


def _proj_create(server, blob, source_id, **kw):
    inputs, failures = server.check({}, _proj_props(blob, source_id, **kw))
    assert failures == []
    return server.create(inputs), inputs


def test_project_duplicate_copies_selected_services_into_a_new_project(server, project_duplicate_blob, source, backend):
    emu = backend
    db = source["services"]["db"]
    before = len(emu.projects())
    emu.reset_requests()
    (id_, outs), _ = _proj_create(
        server,
        project_duplicate_blob,
        source["environment_id"],
        description="a copy",
        selected_services=[{"id": db, "type": "postgres"}],
    )
    assert procedures(emu) == ["environment.one", "project.duplicate", "project.one"]
    assert emu.requests[1].body == {
        "sourceEnvironmentId": source["environment_id"],
        "name": n("app-copy"),
        "description": "a copy",
        "includeServices": True,
        "selectedServices": [{"id": db, "type": "postgres"}],
        "duplicateInSameProject": False,
    }
    assert len(emu.projects()) == before + 1
    row = emu.get_project(id_)
    assert row["name"] == n("app-copy") and row["description"] == "a copy"
    assert outs["project_id"] == id_ and outs["created_at"] == row["createdAt"]
    assert outs["organization_id"] == emu.organization_id
    default = [e for e in emu.environments() if e["projectId"] == id_]
    assert (
        len(default) == 1 and default[0]["isDefault"] and outs["default_environment_id"] == default[0]["environmentId"]
    )
    assert "env" not in outs  # the project's env is neither copied nor managed here


def test_project_duplicate_check_validates_selected_services(server, project_duplicate_blob, source):
    blob, src = project_duplicate_blob, source["environment_id"]

    def failure(selected):
        _, failures = server.check({}, _proj_props(blob, src, selected_services=selected))
        return failures

    assert failure([{"id": "", "type": "postgres"}]) == [
        ("selected_services", "selected_services[0].id must be a non-empty string")
    ]
    bad_type = failure([{"id": "x", "type": "postgres"}, {"id": "y", "type": "database"}])
    assert (
        bad_type[0][0] == "selected_services"
        and "selected_services[1].type must be one of application, compose" in bad_type[0][1]
    )
    assert "unknown keys kind" in failure([{"id": "x", "type": "redis", "kind": "redis"}])[0][1]
    assert "must be a dict" in failure(["x"])[0][1]
    assert failure([{"id": UNKNOWN, "type": "mysql"}]) == []
    assert failure(UNKNOWN) == []
    assert server.check({}, _proj_props(blob, src, name=""))[1] == [("name", "name must not be empty")]


def test_project_duplicate_diff_replace_and_update_in_place(server, project_duplicate_blob, source, backend):
    emu = backend
    blob, src = project_duplicate_blob, source["environment_id"]
    selected = [{"id": source["services"]["web"], "type": "application"}]
    (id_, outs), inputs = _proj_create(server, blob, src, selected_services=selected)
    same, _ = server.check(inputs, _proj_props(blob, src, selected_services=selected, description=""))
    assert diff_kind(server.diff(id_, outs, same)) == "none"
    # The copy holds a service: with force_destroy recorded its replace goes ahead (delete-first);
    # without it the diff refuses (tests/provider/test_replace_and_guard.py).
    forced = {**outs, "force_destroy": True}
    for change in (
        {"include_services": False},
        {"selected_services": []},
        {"selected_services": UNKNOWN},
        # Another source that exists (one that does not is refused: the test below).
        {"source_environment_id": outs["default_environment_id"], "include_services": False},
    ):
        news, _ = server.check(inputs, _proj_props(blob, src, **{"selected_services": selected, **change}))
        resp = server.diff(id_, forced, news)
        assert diff_kind(resp) == "some" and list(resp.replaces) == list(change), change
        assert resp.deleteBeforeReplace
    news, _ = server.check(
        inputs, _proj_props(blob, src, selected_services=selected, name=n("renamed"), description="d")
    )
    resp = server.diff(id_, outs, news)
    assert diff_kind(resp) == "some" and list(resp.replaces) == []
    emu.reset_requests()
    outs2 = server.update(id_, outs, news)
    assert procedures(emu) == ["project.update"]
    assert emu.requests[0].body == {"projectId": id_, "name": n("renamed"), "description": "d"}
    assert outs2["name"] == n("renamed") and outs2["project_id"] == id_
    assert outs2["default_environment_id"] == outs["default_environment_id"] and "env" not in outs2


def test_project_duplicate_delete_has_projects_force_destroy_protection(
    server, project_duplicate_blob, source, backend
):
    emu = backend
    selected = [{"id": source["services"]["db"], "type": "postgres"}]
    (id_, outs), _ = _proj_create(server, project_duplicate_blob, source["environment_id"], selected_services=selected)
    with pytest.raises(grpc.RpcError) as err:
        server.delete(id_, outs)
    details = err.value.details()
    assert f"ProjectDuplicate '{n('app-copy')}' ({id_}): delete failed" in details
    assert "postgres 'db'" in details and "force_destroy" in details
    assert emu.get_project(id_) is not None
    emu.reset_requests()
    server.delete(id_, {**outs, "force_destroy": True})
    assert procedures(emu) == ["project.remove"] and emu.get_project(id_) is None
    server.delete(id_, outs)  # already gone: success
    # Without services it goes after one look.
    (id2, outs2), _ = _proj_create(server, project_duplicate_blob, source["environment_id"])
    emu.reset_requests()
    server.delete(id2, outs2)
    assert procedures(emu) == ["project.one", "project.remove"] and emu.get_project(id2) is None
    assert emu.get_project(source["project_id"]) is not None  # the source is untouched


def test_project_duplicate_same_name_is_a_distinct_project(server, project_duplicate_blob, source, backend):
    emu = backend
    (id_, outs), _ = _proj_create(server, project_duplicate_blob, source["environment_id"], name=n("app"))
    assert id_ != source["project_id"] and len([p for p in emu.projects() if p["name"] == n("app")]) == 2
    server.delete(id_, outs)
    assert emu.get_project(source["project_id"]) is not None


def test_project_duplicate_read_drift_and_out_of_band_deletion(server, project_duplicate_blob, source, backend):
    emu = backend
    (id_, outs), _ = _proj_create(server, project_duplicate_blob, source["environment_id"])
    emu.set_project_fields(id_, name=n("by-hand"), env="SECRET=x\n")
    emu.reset_requests()
    rid, routs, rinputs = server.read(id_, outs)
    assert procedures(emu) == ["project.one"]
    assert rid == id_ and routs["name"] == n("by-hand") and rinputs["name"] == n("by-hand")
    assert routs["project_id"] == id_ and routs["default_environment_id"] == outs["default_environment_id"]
    assert "env" not in routs and rinputs["source_environment_id"] == source["environment_id"]
    emu.delete_project(id_)
    assert server.read(id_, outs)[0] == ""


def test_project_duplicate_unknown_source_or_service_creates_nothing(server, project_duplicate_blob, source, backend):
    emu = backend
    before = len(emu.projects())
    emu.reset_requests()
    with pytest.raises(grpc.RpcError) as err:
        _proj_create(server, project_duplicate_blob, "no-such-environment")
    details = err.value.details()
    assert f"ProjectDuplicate '{n('app-copy')}': create failed" in details and "Environment not found" in details
    with pytest.raises(grpc.RpcError) as err:
        _proj_create(
            server,
            project_duplicate_blob,
            source["environment_id"],
            selected_services=[{"id": source["services"]["db"], "type": "mysql"}, {"id": "gone", "type": "redis"}],
        )
    details = err.value.details()
    assert f"holds no mysql {source['services']['db']}, redis gone" in details
    # project.duplicate creates the project before copying: it must not even be called.
    assert "project.duplicate" not in procedures(emu) and len(emu.projects()) == before


@pytest.mark.hook("inject_fault")
def test_project_duplicate_server_errors(server, project_duplicate_blob, source, backend):
    emu = backend
    emu.inject_fault(
        "project.duplicate",
        status=400,
        body={"message": "Error duplicating the project: disk full", "code": "BAD_REQUEST"},
    )
    with pytest.raises(grpc.RpcError) as err:
        _proj_create(server, project_duplicate_blob, source["environment_id"])
    details = err.value.details()
    assert "create failed" in details and "Error duplicating the project: disk full" in details
    assert emu.api_key not in details
    # The project exists once project.duplicate answered: a failing read afterwards must not lose it.
    emu.inject_fault("project.one", status=500, body={"message": "boom", "code": "INTERNAL_SERVER_ERROR"})
    (id_, outs), _ = _proj_create(server, project_duplicate_blob, source["environment_id"], description="d")
    assert emu.get_project(id_) is not None and outs["name"] == n("app-copy") and outs["description"] == "d"
    assert outs["organization_id"] == emu.organization_id and outs["default_environment_id"]
    _rid, routs, _ = server.read(id_, outs)
    assert routs["created_at"] == emu.get_project(id_)["createdAt"]


# -- the public classes ---------------------------------------------------------------------------------------


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.created = []

    def new_resource(self, args):
        self.created.append(args)
        outs = dict(args.inputs)
        outs.pop(P, None)
        return [f"{args.name}-id", outs]

    def call(self, args):
        return {}


def test_public_classes_tokens_defaults_and_secret_env():
    import asyncio

    asyncio.set_event_loop(asyncio.new_event_loop())
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)

    @pulumi.runtime.test
    def program():
        env_copy = EnvironmentDuplicate("copy", source_environment_id="env-1", name="qa", env={"K": "v"})
        proj_copy = ProjectDuplicate(
            "proj",
            ProjectDuplicateArgs(
                source_environment_id="env-1", name="p", selected_services=[{"id": "s", "type": "redis"}]
            ),
        )

        def check(values):
            env_secret, name_secret = values
            by_name = {r.name: r for r in mocks.created}
            assert by_name["copy"].typ == "pulumi-python:dynamic/dokploy:EnvironmentDuplicate"
            assert by_name["proj"].typ == "pulumi-python:dynamic/dokploy:ProjectDuplicate"
            assert by_name["proj"].inputs["include_services"] is True  # the server's default
            assert by_name["proj"].inputs["selected_services"] == [{"id": "s", "type": "redis"}]
            assert env_secret and not name_secret
            for r in mocks.created:
                raw = base64.b64decode(r.inputs[P])
                assert b"dokploy_pulumi.providers" in raw and len(r.inputs[P]) < 200

        return pulumi.Output.all(
            pulumi.Output.from_input(env_copy.env.is_secret()), pulumi.Output.from_input(proj_copy.name.is_secret())
        ).apply(check)

    program()


def test_project_duplicate_forced_replace_to_a_missing_source_is_refused_before_the_old_copy_goes(
    server, project_duplicate_blob, source, backend
):
    # force_destroy recorded, then `source_environment_id` changed to an id that does not exist (a
    # typo) or `selected_services` to a service the source does not hold: the replace is delete-first,
    # so going ahead would delete the old copy with its services and only then fail to create the
    # new one. The diff must refuse, and the old copy stays with its services.
    emu = backend
    blob, src = project_duplicate_blob, source["environment_id"]
    selected = [{"id": source["services"]["web"], "type": "application"}]
    (id_, outs), inputs = _proj_create(server, blob, src, selected_services=selected, force_destroy=True)
    for change, says in (
        ({"source_environment_id": "no-such-environment"}, "Environment not found"),
        ({"selected_services": [{"id": "gone", "type": "redis"}]}, "holds no redis gone"),
    ):
        news, _ = server.check(
            inputs, _proj_props(blob, src, **{"selected_services": selected, "force_destroy": True, **change})
        )
        with pytest.raises(grpc.RpcError) as err:
            server.diff(id_, outs, news)
        assert says in err.value.details(), change
    assert emu.get_project(id_) is not None
    # A source that exists still replaces (delete-first) as before.
    news, _ = server.check(inputs, _proj_props(blob, src, selected_services=[], force_destroy=True))
    resp = server.diff(id_, outs, news)
    assert list(resp.replaces) == ["selected_services"] and resp.deleteBeforeReplace


@pytest.mark.hook("store_undecryptable_env")
@pytest.mark.parametrize("declared_env", [None, {"A": "9"}])
def test_environment_duplicate_of_an_undecryptable_source_leaves_no_copy(
    server, environment_duplicate_blob, source, backend, declared_env
):
    """environment.duplicate copies the source's env as stored (v0.30.2: the ciphertext it cannot
    decrypt, which it answers back as it is), so the copy's env is undecryptable too. The create
    fails with the named error, and the copy it had made is removed again, not left in Dokploy
    outside state; a declared env is not written over a value nobody could read."""
    emu = backend
    if not emu.release.env_encrypted:
        pytest.skip(f"{emu.version} does not encrypt env at rest")  # the hook refuses there
    emu.store_undecryptable_env("environment", source["environment_id"])
    before = {e["environmentId"] for e in emu.environments()}
    with pytest.raises(grpc.RpcError) as err:
        _env_create(server, environment_duplicate_blob, source["environment_id"], env=declared_env)
    assert "Dokploy could not decrypt the env of environment" in err.value.details()
    assert {e["environmentId"] for e in emu.environments()} == before  # no orphan copy
