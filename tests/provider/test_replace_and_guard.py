"""Issue 23 through the SDK's real provider server, against `backend` (emulator or real server):

- ProjectDuplicate: a certain replace whose old copy holds services, force_destroy not recorded,
  is refused by the diff (reads only), naming what works; otherwise it replaces delete-first.
- ProjectGuard: its delete refuses while the project holds an environment it does not list, and
  deletes nothing either way; a change of the list is recorded without a request.
"""

from __future__ import annotations

import grpc
import pytest
from _backend import n

from dokploy_pulumi import DokployClient
from dokploy_pulumi.providers import ProjectDuplicateProvider, ProjectGuardProvider
from dokploy_pulumi.testing.provider_server import UNKNOWN, blob_of, diff_kind

P = "__provider"


@pytest.fixture(scope="session")
def duplicate_blob() -> str:
    return blob_of(ProjectDuplicateProvider())


@pytest.fixture(scope="session")
def guard_blob() -> str:
    return blob_of(ProjectGuardProvider())


@pytest.fixture
def api(backend):
    with DokployClient(backend.url, backend.api_key) as client:
        yield client


def methods(backend) -> set[str]:
    return {r.method for r in backend.requests}


def _dup(blob: str, source: str, **kw):
    base = {
        P: blob,
        "source_environment_id": source,
        "name": n("copy"),
        "description": None,
        "include_services": True,
        "selected_services": None,
        "force_destroy": False,
    }
    return {**base, **kw}


def test_project_duplicate_replace_is_refused_while_the_old_copy_holds_services(server, duplicate_blob, backend, api):
    pid = backend.create_project(n("src"))["projectId"]
    staging = api.environment.create(pid, "staging").environment_id
    web = backend.add_service(staging, "application", "web")
    one = [{"id": web, "type": "application"}]
    inputs, _ = server.check({}, _dup(duplicate_blob, staging, selected_services=one))
    id_, outs = server.create(inputs)

    news, _ = server.check(inputs, _dup(duplicate_blob, staging, selected_services=[]))
    backend.reset_requests()
    with pytest.raises(grpc.RpcError) as err:
        server.diff(id_, outs, news)
    text = err.value.details()
    # SDKs that let gRPC word the error prefix it with "Exception calling application: " (one line either way).
    text = text.removeprefix("Exception calling application: ")
    assert text.startswith(f"ProjectDuplicate '{n('copy')}' ({id_}): replace failed: changing selected_services")
    assert "application 'web'" in text and "in environment 'production'" in text
    assert "delete those services in Dokploy" in text and "force_destroy=True" in text
    assert "does not help" not in text and "Traceback" not in text
    assert methods(backend) == {"GET"} and backend.get_project(id_) is not None

    # force_destroy set in the same change: still refused, and the error says why that is not enough.
    news_forced, _ = server.check(inputs, _dup(duplicate_blob, staging, selected_services=[], force_destroy=True))
    with pytest.raises(grpc.RpcError) as err:
        server.diff(id_, outs, news_forced)
    assert "does not help: the old copy is deleted with the force_destroy it has in the state" in err.value.details()

    # Recorded first (the state's force_destroy): the replace goes ahead, delete-first.
    resp = server.diff(id_, {**outs, "force_destroy": True}, news)
    assert diff_kind(resp) == "some" and list(resp.replaces) == ["selected_services"] and resp.deleteBeforeReplace

    # Unknown at preview: no request and no refusal yet (the diff of `up` decides with the value).
    unknown, _ = server.check(inputs, _dup(duplicate_blob, staging, selected_services=UNKNOWN))
    backend.reset_requests()
    resp = server.diff(id_, outs, unknown)
    assert list(resp.replaces) == ["selected_services"] and backend.requests == []

    # The old copy gone already: nothing stands in the way.
    server.delete(id_, {**outs, "force_destroy": True})
    resp = server.diff(id_, outs, news)
    assert list(resp.replaces) == ["selected_services"] and resp.deleteBeforeReplace


