"""The ``tag.*`` procedures (``apps/dokploy/server/api/routers/tag.ts``, v0.29.0 and later).

Read in v0.30.2's source: every handler looks rows up within the caller's organization (another
organization's tag or project is NOT_FOUND, never 401/403); a name used twice in an organization
fails the unique index ``unique_org_tag_name``, which create and update answer as CONFLICT; other
failures are re-thrown as 400 ``"Error <doing>: ..."``. ``bulkAssign`` deletes the project's links
and then inserts the new ones, not in one transaction.

Every CONFLICT (a tag name, a project's tag) depends on the error's text: the handler looks for
the index's name in the message,
and from the framework upgrade (``failed_query_errors``) drizzle's message is ``Failed query:
<sql>`` without it, so v0.30.2 answers a duplicate name with 400 ``"Error creating tag: Failed
query: ..."`` (seen on the real server), and older releases with CONFLICT.
"""

from __future__ import annotations

from typing import Any

from ._call import Call, procedure
from ._errors import DatabaseError, TRPCError, sql_insert, sql_update
from ._store import PROJECT_TAG_COLUMNS, TAG_COLUMNS, new_id

_DUPLICATE_NAME = "A tag with this name already exists in your organization"


def _tag(call: Call, tag_id: str, missing: str) -> dict[str, Any]:
    tag = call.store.tags.get(tag_id)
    if tag is None or tag["organizationId"] != call.org:
        raise TRPCError("NOT_FOUND", missing)
    return tag


def _name_taken(call: Call, name: str, but: str = "") -> bool:
    return any(
        t["name"] == name and t["organizationId"] == call.org and t["tagId"] != but for t in call.store.tags.values()
    )


def _unique_error(call: Call, index: str, conflict: str, doing: str, sql: tuple[str, list[Any]]) -> TRPCError:
    """The handler's catch for a unique index, as the release words it: CONFLICT when the error's
    text names the index, else the 400 wrapping."""
    error = DatabaseError(f'duplicate key value violates unique constraint "{index}"', *sql)
    message = error.message(call.release)
    if index in message:
        return TRPCError("CONFLICT", conflict)
    return TRPCError("BAD_REQUEST", f"Error {doing}: {message}")


def _project(call: Call, project_id: str) -> dict[str, Any]:
    project = call.store.projects.get(project_id)
    if project is None or project["organizationId"] != call.org:
        raise TRPCError("NOT_FOUND", "Project not found or you don't have permission to modify it")
    return project


def _link(call: Call, project_id: str, tag_id: str) -> dict[str, Any]:
    row = {"id": new_id(), "projectId": project_id, "tagId": tag_id}
    call.store.project_tags[row["id"]] = row
    call.store.track(row["id"])
    return dict(row)


@procedure("tag.create")
def create(call: Call, data: dict[str, Any]) -> Any:
    row = {
        "tagId": new_id(),
        "name": data["name"],
        "color": data.get("color"),
        "createdAt": call.store.clock.stamp(),
        "organizationId": call.org,
    }
    if _name_taken(call, data["name"]):
        given = {k: v for k, v in row.items() if k != "color" or "color" in data}
        raise _unique_error(
            call, "unique_org_tag_name", _DUPLICATE_NAME, "creating tag", sql_insert("tag", TAG_COLUMNS, given)
        )
    call.store.tags[row["tagId"]] = row
    call.store.track(row["tagId"])
    return dict(row)


@procedure("tag.all")
def all_(call: Call, data: dict[str, Any]) -> Any:
    # orderBy asc(name): Postgres' collation; plain code point order here.
    return sorted(
        (dict(t) for t in call.store.tags.values() if t["organizationId"] == call.org), key=lambda t: t["name"]
    )


@procedure("tag.one")
def one(call: Call, data: dict[str, Any]) -> Any:
    return dict(_tag(call, data["tagId"], "Tag not found"))


@procedure("tag.update")
def update(call: Call, data: dict[str, Any]) -> Any:
    tag = _tag(call, data["tagId"], "Tag not found or you don't have permission to update it")
    if "name" in data and _name_taken(call, data["name"], but=tag["tagId"]):
        values: dict[str, Any] = {k: data[k] for k in ("name", "color") if k in data}
        raise _unique_error(
            call,
            "unique_org_tag_name",
            _DUPLICATE_NAME,
            "updating tag",
            sql_update("tag", TAG_COLUMNS, "tagId", tag["tagId"], values),
        )
    for key in ("name", "color"):  # only these are set, whatever else the input holds
        if key in data:
            tag[key] = data[key]
    return dict(tag)


@procedure("tag.remove")
def remove(call: Call, data: dict[str, Any]) -> Any:
    tag = _tag(call, data["tagId"], "Tag not found or you don't have permission to delete it")
    call.store.unlink_tags(lambda link: link["tagId"] == tag["tagId"])  # ON DELETE CASCADE
    del call.store.tags[tag["tagId"]]
    return {"success": True}


@procedure("tag.assignToProject")
def assign_to_project(call: Call, data: dict[str, Any]) -> Any:
    _project(call, data["projectId"])
    _tag(call, data["tagId"], "Tag not found or you don't have permission to use it")
    if any(
        link["projectId"] == data["projectId"] and link["tagId"] == data["tagId"]
        for link in call.store.project_tags.values()
    ):
        row = {"id": new_id(), "projectId": data["projectId"], "tagId": data["tagId"]}
        raise _unique_error(
            call,
            "unique_project_tag",
            "This tag is already assigned to this project",
            "assigning tag to project",
            sql_insert("project_tag", PROJECT_TAG_COLUMNS, row),
        )
    return _link(call, data["projectId"], data["tagId"])


@procedure("tag.removeFromProject")
def remove_from_project(call: Call, data: dict[str, Any]) -> Any:
    _project(call, data["projectId"])
    _tag(call, data["tagId"], "Tag not found or you don't have permission to use it")
    call.store.unlink_tags(lambda link: link["projectId"] == data["projectId"] and link["tagId"] == data["tagId"])
    return {"success": True}


@procedure("tag.bulkAssign")
def bulk_assign(call: Call, data: dict[str, Any]) -> Any:
    project_id, tag_ids = data["projectId"], data["tagIds"]
    _project(call, project_id)
    if tag_ids and any(call.store.tags.get(t, {}).get("organizationId") != call.org for t in tag_ids):
        raise TRPCError("NOT_FOUND", "One or more tags not found in your organization")
    call.store.unlink_tags(lambda link: link["projectId"] == project_id)
    if len(set(tag_ids)) != len(tag_ids):
        # The delete above stays: the project is left with no tags (no transaction).
        rows = [{"id": new_id(), "projectId": project_id, "tagId": t} for t in tag_ids]
        values = ", ".join(f"(${3 * i + 1}, ${3 * i + 2}, ${3 * i + 3})" for i in range(len(rows)))
        columns = ", ".join(f'"{c}"' for c in PROJECT_TAG_COLUMNS)
        error = DatabaseError(
            'duplicate key value violates unique constraint "unique_project_tag"',
            f'insert into "project_tag" ({columns}) values {values}',
            [row[c] for row in rows for c in PROJECT_TAG_COLUMNS],
        )
        raise TRPCError("BAD_REQUEST", f"Error bulk assigning tags to project: {error.message(call.release)}")
    for tag_id in tag_ids:
        _link(call, project_id, tag_id)
    return {"success": True}
