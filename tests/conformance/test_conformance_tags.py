"""tag.* procedures (v0.29.0+): shapes, the name's unique index, gone tags, project links and
bulkAssign's whole-set replace, projectTags in project reads; on older releases, the router's 404.

Each test on a release without tags asserts that instead (the procedures are absent), so every
test asserts something on every release. Tags outlive projects: each test removes its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from _contract import attempt, expect_router_404

from dokploy_pulumi import (
    BadRequestError,
    ConflictError,
    DokployClient,
    DokployError,
    InputValidationError,
    NotFoundError,
    UnknownProcedureError,
)
from dokploy_pulumi._models import TagRow

TAG_KEYS = {"tagId", "name", "color", "createdAt", "organizationId"}


@pytest.fixture
def make_tag(client: DokployClient, prefix: str) -> Iterator[Callable[..., TagRow]]:
    """`make_tag(suffix, color=OMIT)`: tag.create with a prefixed name, removed when the test ends."""
    made: list[str] = []

    def make(suffix: str, **kw: object) -> TagRow:
        row = client.tag.create(prefix + suffix, **kw)
        made.append(row.tag_id)
        return row

    yield make
    for tag_id in made:
        with contextlib.suppress(DokployError):
            client.tag.remove(tag_id)


def _without_tags(release, client: DokployClient, raw) -> bool:
    """True (after asserting the refusal) on a release that has no tags."""
    if release.has_tags:
        return False
    with pytest.raises(UnknownProcedureError) as info:
        client.tag.all()
    assert release.version in str(info.value) and "v0.29.0" in str(info.value)
    expect_router_404(release, raw.post("tag.create", json={"name": "x"}).json())
    return True


def test_create_one_all_update_remove_shapes(client, release, raw, make_tag, prefix):
    if _without_tags(release, client, raw):
        return
    plain = client.post("tag.create", {"name": prefix + "plain"})
    try:
        assert set(plain) == TAG_KEYS and plain["color"] is None  # no color: the column stays null
    finally:
        client.tag.remove(plain["tagId"])
    tag = make_tag("shape", color="#ff0000")
    assert tag.name == prefix + "shape" and tag.color == "#ff0000" and tag.organization_id and tag.created_at
    assert client.tag.one(tag.tag_id) == tag
    mine = [t for t in client.tag.all() if t.name.startswith(prefix)]
    assert [t.tag_id for t in mine] == [tag.tag_id]

    renamed = client.tag.update(tag.tag_id, name=prefix + "renamed")
    assert renamed.name == prefix + "renamed" and renamed.color == "#ff0000"  # absent color: kept
    assert client.tag.update(tag.tag_id, color="").color == ""
    assert client.tag.update(tag.tag_id, color=None).color is None  # null is accepted and clears

    assert client.post("tag.remove", {"tagId": tag.tag_id}) == {"success": True}
    with pytest.raises(NotFoundError):
        client.tag.one(tag.tag_id)
    with pytest.raises(NotFoundError):
        client.tag.remove(tag.tag_id)  # the procedure's own NOT_FOUND: already gone
    with pytest.raises(NotFoundError):
        client.tag.update(tag.tag_id, name=prefix + "gone")


def test_empty_name_is_a_validation_error(client, release, raw):
    if _without_tags(release, client, raw):
        return
    with pytest.raises(InputValidationError) as info:
        client.tag.create("")
    assert "name" in info.value.field_errors


def test_a_name_used_twice_is_refused(client, release, raw, make_tag, prefix):
    """The unique index (organizationId, name): CONFLICT where the handler can see the index's name
    in the error (releases before failed_query_errors), else its 400 wrapping of drizzle's message."""
    if _without_tags(release, client, raw):
        return
    first = make_tag("twice")
    other = make_tag("other")
    for outcome in (
        attempt(lambda: client.tag.create(prefix + "twice")),
        attempt(lambda: client.tag.update(other.tag_id, name=prefix + "twice")),
    ):
        error = outcome.error
        assert isinstance(error, (ConflictError, BadRequestError)) and not isinstance(error, InputValidationError)
        release.expect(
            "failed_query_errors",
            new=lambda e=error: _is_400(e),
            old=lambda e=error: _is_409(e),
        )
    # Nothing was made or renamed.
    assert [t.tag_id for t in client.tag.all() if t.name == prefix + "twice"] == [first.tag_id]
    assert client.tag.one(other.tag_id).name == prefix + "other"


def _is_400(error: DokployError) -> None:
    assert isinstance(error, BadRequestError) and error.status == 400


def _is_409(error: DokployError) -> None:
    assert isinstance(error, ConflictError) and error.status == 409


def test_bulk_assign_replaces_the_whole_set(client, release, raw, make_project, make_tag):
    if _without_tags(release, client, raw):
        return
    project = make_project("tagged").project
    a, b, c = make_tag("a"), make_tag("b"), make_tag("c")
    assert client.tag.bulk_assign(project.project_id, [a.tag_id, b.tag_id]).success is True
    detail = client.project.one(project.project_id)
    assert detail.tag_ids() == sorted([a.tag_id, b.tag_id])
    link = next(t for t in detail.project_tags or [] if t.tag_id == a.tag_id)
    assert link.id and link.project_id == project.project_id and link.tag == client.tag.one(a.tag_id)

    client.tag.bulk_assign(project.project_id, [c.tag_id])
    assert client.project.one(project.project_id).tag_ids() == [c.tag_id]
    row = next(p for p in client.project.all() if p.project_id == project.project_id)
    assert row.tag_ids() == [c.tag_id]  # project.all carries them too
    client.tag.bulk_assign(project.project_id, [])
    assert client.project.one(project.project_id).tag_ids() == []


def test_bulk_assign_unknown_tag_or_project_changes_nothing(client, release, raw, make_project, make_tag, missing_id):
    if _without_tags(release, client, raw):
        return
    project = make_project("keep").project
    a = make_tag("keep")
    client.tag.bulk_assign(project.project_id, [a.tag_id])
    with pytest.raises(NotFoundError):
        client.tag.bulk_assign(project.project_id, [a.tag_id, missing_id])
    assert client.project.one(project.project_id).tag_ids() == [a.tag_id]  # checked before the delete
    with pytest.raises(NotFoundError):
        client.tag.bulk_assign(missing_id, [a.tag_id])


def test_assign_remove_link_and_cascades(client, release, raw, make_project, make_tag):
    if _without_tags(release, client, raw):
        return
    project = make_project("links").project
    a, b = make_tag("la"), make_tag("lb")
    link = client.tag.assign_to_project(project.project_id, a.tag_id)
    assert link.project_id == project.project_id and link.tag_id == a.tag_id and link.id
    twice = attempt(lambda: client.tag.assign_to_project(project.project_id, a.tag_id)).error
    assert twice is not None  # the unique index (projectId, tagId), answered as for tag names
    release.expect("failed_query_errors", new=lambda: _is_400(twice), old=lambda: _is_409(twice))
    client.tag.assign_to_project(project.project_id, b.tag_id)
    assert client.tag.remove_from_project(project.project_id, a.tag_id).success is True
    assert client.project.one(project.project_id).tag_ids() == [b.tag_id]
    client.tag.remove(b.tag_id)  # removing a tag unlinks it
    assert client.project.one(project.project_id).tag_ids() == []


def test_a_fresh_project_reads_with_no_tags(client, release, make_project):
    detail = client.project.one(make_project("fresh").project.project_id)
    assert detail.tag_ids() == ([] if release.has_tags else None)
