"""`Tag` and `Project.tags` through the SDK's provider server (as `pulumi up` drives them).

Against the emulator (v0.30.2 unless a test sets another release) and, in the real tier, against the
real server: tests that need tags assert the refusal instead where the server's release has none.
Tags outlive projects, so each test deletes the tags it made (the backend's cleanup removes projects).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from _backend import AGAINST_REAL, n

from dokploy_pulumi import DokployClient, DokployError
from dokploy_pulumi._releases import since
from dokploy_pulumi.providers import TagProvider
from dokploy_pulumi.testing.provider_server import blob_of, diff_kind

P = "__provider"
TAGS_SINCE = since("tags")


@pytest.fixture(scope="session")
def tag_blob() -> str:
    return blob_of(TagProvider())


@pytest.fixture
def api(backend) -> Iterator[DokployClient]:
    """A client straight to the server, for edits made by hand (not the provider's requests)."""
    with DokployClient(getattr(backend, "upstream", backend.url), backend.api_key, timeout=120.0) as client:
        yield client


@pytest.fixture
def tags_made(api) -> Iterator[list[str]]:
    """Ids of tags the test made: removed when it ends."""
    made: list[str] = []
    yield made
    for tag_id in made:
        with contextlib.suppress(DokployError):
            api.tag.remove(tag_id)


def _tag(server: Any, blob: str, made: list[str], name: str, color: Any = None) -> tuple[str, dict[str, Any]]:
    inputs, failures = server.check({}, {P: blob, "name": name, "color": color})
    assert failures == []
    id_, outs = server.create(inputs)
    made.append(id_)
    return id_, outs


def _project_props(blob: str, name: str, tags: Any) -> dict[str, Any]:
    return {P: blob, "name": name, "description": None, "env": None, "tags": tags}


def _server_tags(api: DokployClient, project_id: str) -> list[str]:
    return api.project.one(project_id).tag_ids() or []


def _tag_requests(backend: Any) -> list[str]:
    return [r.procedure for r in backend.requests if r.procedure.startswith("tag.")]


def _needs_tags(backend: Any) -> bool:
    """False on a release without tags (the real tier's older servers): the refusal test covers those."""
    return bool(backend.release.tags)


def test_tag_create_read_update_conflict_delete(server, tag_blob, backend, tags_made):
    if not _needs_tags(backend):
        return _assert_tag_refused(server, tag_blob, backend)
    name = n("blue")
    id_, outs = _tag(server, tag_blob, tags_made, name, "#3b82f6")
    assert outs["name"] == name and outs["color"] == "#3b82f6" and outs["organization_id"]
    assert server.read(id_, outs)[1]["color"] == "#3b82f6"

    # A second tag of that name: the server's CONFLICT, explained with the holder's id (a Tag of this
    # stack: never to be adopted by another; a tag made by hand is in test_tag_break.py).
    inputs, _ = server.check({}, {P: tag_blob, "name": name, "color": None})
    with pytest.raises(grpc.RpcError) as info:
        server.create(inputs)
    message = info.value.details()
    assert "already exists" in message and id_ in message and "another resource of this stack" in message

    # Renamed and recolored in place; a removed color clears it.
    news, _ = server.check(outs, {P: tag_blob, "name": n("navy"), "color": None})
    assert diff_kind(server.diff(id_, outs, news)) == "some"
    backend.reset_requests()
    outs2 = server.update(id_, outs, news)
    assert outs2["name"] == n("navy") and outs2["color"] == ""
    assert _tag_requests(backend) == ["tag.update"]

    # Adopted by id: the same tag, brought to the declared values.
    adopt, _ = server.check({}, {P: tag_blob, "name": n("navy"), "color": "#000080", "adopt_id": id_})
    assert server.create(adopt)[0] == id_

    server.delete(id_, outs2)
    assert server.read(id_, outs2)[0] == ""  # gone: the engine drops it
    server.delete(id_, outs2)  # already gone is no error


def test_project_tags_are_one_authoritative_set(server, tag_blob, project_blob, backend, api, tags_made):
    if not _needs_tags(backend):
        return _assert_project_tags_refused(server, project_blob, backend)
    a, _ = _tag(server, tag_blob, tags_made, n("a"))
    b, _ = _tag(server, tag_blob, tags_made, n("b"))

    inputs, failures = server.check({}, _project_props(project_blob, n("tagged"), [b, a, b]))
    assert failures == [] and inputs["tags"] == sorted({a, b})
    backend.reset_requests()
    pid, outs = server.create(inputs)
    assert _tag_requests(backend) == ["tag.bulkAssign"]
    assert _server_tags(api, pid) == sorted([a, b]) and outs["tags"] == sorted([a, b])

    # A tag removed by hand is drift: read shows it, diff plans an update, update restores it.
    api.tag.remove_from_project(pid, a)
    _, read_outs, read_inputs = server.read(pid, outs)
    assert read_outs["tags"] == [b] and read_inputs["tags"] == [b]
    assert diff_kind(server.diff(pid, read_outs, inputs)) == "some"
    backend.reset_requests()
    server.update(pid, read_outs, inputs)
    assert _tag_requests(backend) == ["tag.bulkAssign"]
    assert backend.request_count("project.update") == 0  # only the set changed
    assert _server_tags(api, pid) == sorted([a, b])

    # Reordering is no change; [] removes them all.
    same, _ = server.check(outs, _project_props(project_blob, n("tagged"), [a, b]))
    assert diff_kind(server.diff(pid, outs, same)) == "none"
    none, _ = server.check(outs, _project_props(project_blob, n("tagged"), []))
    server.update(pid, outs, none)
    assert _server_tags(api, pid) == []


def test_project_without_tags_never_touches_them(server, tag_blob, project_blob, backend, api, tags_made):
    inputs, _ = server.check({}, _project_props(project_blob, n("untagged"), None))
    backend.reset_requests()
    pid, outs = server.create(inputs)
    assert outs.get("tags") is None
    if backend.release.tags:
        a, _ = _tag(server, tag_blob, tags_made, n("hand"))
        api.tag.assign_to_project(pid, a)
        _, read_outs, _ = server.read(pid, outs)
        assert read_outs.get("tags") is None
        assert diff_kind(server.diff(pid, read_outs, inputs)) == "none"
        assert _server_tags(api, pid) == [a]
    server.read(pid, outs)
    assert [p for p in _tag_requests(backend) if p != "tag.create" and p != "tag.assignToProject"] == []
    assert backend.request_count("settings.getDokployVersion") == 0


@pytest.mark.skipif(AGAINST_REAL, reason="sets the emulator's release (the real tier covers old servers itself)")
def test_tags_on_an_old_release_are_refused_naming_it(server, tag_blob, project_blob, backend):
    backend.version = "v0.26.7"
    _assert_tag_refused(server, tag_blob, backend)
    _assert_project_tags_refused(server, project_blob, backend)


def _assert_tag_refused(server: Any, tag_blob: str, backend: Any) -> None:
    inputs, _ = server.check({}, {P: tag_blob, "name": n("old"), "color": None})
    backend.reset_requests()
    with pytest.raises(grpc.RpcError) as info:
        server.create(inputs)
    message = info.value.details()
    assert backend.version in message and TAGS_SINCE in message and "tag.create" in message
    assert [r.procedure for r in backend.requests if r.method == "POST"] == ["tag.create"]


def _assert_project_tags_refused(server: Any, project_blob: str, backend: Any) -> None:
    inputs, _ = server.check({}, _project_props(project_blob, n("old-tagged"), ["x" * 21]))
    backend.reset_requests()
    with pytest.raises(grpc.RpcError) as info:
        server.create(inputs)
    message = info.value.details()
    assert backend.version in message and TAGS_SINCE in message and "tags" in message
    # Refused before anything was written: at most the version is read (the process's one client may
    # know it already, from the Tag refused before).
    assert [r.procedure for r in backend.requests] in ([], ["settings.getDokployVersion"])


def test_an_unknown_tag_id_fails_the_create_and_leaves_no_project(server, project_blob, backend):
    if not _needs_tags(backend):
        return _assert_project_tags_refused(server, project_blob, backend)
    inputs, _ = server.check({}, _project_props(project_blob, n("unknown-tag"), ["zz" + "0" * 19]))
    with pytest.raises(grpc.RpcError) as info:
        server.create(inputs)
    assert "tag.bulkAssign" in info.value.details() and "404" in info.value.details()
    # Pulumi records nothing of a failed create: the project made before the assignment is removed.
    assert [p for p in backend.projects() if p["name"] == n("unknown-tag")] == []
