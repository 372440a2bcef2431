"""The Dokploy tag (v0.29.0+), declared for the shared lifecycle engine (a project's set of tags is
`_project_tags.py`).

Requests per operation: create 1 (`tag.create`; after a lost answer, `tag.all` and the server's
clock find the tag it made, as for a project); read 1 (`tag.one`); update 1 (`tag.update`);
delete 1 (`tag.remove`, which also unlinks it from every project). Adoption by id adds a `tag.one`
and skips the update when nothing differs.

A name already used in the organization fails a unique index. Releases before the framework
upgrade answer CONFLICT; v0.30.2 answers 400 "Error creating tag: Failed query: ..." (its handler
looks for the index's name in drizzle's message, which no longer holds it; seen on the real
server). Neither is read by its words: after a CONFLICT or such a 400, one `tag.all` asks whether
another tag holds the name, and the error names it.

On a server before v0.29.0 every `tag.*` procedure is the router's 404, which the client words
with the server's version (`DokployClient.explain_missing`): the first request fails, naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Optional, TypeVar

from ._attrs import ID, NAME, TEXT, Attr
from ._exceptions import APIStatusError, BadRequestError, ConflictError, DokployError, InputValidationError
from ._lifecycle import Lifecycle, Outputs, Props, gone_as_none
from ._project import CONNECTION_ATTR
from ._reconcile import adopting, create_or_find, remove_or_confirm
from ._wire import OMIT

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient
    from ._models import TagRow

T = TypeVar("T")


def tag_values(row: TagRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "color": row.color or "",  # a tag made without a color reads null
        "created_at": row.created_at,
        "organization_id": row.organization_id,
    }


def _explain_conflict(client: DokployClient, name: str, action: Callable[[], T], own_id: str = "") -> T:
    """`action()`; when the server refuses it with CONFLICT or a 400 that is not input validation,
    and another tag holds `name`, a `ConflictError` naming that tag and how to take it over."""
    try:
        return action()
    except (ConflictError, BadRequestError) as exc:
        if isinstance(exc, InputValidationError):
            raise
        refused: APIStatusError = exc
    try:
        held = next((t for t in client.tag.all() if t.name == name and t.tag_id != own_id), None)
    except DokployError:
        held = None
    if held is None:
        if isinstance(refused, ConflictError):
            raise ConflictError(
                f"{refused.message} (a tag named {name!r} already exists in this organization)", **refused.context()
            ) from None
        raise refused
    if client.session.is_managed(held.tag_id):
        # Another Tag of this stack (declared twice, or two tags swapping names in one run):
        # adopting it would make two resources hold one tag.
        advice = (
            "That tag is another resource of this stack: two Tags cannot have one name (to swap two "
            "names, rename one of them to a third name first, in a run of its own)."
        )
    else:
        advice = f"To manage that one, declare it with adopt_id={held.tag_id!r}."
    raise ConflictError(
        f"a tag named {name!r} already exists in this organization (tag {held.tag_id}): Dokploy allows one tag "
        f"per name in an organization. {advice} (The server answered {refused.status}: {refused.server_message}.)",
        **refused.context(),
    ) from None


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
        # No color: the column stays null (it reads as ""). A lost answer is looked for by name and
        # by the server's clock, as a project's is: a tag made by hand before is never taken.
        outcome = _explain_conflict(
            client,
            inputs["name"],
            lambda: create_or_find(
                "tag",
                inputs["name"],
                client,
                lambda: client.tag.create(inputs["name"], color=inputs["color"] or OMIT),
                client.tag.all,
                id_of=lambda r: r.tag_id,
                created_of=lambda r: r.created_at,
                stamp_of=lambda made: made.created_at,
            ),
        )
        if outcome.found is not None:
            with adopting("tag", outcome.found.tag_id):
                return self._adopt(client, outcome.found.tag_id, inputs)
        assert outcome.created is not None
        return outcome.created.tag_id, tag_values(outcome.created)

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
            own_id=id_,
            action=lambda: client.tag.update(
                id_,
                name=news["name"] if "name" in changed else OMIT,
                # "" clears it (null would too, on v0.30.2; "" reads the same as null here).
                color=news["color"] if "color" in changed else OMIT,
            ),
        )
        return tag_values(row)

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        remove_or_confirm(f"tag {id_}", lambda: client.tag.remove(id_), lambda: client.tag.one(id_), client.timeout)
