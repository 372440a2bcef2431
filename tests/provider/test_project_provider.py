"""Project through the SDK's real dynamic-provider server, against the backend (emulator or real Dokploy) over HTTP."""

from __future__ import annotations

import json

import grpc
import pytest
from _backend import n

from dokploy_pulumi.testing.provider_server import UNKNOWN, diff_kind

P = "__provider"


def _props(blob, **kw):
    base = {P: blob, "name": n("app"), "description": None, "env": None, "force_destroy": False}
    base.update(kw)
    return base


def _create(server, blob, **kw):
    inputs, failures = server.check({}, _props(blob, **kw))
    assert failures == []
    return server.create(inputs), inputs


def assert_no_key(emu, *values):
    text = json.dumps(values, default=str)
    assert emu.api_key not in text


def test_check_failures_at_preview(server, project_blob):
    _, failures = server.check({}, _props(project_blob, name=""))
    assert ("name", "name must not be empty") in failures
    # Keys must be what Node's dotenv (Dokploy's parser) reads back: [A-Za-z0-9_.-]+.
    _, failures = server.check(
        {}, _props(project_blob, env={"GOOD": "1", "bad key": "SECRET_VAL_1", "x$y": "SECRET_VAL_2"})
    )
    assert failures and failures[0][0] == "env" and "'bad key', 'x$y'" in failures[0][1]
    assert "SECRET_VAL" not in failures[0][1]  # values may be secret: only keys are named
    _, failures = server.check({}, _props(project_blob, connection={"url": "", "api_key_env": "K"}))
    assert failures == [("connection", "connection has no url")]
    # Text is checked too: B's value (a leading space, a trailing backslash) has no dotenv spelling.
    _, failures = server.check({}, _props(project_blob, env="A=1\nB=' SECRET_VAL_3\\'\n"))
    assert failures[0][0] == "env" and "'B'" in failures[0][1] and "'A'" not in failures[0][1]
    assert "SECRET_VAL" not in failures[0][1]


def test_check_lets_unknowns_through(server, project_blob):
    _inputs, failures = server.check({}, _props(project_blob, name=UNKNOWN, env=UNKNOWN, description=UNKNOWN))
    assert failures == []


def test_check_normalises_and_stores_canonical_inputs(server, project_blob):
    inputs, failures = server.check({}, _props(project_blob, env="A=1\n# comment\nB='two words'\n"))
    assert failures == []
    assert inputs["env"] == {"A": "1", "B": "two words"}
    assert inputs["description"] == ""
    assert inputs["force_destroy"] is False


def test_create_takes_one_request_and_returns_every_output(server, project_blob, backend):
    emu = backend
    emu.reset_requests()
    (id_, outs), _ = _create(server, project_blob, description="d", env={"LOG_LEVEL": "info"})
    assert emu.request_count() == 1 and emu.request_count("project.create") == 1
    row = emu.get_project(id_)
    assert row["name"] == n("app") and row["description"] == "d" and row["env"].strip() == "LOG_LEVEL=info"
    assert outs["name"] == n("app") and outs["env"] == {"LOG_LEVEL": "info"}
    assert outs["created_at"] and outs["organization_id"]
    default = [e for e in emu.environments() if e["projectId"] == id_ and e["isDefault"]]
    assert outs["default_environment_id"] == default[0]["environmentId"]
    assert_no_key(emu, outs)


def test_diff_no_change_for_equivalent_inputs(server, project_blob):
    (id_, outs), _ = _create(server, project_blob, env={"A": "1", "B": "x y"})
    news, _ = server.check({}, _props(project_blob, description="", env="B='x y'\nA=1\n"))
    assert diff_kind(server.diff(id_, outs, news)) == "none"
    outs_null = {**outs, "description": None}
    assert diff_kind(server.diff(id_, outs_null, news)) == "none"


def test_diff_changes_in_place_and_unknowns_do_not_replace(server, project_blob):
    (id_, outs), _ = _create(server, project_blob)
    news, _ = server.check({}, _props(project_blob, description="new"))
    resp = server.diff(id_, outs, news)
    assert diff_kind(resp) == "some" and list(resp.replaces) == []
    resp = server.diff(id_, outs, {**news, "name": UNKNOWN})
    assert diff_kind(resp) == "some" and list(resp.replaces) == []
    # force_destroy alone is a (state-only) change too
    news, _ = server.check({}, _props(project_blob, force_destroy=True))
    assert diff_kind(server.diff(id_, outs, news)) == "some"