def test_project_duplicate_without_services_replaces_after_two_looks(server, duplicate_blob, backend, api):
    pid = backend.create_project(n("src"))["projectId"]
    staging = api.environment.create(pid, "staging").environment_id
    web = backend.add_service(staging, "application", "web")
    inputs, _ = server.check({}, _dup(duplicate_blob, staging))  # nothing selected: nothing copied
    id_, outs = server.create(inputs)
    news, _ = server.check(
        inputs, _dup(duplicate_blob, staging, selected_services=[{"id": web, "type": "application"}])
    )
    backend.reset_requests()
    resp = server.diff(id_, outs, news)
    assert list(resp.replaces) == ["selected_services"] and resp.deleteBeforeReplace
    # The new source (can the new copy be made?) and the old copy (can it be deleted?), both before
    # the delete-first replace deletes anything.
    assert [(r.method, r.procedure) for r in backend.requests] == [("GET", "environment.one"), ("GET", "project.one")]
    # An in-place change makes no request at all.
    renamed, _ = server.check(inputs, _dup(duplicate_blob, staging, name=n("renamed")))
    backend.reset_requests()
    resp = server.diff(id_, outs, renamed)
    assert list(resp.replaces) == [] and not resp.deleteBeforeReplace and backend.requests == []
    server.delete(id_, outs)


def test_project_guard_refuses_while_the_project_holds_undeclared_environments(server, guard_blob, backend, api):
    pid = backend.create_project(n("platform"))["projectId"]
    staging = api.environment.create(pid, "staging").environment_id
    qa = api.environment.create(pid, "qa").environment_id
    props = {P: guard_blob, "project_id": pid, "environment_ids": [staging, qa]}
    inputs, failures = server.check({}, props)
    assert failures == []
    backend.reset_requests()
    id_, outs = server.create(inputs)
    assert id_ == pid and outs["environment_ids"] == sorted([staging, qa])
    assert [(r.method, r.procedure) for r in backend.requests] == [("GET", "project.one")]

    # Dropping qa from the program only records the new list.
    fewer, _ = server.check(inputs, {**props, "environment_ids": [staging]})
    backend.reset_requests()
    resp = server.diff(id_, outs, fewer)
    assert diff_kind(resp) == "some" and list(resp.replaces) == []
    outs = server.update(id_, outs, fewer)
    assert outs["environment_ids"] == [staging] and backend.requests == []

    # qa is now undeclared (so is a review environment another stack made): refused, nothing deleted.
    review = api.environment.create(pid, "pr-7").environment_id
    backend.reset_requests()
    with pytest.raises(grpc.RpcError) as err:
        server.delete(id_, outs)
    text = err.value.details()
    text = text.removeprefix("Exception calling application: ")  # older SDKs: gRPC's wording
    assert text.startswith(f"ProjectGuard '{pid}' ({pid}): delete failed: project '{n('platform')}' ({pid}) holds 2")
    assert f"'qa' ({qa})" in text and f"'pr-7' ({review})" in text and f"({staging})" not in text
    assert methods(backend) == {"GET"}
    assert {e["environmentId"] for e in backend.environments()} >= {staging, qa, review}

    # Only declared (and default) environments left: the guard goes, and it deletes nothing itself.
    for env_id in (qa, review):
        backend.delete_environment(env_id)
    backend.reset_requests()
    server.delete(id_, outs)
    assert methods(backend) == {"GET"} and backend.get_environment(staging) is not None

    # Its project gone (deleted with the stack, or by hand): refresh drops it, delete succeeds.
    backend.delete_project(pid)
    assert server.read(id_, outs)[0] == ""
    server.delete(id_, outs)


def test_project_guard_checks_its_inputs(server, guard_blob, backend):
    _, failures = server.check({}, {P: guard_blob, "project_id": "p", "environment_ids": ["", 3]})
    assert failures == [("environment_ids", "environment_ids must hold non-empty strings (environment ids)")]
    inputs, failures = server.check({}, {P: guard_blob, "project_id": "missing", "environment_ids": []})
    assert failures == []
    with pytest.raises(grpc.RpcError) as err:
        server.create(inputs)
    assert "ProjectGuard 'missing': create failed" in err.value.details()
