"""Copies made by Dokploy's duplicate procedures, declared for the shared lifecycle engine.

Both are made of the parts `_environment.py` and `_project.py` expose (read, push, delete), not
subclasses of those resources: a copy has other inputs and other rules.

EnvironmentDuplicate (`environment.duplicate`): a new environment in the source's project with the
source's env (v0.28 and later; v0.26 copies no env) and without its services. Requests: create 1, plus 1 `environment.update` when the
declared env differs from the copied one or the declared description differs from what the server
chose (it falls back to the source's description when none is sent), plus 1 `environment.one` of
the source when no env is declared and the copy has none (v0.26 copies no env; the source's is then
set); read 1 (`environment.one`); update 1; delete 2 (as Environment's).

ProjectDuplicate (`project.duplicate`, never in same-project mode): a new project with a new
default environment holding copies of the selected services. Requests: create 3
(`environment.one` to check the source and the selected services first, because project.duplicate
is not one transaction and would leave a project behind if a copy failed; `project.duplicate`;
`project.one` for the project's createdAt and organizationId, which its answer lacks); read 1;
update 1; delete as `Project` (2, or 1 with force_destroy).

A ProjectDuplicate is replaced (new source, include_services or selected_services) delete-first:
the old copy is deleted, then the new one made, so a refused delete leaves the old copy alone and
never a second project beside it. Its copied services make that delete refused (unless
force_destroy was already recorded), so the diff looks first (1 `project.one`, only when a replace
is certain and force_destroy is not set) and refuses at preview, naming the two ways that work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from pulumi.dynamic import CheckFailure

from ._attrs import BOOL, ID, SERVICES, Attr, is_unknown
from ._environment import (
    DEFAULT_NAME,
    delete_environment,
    environment_values,
    push_environment,
    read_environment,
    rolled_back,
)
from ._exceptions import DokployError, RefusedError
from ._ilike import like_literal
from ._lifecycle import Lifecycle, Outputs, Props, gone_as_none
from ._project import (
    CONNECTION_ATTR,
    DESCRIPTION_ATTR,
    ENV_ATTR,
    FORCE_DESTROY,
    NAME_ATTR,
    delete_project,
    describe_services,
    push_project,
    read_project,
)
from ._reconcile import adopting, create_or_find
from ._references import ALLOW_BREAKING_ATTR, guard_env_references
from ._wire import OMIT

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient
    from ._models import EnvironmentDetail, EnvironmentRow

#: The environment a copy is made from: another source is another copy.
SOURCE_ATTR = Attr("source_environment_id", ID, required=True, replace=True)


class EnvironmentDuplicateLifecycle(Lifecycle):
    """A copy of an environment. Delete is an environment's (404 is success; services are refused).

    env is managed only when declared: empty or omitted leaves the copied variables alone and does
    not track them (the engine compares old outputs with new inputs, so tracking variables the
    program never declared would show a change on every preview).
    """

    type_name = "EnvironmentDuplicate"
    inputs = (
        SOURCE_ATTR,
        NAME_ATTR,
        DESCRIPTION_ATTR,
        ENV_ATTR,
        CONNECTION_ATTR,
        ALLOW_BREAKING_ATTR,
    )
    computed = ("project_id", "is_default", "created_at")

    def validate(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[CheckFailure]:
        if news.get("name") == DEFAULT_NAME:
            return [
                CheckFailure(
                    "name",
                    f"a copy cannot be named {DEFAULT_NAME!r}: that name belongs to the project's default "
                    f"environment (manage it with Environment(name={DEFAULT_NAME!r}))",
                )
            ]
        return []

    @staticmethod
    def _tracked(out: dict[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        if not inputs.get("env"):
            out.pop("env", None)  # not declared: the output keeps the (empty) declared value
        return out

    def create(self, client: DokployClient, inputs: Props) -> tuple[str, Outputs]:
        source_id = inputs["source_environment_id"]
        source_project: list[Optional[str]] = []

        def copies() -> Iterable[EnvironmentRow]:
            # The copy lands in the source's project: ask which (once, and only after a lost answer).
            if not source_project:
                source_project.append(client.environment.one(source_id).project_id)
            return client.environment.search_all(name=like_literal(inputs["name"]), project_id=source_project[0])

        outcome = create_or_find(
            "environment",
            inputs["name"],
            client,
            lambda: client.environment.duplicate(source_id, inputs["name"], description=inputs["description"] or OMIT),
            copies,
            id_of=lambda r: r.environment_id,
            created_of=lambda r: r.created_at,
            stamp_of=lambda made: made.created_at,
        )
        row = outcome.created or outcome.found
        assert row is not None
        try:
            out = self._converged(client, row, inputs)
        except DokployError as exc:
            # As for Environment: a failed create leaves nothing in state, so remove the copy. That
            # includes a copy whose env cannot be read: the server copies the source's env as
            # stored, so an undecryptable source gives an undecryptable copy.
            raise rolled_back(client, row.environment_id, exc) from None
        return row.environment_id, self._tracked(out, inputs)

    @staticmethod
    def _converged(client: DokployClient, row: EnvironmentRow, inputs: Props) -> dict[str, Any]:
        """The new copy's outputs, after making it what the program declares."""
        source_id = inputs["source_environment_id"]
        out = environment_values(row)
        # The server copies env (v0.28 and later; v0.26 copies none) and, when no description is
        # sent, the source's description: make the copy what the program declares, and, with env
        # not declared, the source's env on every release.
        changed = {"description"} if out["description"] != inputs["description"] else set()
        wanted = dict(inputs)
        if not inputs["env"] and not out["env"]:
            wanted["env"] = environment_values(client.environment.one(source_id))["env"]
        if wanted["env"] and out["env"] != wanted["env"]:
            changed.add("env")
        if changed:
            out.update(push_environment(client, row.environment_id, wanted, changed, is_default=False))
        return out

    def read(self, client: DokployClient, id_: str, olds: Props) -> Optional[Outputs]:
        out = read_environment(client, id_, olds.get("project_id"))
        return None if out is None else self._tracked(out, olds)

    def before_update(
        self, connect: Callable[[], DokployClient], id_: str, olds: Props, news: Props, changed: set[str]
    ) -> None:
        # Services added to the copy since (Dokploy copies none) may use the keys; an env no longer
        # declared is left alone, so it removes nothing.
        if "env" in changed and news.get("env"):
            guard_env_references(connect, "environment", id_, olds, news)

    def update(self, client: DokployClient, id_: str, olds: Props, news: Props, changed: set[str]) -> Outputs:
        if not news.get("env"):
            changed = changed - {"env"}  # no longer declared: leave the variables as they are
        if not changed:
            return {}
        return self._tracked(push_environment(client, id_, news, changed, is_default=False), news)

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        delete_environment(client, id_, is_default=False)


