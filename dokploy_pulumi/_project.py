"""The Dokploy project, declared for the shared lifecycle engine.

Requests per operation (the API's minimum): create 1 (`project.create` returns the row and its
default environment); read 1 (`project.one`); update 1 (`project.update`); delete 2 without
force_destroy (`project.one` to find what is inside, `project.remove`) and 1 with it. Adoption by id
adds a `project.one` and skips the update when nothing differs. With `tags` set (`_project_tags.py`):
create adds the server's version (asked once per provider process) and a `tag.bulkAssign` when the
set is not empty; an update of the set is one `tag.bulkAssign`; read needs nothing more.

The operations on a project that exists (read, push, delete) are module functions, so that
`ProjectDuplicate` (`_duplicates.py`) is made of the same parts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from ._attrs import BOOL, CONNECTION, ENV, ID, NAME, TEXT, Attr
from ._dotenv import parse_env, serialize_env
from ._exceptions import DokployError, NotFoundError, RefusedError
from ._ilike import like_literal
from ._lifecycle import Lifecycle, Outputs, Props, gone_as_none
from ._project_tags import TAGS_ATTR, assign_tags, managed_tags, project_tag_ids, require_tags
from ._reconcile import adopting, create_or_find, remove_or_confirm
from ._references import ALLOW_BREAKING_ATTR, guard_env_references
from ._wire import OMIT

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient
    from ._models import ProjectDetail, ProjectRow

# Inputs several resources declare alike.
NAME_ATTR = Attr("name", NAME, required=True)
DESCRIPTION_ATTR = Attr("description", TEXT)
ENV_ATTR = Attr("env", ENV, sensitive=True)
FORCE_DESTROY = Attr("force_destroy", BOOL, state_only=True)  # allow destroying a project with contents
CONNECTION_ATTR = Attr("connection", CONNECTION, state_only=True)


def project_values(row: ProjectRow) -> dict[str, Any]:
    """The outputs a project row gives (no default_environment_id: only some answers carry it)."""
    return {
        "name": row.name,
        "description": row.description or "",
        "env": parse_env(row.env),
        "created_at": row.created_at,
        "organization_id": row.organization_id,
    }


def detail_values(detail: ProjectDetail) -> dict[str, Any]:
    """The outputs `project.one` gives, with the default environment's id."""
    out = project_values(detail)
    default = detail.default_environment()
    out["default_environment_id"] = default.environment_id if default else None
    return out


def read_project(client: DokployClient, id_: str) -> Optional[Outputs]:
    return gone_as_none(lambda: detail_values(client.project.one(id_)))


def push_project(client: DokployClient, id_: str, inputs: Mapping[str, Any], changed: set[str]) -> dict[str, Any]:
    """One `project.update` sending exactly the changed fields."""
    row = client.project.update(
        id_,
        name=inputs["name"] if "name" in changed else OMIT,
        # An explicit "" clears the description (null would too; absent would keep it).
        description=inputs["description"] if "description" in changed else OMIT,
        env=serialize_env(inputs["env"]) if "env" in changed else OMIT,
    )
    return project_values(row)


def describe_services(detail: ProjectDetail) -> str:
    """The project's services, for messages ("" if none)."""
    services = detail.services()
    if not services:
        return ""
    listed = "; ".join(f"{svc.type} {svc.name!r} ({svc.id}) in environment {env.name!r}" for env, svc in services)
    return f"{len(services)} service(s): {listed}"


def describe_contents(detail: ProjectDetail) -> str:
    """What deleting the project would take with it besides its default environment ("" if nothing)."""
    parts = []
    services = describe_services(detail)
    if services:
        parts.append(services)
    others = [e for e in detail.environments if not e.is_default]
    if others:
        listed = ", ".join(f"{e.name!r} ({e.environment_id})" for e in others)
        parts.append(f"{len(others)} environment(s) this stack does not manage: {listed}")
    return "; and ".join(parts)


#: What a refused project delete tells the user to do (a resource may word it for its own case).
DELETE_ADVICE = "Remove them first, or set force_destroy=True on the resource and run `pulumi up` before destroying."


