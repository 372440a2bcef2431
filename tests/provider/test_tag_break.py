"""`Tag` and `Project.tags` when a step fails halfway, or the input is odd (the break-it pass).

Through the SDK's provider server behind a `RecordingProxy` (no emulator hook): the emulator, and the
real releases in the real tier (where a release without tags asserts the refusal instead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from _backend import AGAINST_REAL, n
from _recording_proxy import RecordingProxy

from dokploy_pulumi import DokployClient, DokployError
from dokploy_pulumi.providers import TagProvider
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of, diff_kind

P = "__provider"
#: How long the search after a lost create waits (see test_lost_create_behind_proxy.py).
TIMEOUT = "30" if AGAINST_REAL else "2"


@pytest.fixture
def proxy(backend) -> Iterator[RecordingProxy]:
    p = RecordingProxy(backend.url).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def behind(backend, proxy, clean_env) -> Iterator[ProviderServer]:
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": proxy.url, "dokploy:apiKey": backend.api_key, "dokploy:timeout": TIMEOUT})
        yield srv


@pytest.fixture
def api(backend) -> Iterator[DokployClient]:
    with DokployClient(getattr(backend, "upstream", backend.url), backend.api_key, timeout=120.0) as client:
        yield client


@pytest.fixture
def cleanup_tags(api) -> Iterator[str]:
    """A name prefix; every tag whose name starts with it is removed when the test ends."""
    prefix = n("brk")
    yield prefix
    if _has_tags(api):
        for tag in api.tag.all():
            if tag.name.startswith(prefix):
                with contextlib.suppress(DokployError):
                    api.tag.remove(tag.tag_id)


def _has_tags(api: DokployClient) -> bool:
    try:
        api.require("tags", "tags")
    except DokployError:
        return False
    return True


def _create(server: ProviderServer, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    inputs, failures = server.check({}, props)
    assert failures == []
    return server.create(inputs)


def test_a_lost_tag_create_answer_adopts_the_tag_it_made(behind, backend, api, proxy, cleanup_tags):
    name = cleanup_tags + "-lost"
    props = {P: blob_of(TagProvider()), "name": name, "color": "#ff0000"}
    proxy.lose_answer("tag.create")  # forwarded: the server makes the tag; its answer is lost
    if not _has_tags(api):
        with pytest.raises(grpc.RpcError):
            _create(behind, props)
        return
    id_, outs = _create(behind, props)
    assert [t.tag_id for t in api.tag.all() if t.name == name] == [id_]
    assert outs["name"] == name and outs["color"] == "#ff0000"
    assert proxy.count("tag.create", "POST") == 1  # not repeated


def _project(blob: str, name: str, tags: Any) -> dict[str, Any]:
    return {P: blob, "name": name, "description": None, "env": None, "tags": tags}


def test_a_program_that_stops_setting_tags_stops_seeing_them(server, project_blob, backend, api, cleanup_tags):
    """`tags` removed from the program: the stack no longer owns the set, so a later hand change to it
    is no drift (refresh neither reads nor shows it), and nothing is sent to the server."""
    if not _has_tags(api):
        return
    a = api.tag.create(cleanup_tags + "-a").tag_id
    b = api.tag.create(cleanup_tags + "-b").tag_id
    inputs, _ = server.check({}, _project(project_blob, n("owned"), [a]))
    pid, outs = server.create(inputs)
    news, _ = server.check(outs, _project(project_blob, n("owned"), None))
    if diff_kind(server.diff(pid, outs, news)) != "none":  # Pulumi keeps the old outputs otherwise
        backend.reset_requests()
        outs = server.update(pid, outs, news)
        assert [r.procedure for r in backend.requests if r.method == "POST"] == []  # a state-only change
    api.tag.assign_to_project(pid, b)  # by hand, after the program let go of the set
    _, read_outs, read_inputs = server.read(pid, outs, news)
    assert read_outs.get("tags") is None and read_inputs.get("tags") is None
    assert diff_kind(server.diff(pid, read_outs, news)) == "none"
    assert sorted(api.project.one(pid).tag_ids() or []) == sorted([a, b])  # the server's set is untouched


def test_a_nul_in_a_name_is_refused_at_check(server, project_blob):
    """Postgres text cannot hold U+0000: the real v0.30.2 answers tag.create 400 "Failed query" (the
    same shape as a duplicate name). Refused at preview instead, for every name and text input."""
    _, failures = server.check({}, {P: blob_of(TagProvider()), "name": "a\x00b", "color": "#f\x00"})
    assert sorted(f[0] for f in failures) == ["color", "name"]
    _, failures = server.check({}, _project(project_blob, "p\x00", None))
    assert [f[0] for f in failures] == ["name"]


def test_a_tag_deleted_by_hand_is_named_when_the_set_is_refused(server, project_blob, api, cleanup_tags):
    """`up` without a refresh after a tag was deleted by hand: bulkAssign refuses the whole set with
    "One or more tags not found"; the error names the id and what to do, and nothing changed."""
    if not _has_tags(api):
        return
    a = api.tag.create(cleanup_tags + "-keep").tag_id
    b = api.tag.create(cleanup_tags + "-gone").tag_id
    inputs, _ = server.check({}, _project(project_blob, n("stale"), [a]))
    pid, outs = server.create(inputs)
    api.tag.remove(b)
    news, _ = server.check(outs, _project(project_blob, n("stale"), [a, b]))
    with pytest.raises(grpc.RpcError) as info:
        server.update(pid, outs, news)
    details = info.value.details()
    assert "tag.bulkAssign" in details and repr(b) in details and repr(a) not in details
    assert "pulumi refresh" in details
    assert api.project.one(pid).tag_ids() == [a]  # refused whole: the set is as it was


def test_two_tags_of_one_stack_swapping_names_are_not_told_to_adopt_each_other(server, api, cleanup_tags):
    if not _has_tags(api):
        return
    blob = blob_of(TagProvider())
    x, y = cleanup_tags + "-x", cleanup_tags + "-y"
    first, first_outs = _create(server, {P: blob, "name": x, "color": None})
    second, _ = _create(server, {P: blob, "name": y, "color": None})
    news, _ = server.check(first_outs, {P: blob, "name": y, "color": None})
    with pytest.raises(grpc.RpcError) as info:
        server.update(first, first_outs, news)
    details = info.value.details()
    assert second in details and "adopt_id" not in details and "another resource of this stack" in details
    assert [t.name for t in api.tag.all() if t.tag_id in (first, second)] == [x, y]  # nothing renamed
    # A tag made by hand holds the name: that one may be adopted.
    hand = api.tag.create(cleanup_tags + "-z").tag_id
    news, _ = server.check(first_outs, {P: blob, "name": cleanup_tags + "-z", "color": None})
    with pytest.raises(grpc.RpcError) as info:
        server.update(first, first_outs, news)
    assert f"adopt_id={hand!r}" in info.value.details()