#: What works when deleting a copy is refused: force_destroy is read from the state, so it must be
#: recorded by an `up` of its own before the destroy or replace that needs it.
FORCE_DESTROY_FIRST = (
    "set force_destroy=True on this ProjectDuplicate with its other inputs as they were, run `pulumi up` "
    "(that only records it), then make your change or destroy."
)


class ProjectDuplicateLifecycle(Lifecycle):
    """A new project made from an environment's services; once made, it is read, updated and
    deleted as a project. Replaced delete-first (see the module docstring)."""

    type_name = "ProjectDuplicate"
    delete_before_replace = True
    inputs = (
        SOURCE_ATTR,
        NAME_ATTR,
        DESCRIPTION_ATTR,
        Attr("include_services", BOOL, replace=True),
        Attr("selected_services", SERVICES, replace=True),
        FORCE_DESTROY,
        CONNECTION_ATTR,
    )
    computed = ("project_id", "created_at", "organization_id", "default_environment_id")

    @staticmethod
    def _shaped(out: dict[str, Any], id_: str) -> dict[str, Any]:
        out.pop("env", None)  # the copy's env is not managed here (project.duplicate never copies it)
        out["project_id"] = id_
        return out

    def create(self, client: DokployClient, inputs: Props) -> tuple[str, Outputs]:
        source_id = inputs["source_environment_id"]
        selected = [{"id": s["id"], "type": s["type"]} for s in inputs["selected_services"]]
        source = _checked_source(client, inputs)
        outcome = create_or_find(
            "project",
            inputs["name"],
            client,
            lambda: client.project.duplicate(
                source_id,
                inputs["name"],
                description=inputs["description"] or OMIT,  # null is rejected
                include_services=inputs["include_services"],
                selected_services=selected or OMIT,
                duplicate_in_same_project=False,
            ),
            lambda: client.project.search_all(name=like_literal(inputs["name"])),
            id_of=lambda r: r.project_id,
            created_of=lambda r: r.created_at,
            # The answer is the new project's default environment, made right after the project.
            stamp_of=lambda made: made.created_at,
        )
        if outcome.found is not None:
            # The answer (the new default environment) was lost: read the project we found instead.
            found_id = outcome.found.project_id
            with adopting("project", found_id):
                found = self.read(client, found_id, inputs)
            if found is None:
                raise RefusedError(f"project {found_id} vanished right after it was created")
            return found_id, found
        row = outcome.created
        assert row is not None
        if not row.project_id:
            raise RefusedError(
                f"project.duplicate answered without the new project's id (its default environment is "
                f"{row.environment_id}); the project {inputs['name']!r} exists but is not managed"
            )
        try:
            out = self.read(client, row.project_id, inputs)
        except DokployError:
            out = None
        if out is None:
            # The project exists: record it rather than leak it. The server took name and
            # description as sent; createdAt is filled in by the next refresh.
            organization = source.project.organization_id if source.project else None
            taken = {"name": inputs["name"], "description": inputs["description"], "organization_id": organization}
            out = self._shaped(taken, row.project_id)
        out["default_environment_id"] = row.environment_id
        return row.project_id, out

    def read(self, client: DokployClient, id_: str, olds: Props) -> Optional[Outputs]:
        out = read_project(client, id_)
        return None if out is None else self._shaped(out, id_)

    def update(self, client: DokployClient, id_: str, olds: Props, news: Props, changed: set[str]) -> Outputs:
        return self._shaped(push_project(client, id_, news, changed), id_)

    def before_replace(
        self, connect: Callable[[], DokployClient], id_: str, olds: Props, news: Props, replaces: list[str]
    ) -> None:
        client = connect()
        # The replace deletes the old copy first: a new copy that cannot be made (a mistyped source,
        # a service it does not hold) must be refused now, not after the old copy and its services
        # are gone.
        if not is_unknown(news.get("source_environment_id")):
            _checked_source(client, news)
        if olds.get("force_destroy"):
            return  # the old copy's delete will go through, services and all
        detail = gone_as_none(lambda: client.project.one(id_))
        held = describe_services(detail) if detail is not None else ""
        if not held:
            return  # gone already, or nothing in it that makes its delete refused
        also = (
            " Setting force_destroy in the same change does not help: the old copy is deleted with the "
            "force_destroy it has in the state."
            if news.get("force_destroy")
            else ""
        )
        raise RefusedError(
            f"changing {', '.join(replaces)} replaces this project, and the old copy cannot be deleted: it holds "
            f"{held}, which Dokploy would delete with it. The project was left as it is.{also} Either delete those services "
            f"in Dokploy and run `pulumi up` again, or {FORCE_DESTROY_FIRST}"
        )

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        delete_project(
            client,
            id_,
            bool(olds.get("force_destroy")),
            advice=f"Remove them first in Dokploy, or {FORCE_DESTROY_FIRST}",
        )


def _checked_source(client: DokployClient, inputs: Mapping[str, Any]) -> EnvironmentDetail:
    """The source environment of a ProjectDuplicate, refused unless it holds every selected service.

    In this mode the server never reads sourceEnvironmentId, and it creates the project before
    copying services: both are checked first, so a typo fails before anything exists (or, for a
    replace, before the old copy is deleted). Selected services still unknown are not checked."""
    source_id = inputs["source_environment_id"]
    source = client.environment.one(source_id)
    selected = inputs.get("selected_services")
    if not inputs.get("include_services") or is_unknown(selected) or not selected:
        return source
    held = {(s.type, s.id) for s in source.services()}
    known = [s for s in selected if not is_unknown(s) and not any(is_unknown(v) for v in s.values())]
    missing = [s for s in known if (s["type"], s["id"]) not in held]
    if missing:
        shown = ", ".join(f"{s['type']} {s['id']}" for s in missing)
        raise RefusedError(f"environment {source.name!r} ({source_id}) holds no {shown}")
    return source
