"""The Dokploy tag (v0.29.0+), declared for the shared lifecycle engine (a project's set of tags is
`_project_tags.py`).

Requests per operation: create 1 (`tag.create`); read 1 (`tag.one`); update 1 (`tag.update`);
delete 1 (`tag.remove`, which also unlinks it from every project). Adoption by id adds a `tag.one`
and skips the update when nothing differs. A name already used in the organization is the
server's CONFLICT: the error then names the tag that holds it (one `tag.all`).

On a server before v0.29.0 every `tag.*` procedure is the router's 404, which the client words
with the server's version (`DokployClient.explain_missing`): the first request fails, naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Optional, TypeVar

from ._attrs import ID, NAME, TEXT, Attr
from ._client import OMIT, DokployClient
from ._exceptions import ConflictError, DokployError
from ._lifecycle import Lifecycle, Outputs, Props, gone_as_none
from ._models import TagRow
from ._project import CONNECTION_ATTR
from ._reconcile import remove_or_confirm

T = TypeVar("T")


def tag_values(row: TagRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "color": row.color or "",  # a tag made without a color reads null
        "created_at": row.created_at,
        "organization_id": row.organization_id,
    }


def _explain_conflict(client: DokployClient, name: str, action: Callable[[], T]) -> T:
    """`action()`, with the server's CONFLICT (code, not words: a unique index on the organization
    and name) explained: which tag holds the name, and how to take it over."""
    try:
        return action()
    except ConflictError as exc:
        conflict = exc
    holder = ""
    try:
        held = next((t for t in client.tag.all() if t.name == name), None)
        if held is not None:
            holder = f" (tag {held.tag_id}; to manage that one, declare it with adopt_id={held.tag_id!r})"
    except DokployError:
        pass  # the explanation is a courtesy: the conflict is the error
    raise ConflictError(
        f"a tag named {name!r} already exists in this organization{holder}. Dokploy allows one tag per name "
        f"in an organization. (The server answered: {conflict.server_message}.)",
        **conflict.context(),
    )


class TagLifecycle(Lifecycle):
    type_name = "Tag"
    inputs = (
        Attr("name", NAME, required=True),
        Attr("color", TEXT),
        CONNECTION_ATTR,
        Attr("adopt_id", ID, create_only=True),
    )
    computed = ("created_at", "organization_id")

    def create(self, client: DokployClient, inputs: Props) -> tuple[str, Outputs]:
        if inputs.get("adopt_id"):
            return self._adopt(client, inputs["adopt_id"], inputs)
        # No color: the column stays null (it reads as "").
        row = _explain_conflict(
            client, inputs["name"], lambda: client.tag.create(inputs["name"], color=inputs["color"] or OMIT)
        )
        return row.tag_id, tag_values(row)

    def _adopt(self, client: DokployClient, id_: str, inputs: Mapping[str, Any]) -> tuple[str, Outputs]:
        out = tag_values(client.tag.one(id_))
        changed = {k for k in ("name", "color") if out[k] != inputs[k]}
        if changed:
            out.update(self.update(client, id_, out, inputs, changed))
        return id_, out

    def read(self, client: DokployClient, id_: str, olds: Props) -> Optional[Outputs]:
        return gone_as_none(lambda: tag_values(client.tag.one(id_)))

    def update(self, client: DokployClient, id_: str, olds: Props, news: Props, changed: set[str]) -> Outputs:
        row = _explain_conflict(
            client,
            news["name"],
            lambda: client.tag.update(
                id_,
                name=news["name"] if "name" in changed else OMIT,
                # "" clears it: the schema takes a string only (no null).
                color=news["color"] if "color" in changed else OMIT,
            ),
        )
        return tag_values(row)

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        remove_or_confirm(f"tag {id_}", lambda: client.tag.remove(id_), lambda: client.tag.one(id_), client.timeout)
