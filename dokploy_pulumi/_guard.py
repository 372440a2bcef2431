"""ProjectGuard: stops the destroy of a project before anything is deleted while the project holds
environments that the stack does not declare (issue 23).

Why a resource of its own: Pulumi destroys dependents first, so a stack's environments are deleted
before its project, and `Project` can only refuse (see `_project.delete_project`) after they are
gone. An environment on its own cannot tell a destroy of the whole stack from a program that just
dropped it, nor a sibling the same stack is deleting from one that another stack (a review
environment) made. The guard knows both: its inputs are the project and the environments the
stack declares in it, so it depends on all of them and the engine deletes it first. Its delete
(one `project.one`) refuses while the project holds another non-default environment; nothing has
been deleted then, and every id stays as it was. Dropping an environment from the program only
updates the guard's list (no request), and that environment is deleted as usual.

No Dokploy object stands behind it: its id is the project's id; create reads the project (1
`project.one`, so a wrong id fails at once), read 1 (gone with its project), update none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from ._attrs import ID, Attr, AttrType, is_unknown
from ._exceptions import NotFoundError, RefusedError
from ._lifecycle import Lifecycle, Outputs, Props, gone_as_none
from ._project import CONNECTION_ATTR

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient


class _Ids(AttrType):
    """A list of object ids (order and repeats do not matter)."""

    def __init__(self) -> None:
        self.empty: list[str] = []

    def check(self, name: str, value: Any) -> Optional[str]:
        if not isinstance(value, (list, tuple)):
            return f"{name} must be a list of ids"
        if any(not is_unknown(v) and (not isinstance(v, str) or not v) for v in value):
            return f"{name} must hold non-empty strings (environment ids)"
        return None

    def normalize(self, value: Any) -> Any:
        return sorted(set(value)) if not is_unknown(value) else value


class ProjectGuardLifecycle(Lifecycle):
    type_name = "ProjectGuard"
    label_key = "project_id"
    inputs = (
        Attr("project_id", ID, required=True, replace=True),
        # Which environments the stack declares: a change is only recorded.
        Attr("environment_ids", _Ids(), state_only=True),
        CONNECTION_ATTR,
    )

    def create(self, client: DokployClient, inputs: Props) -> tuple[str, Outputs]:
        client.project.one(inputs["project_id"])  # exists, and this key can read it
        return inputs["project_id"], {}

    def read(self, client: DokployClient, id_: str, olds: Props) -> Optional[Outputs]:
        return None if gone_as_none(lambda: client.project.one(id_)) is None else {}

    def update(self, client: DokployClient, id_: str, olds: Props, news: Props, changed: set[str]) -> Outputs:
        return {}

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        try:
            detail = client.project.one(id_)
        except NotFoundError:
            return  # the project is gone: nothing left to guard
        declared = set(_declared(olds))
        others = [e for e in detail.environments if not e.is_default and e.environment_id not in declared]
        if others:
            listed = ", ".join(f"{e.name!r} ({e.environment_id})" for e in others)
            raise RefusedError(
                f"project {detail.name!r} ({id_}) holds {len(others)} environment(s) this stack does not declare: "
                f"{listed}. Deleting the project would delete them with it, so nothing was deleted. Remove them "
                "first (for review environments: `review.py down N` for each PR), then destroy again; or, to stop "
                "guarding, remove the ProjectGuard from the program while the project holds nothing else."
            )


def _declared(props: Mapping[str, Any]) -> list[str]:
    ids = props.get("environment_ids") or []
    return [i for i in ids if isinstance(i, str)]
