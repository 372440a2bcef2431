"""The ``project.*`` procedures (``apps/dokploy/server/api/routers/project.ts``).

Each handler takes a :class:`Call` and the validated input, and returns the answer or raises
``TRPCError`` / ``DatabaseError`` exactly where Dokploy's handler does (wrapping included).
"""

from __future__ import annotations

from typing import Any

from ._call import Call, procedure
from ._errors import DatabaseError, TRPCError, sql_update
from ._services import SERVICE_TYPES
from ._store import PROJECT_COLUMNS


@procedure("project.create")
def create(call: Call, data: dict[str, Any]) -> Any:
    try:
        project = call.store.insert_project(call.org, data["name"], data.get("description"), data.get("env", ""))
        if call.legacy_create:
            return project  # before v0.25.0: the bare row, and no environment
        return {"project": project, "environment": call.store.insert_default_environment(project["projectId"])}
    except (TRPCError, DatabaseError) as exc:
        raise call.wrap("Error creating the project", exc) from exc


def _get(call: Call, project_id: str, verb: str) -> dict[str, Any]:
    project = call.store.projects.get(project_id)
    if project is None:
        raise TRPCError("NOT_FOUND", "Project not found")
    if project["organizationId"] != call.org:
        raise TRPCError("UNAUTHORIZED", f"You are not authorized to {verb} this project")
    return project


def _tags(call: Call, project_id: str) -> dict[str, Any]:
    return {"projectTags": call.store.tags_of_project(project_id)} if call.release.tags else {}


@procedure("project.one")
def one(call: Call, data: dict[str, Any]) -> Any:
    project = _get(call, data["projectId"], "access")
    environments = [
        call.environment_row_with_services(env, "detail") for env in call.store.envs_of(project["projectId"])
    ]
    return {**project, "environments": environments, **_tags(call, project["projectId"])}


@procedure("project.all")
def all_(call: Call, data: dict[str, Any]) -> Any:
    def environment(env: dict[str, Any]) -> dict[str, Any]:
        if not call.release.slim_reads:  # v0.26.7: whole rows
            return call.environment_row_with_services(env, "short")
        short = {k: env[k] for k in ("name", "environmentId", "isDefault")}
        return {**short, **call.services(env["environmentId"], "short")}

    return [
        {
            **project,
            "environments": [environment(e) for e in call.store.envs_of(project["projectId"])],
            **_tags(call, project["projectId"]),
        }
        for project in call.store.projects_of(call.org)
    ]


@procedure("project.allForPermissions")
def all_for_permissions(call: Call, data: dict[str, Any]) -> Any:
    return [
        {
            "projectId": project["projectId"],
            "name": project["name"],
            "environments": [
                {
                    "environmentId": env["environmentId"],
                    "name": env["name"],
                    "isDefault": env["isDefault"],
                    **call.services(env["environmentId"], "permissions"),
                }
                for env in call.store.envs_of(project["projectId"])
            ],
        }
        for project in call.store.projects_of(call.org)
    ]


@procedure("project.update")
def update(call: Call, data: dict[str, Any]) -> Any:
    # Not wrapped: 404 / 401 come through as they are. The whole input is written, projectId,
    # organizationId and createdAt included (`updateProjectById(input.projectId, {...input})`).
    project = _get(call, data["projectId"], "update")
    organization = data.get("organizationId")
    if organization is not None and organization not in call.store.organizations:
        sql, params = sql_update("project", PROJECT_COLUMNS, "projectId", project["projectId"], data)
        raise DatabaseError(
            'insert or update on table "project" violates foreign key constraint '
            '"project_organizationId_organization_id_fk"',
            sql,
            params,
        )
    for key in ("name", "description", "createdAt", "organizationId", "env"):
        if key in data:
            project[key] = data[key]
    return dict(project)


@procedure("project.remove")
def remove(call: Call, data: dict[str, Any]) -> Any:
    _get(call, data["projectId"], "delete")
    return call.store.delete_project_rows(data["projectId"])


@procedure("project.duplicate")
def duplicate(call: Call, data: dict[str, Any]) -> Any:
    # Every error is re-thrown as 400 "Error duplicating the project: ...". The steps are not
    # one transaction: a project created before a failing copy stays.
    store = call.store
    try:
        if data["duplicateInSameProject"]:
            source = store.environments.get(data["sourceEnvironmentId"])
            if source is None:
                raise TRPCError("NOT_FOUND", "Environment not found")
            result = call.environment_one(source)  # read before the copies
            if store.org_of(source) != call.org:
                raise TRPCError("UNAUTHORIZED", "You are not authorized to access this project")
            target_id = source["environmentId"]
        else:
            # This mode never looks at sourceEnvironmentId, and the new project does not get
            # the source project's env.
            project = store.insert_project(call.org, data["name"], data.get("description"), "")
            result = store.insert_default_environment(project["projectId"])
            target_id = result["environmentId"]
        if data["includeServices"]:
            for selected in data.get("selectedServices") or []:
                kind = SERVICE_TYPES[selected["type"]]
                original = store.services.get(selected["id"])
                if original is None or original["type"] != kind.type:
                    raise TRPCError("NOT_FOUND", f"{kind.label} not found")
                suffix = " (copy)" if data["duplicateInSameProject"] else ""
                extra = {k: original[k] for k in ("description", "serverId", "status", "icon")}
                store.insert_service(target_id, kind.type, original["name"] + suffix, **extra)
        return result
    except (TRPCError, DatabaseError) as exc:
        raise call.wrap("Error duplicating the project", exc) from exc
