"""The Dokploy environment, declared for the shared lifecycle engine.

Requests per operation: create 1 (`environment.create`) plus 1 `environment.update` when env is
set, because `environment.create` silently ignores env; adopting (the default "production"
environment, or any by `adopt_id`) 1 (`project.one`, whose rows carry `createdAt`) plus 1 update
when something differs; read 1 (`environment.one`); update 1; delete 1 (`environment.remove`, or for
the default environment an `environment.update` that restores its defaults, since Dokploy cannot
delete it).

The operations on an environment that exists (read, push, delete, roll back) are module functions,
so that `EnvironmentDuplicate` (`_duplicates.py`) is made of the same parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from pulumi.dynamic import CheckFailure

from ._attrs import ID, Attr, is_unknown
from ._dotenv import parse_env, serialize_env
from ._exceptions import BadRequestError, DokployError, InputValidationError, NotFoundError, RefusedError
from ._ilike import like_literal
from ._lifecycle import Lifecycle, Outputs, Props, gone_as_none
from ._project import CONNECTION_ATTR, DESCRIPTION_ATTR, ENV_ATTR, NAME_ATTR
from ._reconcile import create_or_find, remove_or_confirm
from ._references import ALLOW_BREAKING_ATTR, guard_env_references
from ._releases import (
    DEFAULT_ENVIRONMENT_DESCRIPTION,
    DEFAULT_ENVIRONMENT_NAME,
    DEFAULT_ENVIRONMENT_SINCE,
    NO_DEFAULT_REASONS,
)
from ._wire import OMIT

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient
    from ._models import EnvironmentRow

DEFAULT_NAME = DEFAULT_ENVIRONMENT_NAME
DEFAULT_DESCRIPTION = DEFAULT_ENVIRONMENT_DESCRIPTION


def environment_values(row: EnvironmentRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": row.name,
        "description": row.description or "",
        "env": parse_env(row.env),
        "is_default": row.is_default,
    }
    if row.project_id:
        out["project_id"] = row.project_id
    if row.created_at:  # environment.one has no createdAt: keep what create stored
        out["created_at"] = row.created_at
    return out


def read_environment(client: DokployClient, id_: str, project_id: Optional[str]) -> Optional[Outputs]:
    """The environment's outputs, or None when it is gone. A NOT_FOUND from `environment.one` is
    confirmed through its project: v0.26 also answers it for another organization's environment
    (v0.30 answers 403), and that must not read as "deleted"."""
    try:
        return environment_values(client.environment.one(id_))
    except NotFoundError:
        pass
    if not project_id:
        return None
    project: str = project_id
    # Gone with its project (NOT_FOUND), or missing from a project this key can read. A project of
    # another organization answers 401, which propagates: nothing is concluded then.
    detail = gone_as_none(lambda: client.project.one(project))
    if detail is not None and any(e.environment_id == id_ for e in detail.environments):
        raise RefusedError(
            f"environment.one says environment {id_} does not exist, but project {project_id} lists it: "
            "the server's answers disagree, so Pulumi keeps it in state. Try again."
        )
    return None


def push_environment(
    client: DokployClient, id_: str, inputs: Mapping[str, Any], changed: set[str], *, is_default: bool
) -> dict[str, Any]:
    """One `environment.update` sending exactly the changed fields (never `projectId`: the server
    would move the environment without checking the target)."""
    name = inputs["name"] if "name" in changed and not is_default else OMIT
    try:
        row = client.environment.update(
            id_,
            # Sending `name` at all to the default environment fails, even unchanged.
            name=name,
            # null is rejected here; "" clears.
            description=inputs["description"] if "description" in changed else OMIT,
            env=serialize_env(inputs["env"]) if "env" in changed else OMIT,
        )
    except BadRequestError as exc:
        if name != DEFAULT_NAME or isinstance(exc, InputValidationError):
            raise
        # Known from what was sent, not from the server's words: servers without isDefault refuse
        # the new name "production" (it would make a second default).
        raise RefusedError(
            f"Dokploy refused to name environment {id_} {DEFAULT_NAME!r} ({exc.server_message or exc}). "
            f"Servers before {DEFAULT_ENVIRONMENT_SINCE} keep that name for the project's default environment: "
            "they refuse to give it to another one, and once the default is renamed away it cannot get the "
            "name back. Choose another name.",
            procedure=exc.procedure,
            status=exc.status,
            server_message=exc.server_message,
        ) from None
    return environment_values(row)


def rolled_back(client: DokployClient, id_: str, cause: DokployError) -> DokployError:
    """Remove an environment whose creation failed half-way (its env unreadable, or setting env or
    description refused); the error to raise says what happened."""
    try:
        client.environment.remove(id_)
    except NotFoundError:
        pass
    except DokployError as exc:
        return DokployError(
            f"completing the new environment {id_} (reading or setting its env and description) failed: "
            f"{cause} Removing that environment again failed too ({exc}), so it is left in Dokploy without "
            f"Pulumi knowing. Delete it in Dokploy, or declare it with adopt_id={id_!r}, then run `pulumi up` again."
        )
    return DokployError(
        f"completing the new environment (reading or setting its env and description) failed: {cause} "
        f"The environment it had just created ({id_}) was removed again: nothing was created. "
        "Run `pulumi up` again."
    )


def delete_environment(client: DokployClient, id_: str, *, is_default: bool) -> None:
    """Remove the environment (the default one: restore its defaults), never its services.

    Looks first: v0.30 refuses to remove an environment with services, but v0.26 deletes their
    records with it (and orphans their containers), so the refusal cannot be left to the server.
    """
    if is_default:
        # Dokploy cannot delete it: restore what project.create made, then forget it.
        gone_as_none(lambda: client.environment.update(id_, description=DEFAULT_DESCRIPTION, env=""))
        return
    try:
        services = client.environment.one(id_).services()
    except NotFoundError:
        return  # already gone
    if services:
        held = "; ".join(f"{svc.type} {svc.name!r} ({svc.id})" for svc in services)
        raise RefusedError(
            f"it holds {len(services)} service(s): {held}. Dokploy would delete their records with it (or "
            "refuse). Delete or move them (or protect this environment with `retain_on_delete`), then "
            "destroy again."
        )
    remove_or_confirm(
        f"environment {id_}",
        lambda: client.environment.remove(id_),
        lambda: client.environment.one(id_),
        client.timeout,
    )


def converge(client: DokployClient, row: EnvironmentRow, inputs: Mapping[str, Any], fields: set[str]) -> dict[str, Any]:
    """Outputs for an existing environment made to match `inputs` in `fields` (one update, only if
    something differs)."""
    out = environment_values(row)
    changed = {k for k in fields if out[k] != inputs[k]}
    if "env" in changed:
        # Adopting writes the declared env over what the server holds: the same hazard as an update.
        guard_env_references(lambda: client, "environment", row.environment_id, out, inputs)
    if changed:
        out.update(push_environment(client, row.environment_id, inputs, changed, is_default=row.is_default))
    return out


class EnvironmentLifecycle(Lifecycle):
    type_name = "Environment"
    inputs = (
        Attr("project_id", ID, required=True, replace=True),
        NAME_ATTR,
        DESCRIPTION_ATTR,
        ENV_ATTR,
        CONNECTION_ATTR,
        Attr("adopt_id", ID, create_only=True),
        ALLOW_BREAKING_ATTR,
    )
    #: `adopted_default`: this resource took over the project's default environment, which destroy
    #: gives back (its defaults restored) rather than removes. Recorded at create and kept by every
    #: read (none returns it), because `is_default` can turn false: releases before v0.26.1 let the
    #: default be renamed away by hand, and then nothing the server says shows it was adopted.
    computed = ("is_default", "created_at", "adopted_default")

    def unmanaged(self, news: Mapping[str, Any]) -> frozenset[str]:
        # The default environment exists before Pulumi declares it, with Dokploy's description
        # ("Production environment", or whatever was typed in the UI). Left unset, that description
        # is the server's: adopting must not erase it, and it costs no update.
        if news.get("name") == DEFAULT_NAME and news.get("description") is None:
            return frozenset({"description"})
        return frozenset()

    def validate(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[CheckFailure]:
        old, new = olds.get("name"), news.get("name")
        if is_unknown(new) or not olds:
            return []
        if old == DEFAULT_NAME and new != DEFAULT_NAME:
            return [
                CheckFailure("name", f"the default {DEFAULT_NAME!r} environment cannot be renamed (Dokploy refuses)")
            ]
        if new == DEFAULT_NAME and old != DEFAULT_NAME:
            return [
                CheckFailure(
                    "name",
                    f"{DEFAULT_NAME!r} is not a name you can give an environment: it is the name that adopts "
                    f"the project's default environment. Declare a new Environment named {DEFAULT_NAME!r} instead.",
                )
            ]
        return []

    def create(self, client: DokployClient, inputs: Props) -> tuple[str, Outputs]:
        fields = {"name", "description", "env"} - self.unmanaged(inputs)
        if inputs.get("adopt_id"):
            row = self._in_project(client, inputs["project_id"], inputs["adopt_id"])
            return row.environment_id, {**converge(client, row, inputs, fields), "adopted_default": row.is_default}
        if inputs["name"] == DEFAULT_NAME:
            # Dokploy created it with the project and refuses to create another: adopt it.
            row = self._in_project(client, inputs["project_id"], None)
            return row.environment_id, {**converge(client, row, inputs, fields), "adopted_default": True}
        outcome = create_or_find(
            "environment",
            inputs["name"],
            client,
            lambda: client.environment.create(
                inputs["project_id"], inputs["name"], description=inputs["description"] or OMIT
            ),
            lambda: client.environment.search_all(name=like_literal(inputs["name"]), project_id=inputs["project_id"]),
            id_of=lambda r: r.environment_id,
            created_of=lambda r: r.created_at,
            stamp_of=lambda made: made.created_at,
        )
        made = outcome.created or outcome.found
        assert made is not None
        row = made
        out = environment_values(row)
        if inputs["env"]:
            try:
                out.update(push_environment(client, row.environment_id, inputs, {"env"}, is_default=False))
            except DokployError as exc:
                # A failed create leaves nothing in Pulumi state: remove what was just made, or the
                # environment would be an orphan that no later `pulumi up` knows about.
                raise rolled_back(client, row.environment_id, exc) from None
            out["created_at"] = row.created_at
        return row.environment_id, {**out, "adopted_default": False}

    @staticmethod
    def _in_project(client: DokployClient, project_id: str, id_: Optional[str]) -> EnvironmentRow:
        """An environment of the project (its default one when `id_` is None), read through
        `project.one`: its rows carry createdAt, which environment.one lacks, in one request."""
        if id_ is None:
            row = client.project.one(project_id).default_environment()
            if row is None:
                raise RefusedError(
                    f"project {project_id} has no default {DEFAULT_NAME!r} environment ({NO_DEFAULT_REASONS}); "
                    "declare another name"
                )
        else:
            try:
                environments = client.project.one(project_id).environments
            except NotFoundError:
                environments = []
            row = next((e for e in environments if e.environment_id == id_), None)
            if row is None:
                # Not in that project: say where it is, if anywhere (one more request, only here).
                other = client.environment.one(id_)
                raise RefusedError(
                    f"environment {id_} belongs to project {other.project_id}, not {project_id}; adopt "
                    "it with that project_id"
                )
        row.project_id = row.project_id or project_id
        return row

    def read(self, client: DokployClient, id_: str, olds: Props) -> Optional[Outputs]:
        return read_environment(client, id_, olds.get("project_id"))

    def before_update(
        self, connect: Callable[[], DokployClient], id_: str, olds: Props, news: Props, changed: set[str]
    ) -> None:
        if "env" in changed:
            guard_env_references(connect, "environment", id_, olds, news)

    def update(self, client: DokployClient, id_: str, olds: Props, news: Props, changed: set[str]) -> Outputs:
        return push_environment(client, id_, news, changed, is_default=bool(olds.get("is_default")))

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        # A state written before `adopted_default` existed has only `is_default` to go by.
        adopted = bool(olds.get("is_default") or olds.get("adopted_default"))
        delete_environment(client, id_, is_default=adopted)