def delete_project(client: DokployClient, id_: str, force_destroy: bool, advice: str = DELETE_ADVICE) -> None:
    if not force_destroy:
        # project.remove silently cascades through every environment and service record and
        # orphans their containers, so refuse while anything is inside unless told otherwise.
        # By now the stack's own environments are gone (they depend on the project): any other
        # one belongs to something else, e.g. a review environment made by another stack.
        try:
            detail = client.project.one(id_)
        except NotFoundError:
            return
        held = describe_contents(detail)
        if held:
            raise RefusedError(
                f"it still holds {held}. Dokploy would delete them with it (and orphan the services' "
                f"containers). {advice}"
            )
    remove_or_confirm(
        f"project {id_}", lambda: client.project.remove(id_), lambda: client.project.one(id_), client.timeout
    )


class ProjectLifecycle(Lifecycle):
    type_name = "Project"
    inputs = (
        NAME_ATTR,
        DESCRIPTION_ATTR,
        ENV_ATTR,
        FORCE_DESTROY,
        CONNECTION_ATTR,
        Attr("adopt_id", ID, create_only=True),
        TAGS_ATTR,
        ALLOW_BREAKING_ATTR,
    )
    computed = ("created_at", "organization_id", "default_environment_id")

    let_go = frozenset({"tags"})

    def unmanaged(self, news: Mapping[str, Any]) -> frozenset[str]:
        # Tags are touched only when the program sets them.
        return frozenset() if managed_tags(news) else frozenset({"tags"})

    def create(self, client: DokployClient, inputs: Props) -> tuple[str, Outputs]:
        if managed_tags(inputs):
            require_tags(client)  # before anything is written, on a server without tags
        if inputs.get("adopt_id"):
            return self._adopt(client, inputs["adopt_id"], inputs)
        outcome = create_or_find(
            "project",
            inputs["name"],
            client,
            lambda: client.project.create(
                inputs["name"],
                description=inputs["description"] or OMIT,
                env=serialize_env(inputs["env"]) if inputs["env"] else OMIT,
            ),
            lambda: client.project.search_all(name=like_literal(inputs["name"])),
            id_of=lambda r: r.project_id,
            created_of=lambda r: r.created_at,
            stamp_of=lambda made: made.project.created_at,
        )
        if outcome.found is not None:
            with adopting("project", outcome.found.project_id):
                return self._adopt(client, outcome.found.project_id, inputs)
        result = outcome.created
        assert result is not None
        out = project_values(result.project)
        # Servers before v0.25 return the bare row and have no environments.
        out["default_environment_id"] = result.environment.environment_id if result.environment else None
        if managed_tags(inputs) and inputs["tags"]:
            try:
                assign_tags(client, result.project.project_id, inputs["tags"])
            except DokployError:
                # Pulumi records nothing of a failed create: do not leave the new project behind.
                with contextlib.suppress(DokployError):
                    client.project.remove(result.project.project_id)
                raise
        return result.project.project_id, out

    def _adopt(self, client: DokployClient, id_: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        detail = client.project.one(id_)
        out = detail_values(detail)
        if out["env"] != inputs["env"]:
            # Adopting writes the declared env over what the server holds: the same hazard as an
            # update, checked before any write (the tags' too).
            guard_env_references(lambda: client, "project", id_, out, inputs)
        if managed_tags(inputs) and project_tag_ids(client, detail) != inputs["tags"]:
            assign_tags(client, id_, inputs["tags"])
        changed = {k for k in ("name", "description", "env") if out[k] != inputs[k]}
        if changed:
            out.update(push_project(client, id_, inputs, changed))
        return id_, out

    def read(self, client: DokployClient, id_: str, olds: Props) -> Optional[Outputs]:
        if not managed_tags(olds):
            return read_project(client, id_)
        detail = gone_as_none(lambda: client.project.one(id_))
        if detail is None:
            return None
        return {**detail_values(detail), "tags": project_tag_ids(client, detail)}

    def before_update(
        self, connect: Callable[[], DokployClient], id_: str, olds: Props, news: Props, changed: set[str]
    ) -> None:
        if "env" in changed:
            guard_env_references(connect, "project", id_, olds, news)

    def update(self, client: DokployClient, id_: str, olds: Props, news: Props, changed: set[str]) -> Outputs:
        if "tags" in changed:
            # First: on a server without tags this fails, naming its version, before other writes.
            assign_tags(client, id_, news["tags"])
        fields = changed - {"tags"}
        return push_project(client, id_, news, fields) if fields else {}

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        delete_project(client, id_, bool(olds.get("force_destroy")))