def test_update_one_request_and_clears_description(server, project_blob, backend):
    emu = backend
    (id_, outs), _ = _create(server, project_blob, description="d", env={"A": "1"})
    news, _ = server.check(outs, _props(project_blob, description=None, env={"A": "2", "B": "3"}))
    emu.reset_requests()
    new_outs = server.update(id_, outs, news)
    assert emu.request_count() == 1
    body = emu.requests[0].body
    assert body["description"] == "" and "name" not in body
    assert emu.get_project(id_)["description"] in ("", None)
    assert new_outs["env"] == {"A": "2", "B": "3"}
    assert new_outs["default_environment_id"] == outs["default_environment_id"]
    # a state-only change makes no request at all
    news2, _ = server.check(new_outs, {**news, "force_destroy": True})
    emu.reset_requests()
    outs3 = server.update(id_, new_outs, news2)
    assert emu.request_count() == 0 and outs3["force_destroy"] is True


def test_read_reports_drift_and_rewrites_inputs(server, project_blob, backend):
    emu = backend
    (id_, outs), _ = _create(server, project_blob, description="d", env={"A": "1"})
    emu.set_project_fields(id_, name=n("renamed"), description=None, env="A=1\nEXTRA=yes\n")
    emu.reset_requests()
    rid, routs, rinputs = server.read(id_, outs)
    assert emu.request_count() == 1
    assert rid == id_
    assert routs["name"] == n("renamed") and routs["description"] == "" and routs["env"] == {"A": "1", "EXTRA": "yes"}
    assert rinputs["name"] == n("renamed") and rinputs["env"] == {"A": "1", "EXTRA": "yes"}
    assert "created_at" not in rinputs  # only inputs are rewritten
    assert_no_key(emu, routs, rinputs)


def test_read_of_deleted_project_drops_it(server, project_blob, backend):
    (id_, outs), _ = _create(server, project_blob)
    backend.delete_project(id_)
    rid, routs, _ = server.read(id_, outs)
    assert rid == "" and {k: v for k, v in routs.items() if k != P} == {}


def test_delete_refuses_project_with_services_unless_force_destroy(server, project_blob, backend):
    emu = backend
    (id_, outs), _ = _create(server, project_blob)
    svc = emu.add_service(outs["default_environment_id"], type="postgres", name="db")
    with pytest.raises(grpc.RpcError) as err:
        server.delete(id_, outs)
    details = err.value.details()
    assert f"Project '{n('app')}'" in details and "delete failed" in details and "postgres 'db'" in details
    assert svc in details and "force_destroy" in details
    assert emu.get_project(id_) is not None
    emu.reset_requests()
    server.delete(id_, {**outs, "force_destroy": True})
    assert emu.request_count() == 1  # force_destroy skips the look-up
    assert emu.get_project(id_) is None


def test_delete_empty_project_two_requests_and_404_is_success(server, project_blob, backend):
    emu = backend
    (id_, outs), _ = _create(server, project_blob)
    emu.reset_requests()
    server.delete(id_, outs)
    assert emu.request_count() == 2 and emu.get_project(id_) is None
    server.delete(id_, outs)  # already gone: success
    server.delete(id_, {**outs, "force_destroy": True})


def test_adopt_existing_project_by_id(server, project_blob, backend):
    emu = backend
    row = emu.create_project(n("made in the UI"), description="old")
    pid = row["projectId"] if "projectId" in row else row["project"]["projectId"]
    before = len(emu.projects())
    (id_, outs), _ = _create(server, project_blob, name=n("adopted"), description="new", adopt_id=pid)
    assert id_ == pid and len(emu.projects()) == before
    assert emu.get_project(pid)["name"] == n("adopted") and outs["description"] == "new"
    # adopt_id is create-only: a later change is not a diff
    news, _ = server.check(outs, _props(project_blob, name=n("adopted"), description="new", adopt_id="other"))
    assert diff_kind(server.diff(id_, outs, news)) == "none"


@pytest.mark.hook("inject_fault")
def test_server_errors_name_resource_operation_and_reason(server, project_blob, backend):
    emu = backend
    (id_, outs), _ = _create(server, project_blob)
    emu.inject_fault(
        "project.update", status=500, body={"message": "database is down", "code": "INTERNAL_SERVER_ERROR"}
    )
    news, _ = server.check(outs, _props(project_blob, description="x"))
    with pytest.raises(grpc.RpcError) as err:
        server.update(id_, outs, news)
    details = err.value.details()
    assert f"Project '{n('app')}' ({id_}): update failed" in details and "database is down" in details
    assert emu.api_key not in details
