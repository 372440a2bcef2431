"""A project's set of tags (`Project.tags`, v0.29.0+): declared, read and applied.

The set is authoritative: one `tag.bulkAssign` replaces the project's whole set, and a read takes
the ids from the `projectTags` that `project.one` carries, so a tag added or removed by hand shows as
drift. Only a program that sets `tags` (even to []) manages them; without it nothing here runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._attrs import TAG_IDS, Attr
from ._exceptions import DokployError, NotFoundError

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient
    from ._models import ProjectDetail

#: `Project.tags`: the authoritative set of tag ids (None: tags are not managed).
TAGS_ATTR = Attr("tags", TAG_IDS)


def managed_tags(props: Mapping[str, Any]) -> bool:
    """Whether the project's tags are managed: only when the program sets `tags` (even to [])."""
    return props.get("tags") is not None


def require_tags(client: DokployClient) -> None:
    """Refuse `tags` on a server without tags, naming its version, before any write."""
    client.require("tags", "Project.tags")


def project_tag_ids(client: DokployClient, detail: ProjectDetail) -> list[str]:
    """The project's tag ids as `project.one` lists them; a read without `projectTags` is a server
    without tags, refused naming its version (never read as "no tags")."""
    ids = detail.tag_ids()
    if ids is None:
        require_tags(client)
        ids = []  # a server that says it has tags yet sent none: it has none on this project
    return ids


def assign_tags(client: DokployClient, project_id: str, tag_ids: list[str]) -> None:
    """Make `tag_ids` the project's whole set of tags: one `tag.bulkAssign` (it replaces the set).

    The server refuses the whole set, changing nothing, when one of the ids is no tag of the
    organization, without saying which: then one `tag.all` names them (a tag deleted by hand, whose
    Tag resource still holds its id until a refresh)."""
    try:
        client.tag.bulk_assign(project_id, tag_ids)
    except NotFoundError as exc:
        refused = exc
    else:
        return
    try:
        known = {t.tag_id for t in client.tag.all()}
    except DokployError:
        raise refused from None
    missing = [t for t in tag_ids if t not in known]
    if not missing:
        raise refused  # the project itself is gone
    raise NotFoundError(
        f"{refused.message}: {', '.join(map(repr, missing))} is no tag of this organization (deleted "
        "by hand?). If it was a Tag of this stack, `pulumi refresh` finds it gone and the next `pulumi up` "
        "creates it again; otherwise take the id out of tags.",
        **refused.context(),
    ) from None
