"""The service procedures the provider and its tests use (``apps/dokploy/server/api/routers/<type>.ts``):
``application.create`` and ``application.saveEnvironment`` (a service with variables, made as the real
API makes one, without Docker), and ``<type>.one`` of every service type (its whole row, variables
included: what the env-reference guard reads on releases whose environment reads are slim).
"""

from __future__ import annotations

from typing import Any

from ._call import Call, procedure
from ._errors import TRPCError
from ._services import SERVICE_TYPES, ServiceType, service_one


def _get(call: Call, kind: ServiceType, service_id: str) -> dict[str, Any]:
    """``find<Type>ById`` and the organization check after it."""
    svc = call.store.services.get(service_id)
    if svc is None or svc["type"] != kind.type:
        raise TRPCError("NOT_FOUND", f"{kind.label} not found")
    env = call.store.environments.get(svc["environmentId"])
    if env is None or call.store.org_of(env) != call.org:
        raise TRPCError("UNAUTHORIZED", f"You are not authorized to access this {kind.type}")
    return svc


def _one(kind: ServiceType) -> None:
    @procedure(f"{kind.type}.one")
    def one(call: Call, data: dict[str, Any]) -> Any:
        return service_one(_get(call, kind, data[kind.id_key]))


for _kind in SERVICE_TYPES.values():
    _one(_kind)


@procedure("application.create")
def create_application(call: Call, data: dict[str, Any]) -> Any:
    # Errors other than TRPCErrors are wrapped as 400 "Error creating the application".
    env = call.store.environments.get(data["environmentId"])
    if env is None:
        raise TRPCError("NOT_FOUND", "Environment not found")
    if call.store.org_of(env) != call.org:
        raise TRPCError("UNAUTHORIZED", "You are not authorized to access this project")
    row = call.store.insert_service(env["environmentId"], "application", data["name"])
    if data.get("description") is not None:
        row["description"] = data["description"]
    # v0.25.11 answers `true` (seen on the real server); v0.26.7 and later the new row. Not pinned
    # between them: the two are told apart by the release that brought isDefault.
    return service_one(row) if call.release.is_default_column else True


@procedure("application.saveEnvironment")
def save_environment(call: Call, data: dict[str, Any]) -> Any:
    svc = _get(call, SERVICE_TYPES["application"], data["applicationId"])
    svc.update({k: data[k] for k in ("env", "buildArgs", "buildSecrets") if k in data})  # absent: not written
    return True
