"""The ``environment.*`` procedures (``apps/dokploy/server/api/routers/environment.ts`` and
``packages/server/src/services/environment.ts``).

Most handlers wrap every failure into a 400 of their own (``"Error updating the environment: ..."``);
which ones do, and what they let through, is kept exactly as each release has it.
"""

from __future__ import annotations

from typing import Any

from .._releases import DEFAULT_ENVIRONMENT_NAME
from ._call import Call, procedure
from ._errors import DatabaseError, TRPCError, sql_insert, sql_update
from ._store import ENVIRONMENT_COLUMNS, new_id

_FK = 'insert or update on table "environment" violates foreign key constraint "environment_projectId_project_projectId_fk"'


@procedure("environment.create")
def create(call: Call, data: dict[str, Any]) -> Any:
    # An `env` key is not in the schema: validation already dropped it.
    try:
        if data["name"] == DEFAULT_ENVIRONMENT_NAME:
            raise TRPCError(
                "BAD_REQUEST",
                f"You cannot create a environment with the name {DEFAULT_ENVIRONMENT_NAME!r}"
                if call.release.is_default_column
                else "Environment name cannot be production",  # v0.25.x
            )
        if data["projectId"] not in call.store.projects:
            # Owners pass checkEnvironmentCreationPermission without a look at the project, so the
            # insert is what fails, on the foreign key (having drawn an id and a stamp).
            values = {**data, "environmentId": new_id(), "createdAt": call.store.clock.stamp()}
            sql, params = sql_insert("environment", ENVIRONMENT_COLUMNS, values)
            raise DatabaseError(_FK, sql, params)
        # Like the real server, a project of another organization is accepted here.
        return call.store.insert_environment(data["projectId"], data["name"], data.get("description"), "", False)
    except DatabaseError as exc:  # TRPCErrors are re-thrown as they are
        raise call.wrap("Error creating the environment", exc) from exc


def _get(call: Call, environment_id: str) -> dict[str, Any]:
    """``findEnvironmentById`` and the organization check every handler makes after it."""
    env = call.store.environments.get(environment_id)
    if env is None:
        raise TRPCError("NOT_FOUND", "Environment not found")
    if call.store.org_of(env) != call.org:
        raise TRPCError("FORBIDDEN", "You are not allowed to access this environment")
    return env


@procedure("environment.one")
def one(call: Call, data: dict[str, Any]) -> Any:
    try:
        return call.environment_one(_get(call, data["environmentId"]))
    except TRPCError:
        if call.release.environment_one_hides_errors:  # v0.26.7: one catch-all around the handler
            raise TRPCError("NOT_FOUND", "Environment not found") from None
        raise


@procedure("environment.byProjectId")
def by_project_id(call: Call, data: dict[str, Any]) -> Any:
    store = call.store
    envs = store.envs_of(data["projectId"])  # an unknown project has none: 200 []
    if any(store.org_of(env) != call.org for env in envs):
        raise TRPCError("BAD_REQUEST", "Error fetching environments: You are not allowed to access this environment")
    return [call.by_project_item(env) for env in envs]


@procedure("environment.update")
def update(call: Call, data: dict[str, Any]) -> Any:
    changes = {k: v for k, v in data.items() if k != "environmentId"}
    try:
        if not call.release.is_default_column and changes.get("name") == DEFAULT_ENVIRONMENT_NAME:
            # v0.25.x, before looking the environment up: the new name "production" is refused
            # (even unchanged, on the default environment itself); renaming it away is not.
            raise TRPCError("BAD_REQUEST", "Environment name cannot be production")
        env = call.store.environments.get(data["environmentId"])
        if env is None:
            raise TRPCError("NOT_FOUND", "Environment not found")
        if call.release.is_default_column and env["isDefault"] and "name" in changes:  # even an unchanged name
            raise TRPCError("BAD_REQUEST", "You cannot rename the default environment")
        if call.store.org_of(env) != call.org:
            raise TRPCError("FORBIDDEN", "You are not allowed to access this environment")
        if not changes:
            raise DatabaseError("No values to set")  # drizzle's own error for `.set({})`
        if "projectId" in changes and changes["projectId"] not in call.store.projects:
            sql, params = sql_update("environment", ENVIRONMENT_COLUMNS, "environmentId", env["environmentId"], changes)
            raise DatabaseError(_FK, sql, params)
        env.update(changes)
        return dict(env)
    except (TRPCError, DatabaseError) as exc:
        raise call.wrap("Error updating the environment", exc) from exc


@procedure("environment.remove")
def remove(call: Call, data: dict[str, Any]) -> Any:
    env = _get(call, data["environmentId"])
    if not call.release.is_default_column:
        if env["name"] == DEFAULT_ENVIRONMENT_NAME:  # v0.25.x: the default is the one of that name
            raise TRPCError("BAD_REQUEST", "You cannot delete the production environment")
    elif env["isDefault"]:
        raise TRPCError("BAD_REQUEST", "You cannot delete the default environment")
    if call.release.remove_refuses_services and call.store.services_of(env["environmentId"]):
        raise TRPCError("BAD_REQUEST", "Cannot delete environment: it has active services. Delete all services first.")
    return call.store.delete_environment_rows(env["environmentId"])  # v0.26.7: cascades to services


@procedure("environment.duplicate")
def duplicate(call: Call, data: dict[str, Any]) -> Any:
    try:
        source = _get(call, data["environmentId"])
        # Services are NOT copied; the description falls back when empty or null (`||`).
        return call.store.insert_environment(
            source["projectId"],
            data["name"],
            data.get("description") or source["description"],
            source["env"] if call.release.duplicate_copies_env else "",
            False,
        )
    except (TRPCError, DatabaseError) as exc:
        raise call.wrap("Error duplicating the environment", exc) from exc
