"""Environment through the SDK's real dynamic-provider server, against the backend (emulator or real Dokploy) over HTTP."""

from __future__ import annotations

import grpc
import pytest
from _backend import n

from dokploy_pulumi.testing.provider_server import UNKNOWN, diff_kind

P = "__provider"


@pytest.fixture
def project(backend):
    row = backend.create_project(n("app"))
    return row["project"]["projectId"] if "project" in row else row["projectId"]


def _props(blob, project_id, **kw):
    base = {P: blob, "project_id": project_id, "name": "staging", "description": None, "env": None}
    base.update(kw)
    return base


def _create(server, blob, project_id, **kw):
    inputs, failures = server.check({}, _props(blob, project_id, **kw))
    assert failures == []
    return server.create(inputs)


def test_create_without_env_is_one_request(server, environment_blob, project, backend):
    emu = backend
    emu.reset_requests()
    _id, outs = _create(server, environment_blob, project, description="pre-release")
    assert [r.procedure for r in emu.requests] == ["environment.create"]
    assert outs["project_id"] == project and outs["is_default"] is False and outs["created_at"]
    assert outs["description"] == "pre-release" and outs["env"] == {}


def test_env_is_set_by_a_follow_up_update(server, environment_blob, project, backend):
    emu = backend
    emu.reset_requests()
    id_, outs = _create(server, environment_blob, project, env={"DEBUG": "1"})
    assert [r.procedure for r in emu.requests] == ["environment.create", "environment.update"]
    assert "env" not in emu.requests[0].body  # create ignores env, so it is not sent there
    assert emu.get_environment(id_)["env"].strip() == "DEBUG=1"
    assert outs["env"] == {"DEBUG": "1"} and outs["created_at"]


def test_project_id_change_replaces_but_known_ids_do_not(server, environment_blob, project):
    id_, outs = _create(server, environment_blob, project)
    news, _ = server.check(outs, _props(environment_blob, "other-project"))
    resp = server.diff(id_, outs, news)
    assert diff_kind(resp) == "some" and list(resp.replaces) == ["project_id"]
    # A pending update of the Project keeps its id known: no replace, no change.
    news, _ = server.check(outs, _props(environment_blob, project))
    assert diff_kind(server.diff(id_, outs, news)) == "none"
    # An unknown project id may be another project: honestly a possible replacement.
    resp = server.diff(id_, outs, {**news, "project_id": UNKNOWN})
    assert list(resp.replaces) == ["project_id"]
    # An unknown env only updates in place.
    resp = server.diff(id_, outs, {**news, "env": UNKNOWN})
    assert diff_kind(resp) == "some" and list(resp.replaces) == []


def test_description_null_and_empty_are_equal_and_clear_sends_empty(server, environment_blob, project, backend):
    emu = backend
    id_, outs = _create(server, environment_blob, project, description="x")
    news, _ = server.check(outs, _props(environment_blob, project, description=None))
    emu.reset_requests()
    new_outs = server.update(id_, outs, news)
    # Dokploy rejects null for an environment's description; "" clears it.
    assert emu.requests[0].body == {"environmentId": id_, "description": ""}
    assert new_outs["description"] == "" and new_outs["created_at"] == outs["created_at"]
    assert diff_kind(server.diff(id_, {**new_outs, "description": None}, news)) == "none"


def test_default_environment_is_adopted_updated_and_restored(server, environment_blob, project, backend):
    emu = backend
    default_id = next(e["environmentId"] for e in emu.environments() if e["projectId"] == project and e["isDefault"])
    before = len(emu.environments())
    emu.reset_requests()
    id_, outs = _create(server, environment_blob, project, name="production", env={"LOG_LEVEL": "warn"})
    assert id_ == default_id and len(emu.environments()) == before
    assert "environment.create" not in [r.procedure for r in emu.requests]
    update_bodies = [r.body for r in emu.requests if r.procedure == "environment.update"]
    assert update_bodies and all("name" not in b for b in update_bodies)
    assert outs["is_default"] is True and emu.get_environment(id_)["env"].strip() == "LOG_LEVEL=warn"
    # updating changes description and env only, never sends name
    news, _ = server.check(outs, _props(environment_blob, project, name="production", description="prod", env={}))
    emu.reset_requests()
    outs2 = server.update(id_, outs, news)
    assert "name" not in emu.requests[0].body and outs2["description"] == "prod"
    # renaming it is refused at preview
    _, failures = server.check(outs2, _props(environment_blob, project, name="prod-2"))
    assert failures and failures[0][0] == "name" and "cannot be renamed" in failures[0][1]
    # destroy restores the defaults and forgets it
    server.delete(id_, outs2)
    row = emu.get_environment(id_)
    assert row is not None and row["description"] == "Production environment" and row["env"] == ""


def test_renaming_to_production_is_refused_at_preview(server, environment_blob, project):
    _id, outs = _create(server, environment_blob, project)
    _, failures = server.check(outs, _props(environment_blob, project, name="production"))
    assert failures and failures[0][0] == "name" and "adopts the project's default" in failures[0][1]


def test_read_drift_and_out_of_band_deletion(server, environment_blob, project, backend):
    emu = backend
    id_, outs = _create(server, environment_blob, project, env={"A": "1"})
    emu.set_environment_fields(id_, description="changed by hand", env="A=2\n")
    rid, routs, rinputs = server.read(id_, outs)
    assert rid == id_ and routs["description"] == "changed by hand" and routs["env"] == {"A": "2"}
    assert rinputs["description"] == "changed by hand" and rinputs["project_id"] == project
    assert routs["created_at"] == outs["created_at"]  # environment.one has no createdAt
    emu.delete_environment(id_)
    rid, routs, _ = server.read(id_, outs)
    assert rid == ""


def test_delete_with_services_says_what_to_do_and_404_is_success(server, environment_blob, project, backend):
    emu = backend
    id_, outs = _create(server, environment_blob, project)
    emu.add_service(id_, type="application", name="web")
    with pytest.raises(grpc.RpcError) as err:
        server.delete(id_, outs)
    details = err.value.details()
    assert "Environment 'staging'" in details and "it holds 1 service(s): application 'web'" in details
    assert "then destroy again" in details
    assert emu.get_environment(id_) is not None
    id2, outs2 = _create(server, environment_blob, project, name="temp")
    server.delete(id2, outs2)
    assert emu.get_environment(id2) is None
    server.delete(id2, outs2)  # gone already: success


def test_adopt_existing_environment_by_id(server, environment_blob, project, backend, clean_env):
    emu = backend
    id0, _ = _create(server, environment_blob, project, name="made-by-hand")
    before = len(emu.environments())
    id_, _outs = _create(server, environment_blob, project, name="managed", adopt_id=id0)
    assert id_ == id0 and len(emu.environments()) == before
    assert emu.get_environment(id0)["name"] == "managed"
    with pytest.raises(grpc.RpcError) as err:
        _create(server, environment_blob, "another-project", name="x", adopt_id=id0)
    assert "belongs to project" in err.value.details()


def test_unknown_project_on_create_is_a_clear_error(server, environment_blob, backend):
    with pytest.raises(grpc.RpcError) as err:
        _create(server, environment_blob, "no-such-project")
    details = err.value.details()
    assert "Environment 'staging': create failed" in details and "environment.create" in details
