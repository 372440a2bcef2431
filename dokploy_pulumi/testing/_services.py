"""Services (applications, databases, compose stacks) as the project/environment reads show them.

The emulator keeps one kind of service row for every table; the reads attach them to
environments as arrays (``applications``, ``compose``, ``libsql``, ...), each read with its own
column selection. v0.30.2 selects columns (``packages/server/src/services/environment.ts``,
``apps/dokploy/server/api/routers/project.ts``); v0.26.7 returns whole rows. Services are made
through the emulator's ``add_service`` hook, or ``application.create`` as on the real API (which
inserts rows only, no Docker); what a whole v0.26.7 row holds is taken from its source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._releases import Release

__all__ = ["SERVICE_TYPES", "ServiceType", "service_arrays", "service_one", "service_type_names", "variable_columns"]


@dataclass(frozen=True)
class ServiceType:
    """One service table: its ``type`` name, relation (array) name, id column and not-found text."""

    type: str
    array: str
    id_key: str
    label: str  # findXById's NOT_FOUND message prefix, e.g. "Postgres not found"

    @property
    def status_key(self) -> str:
        return "composeStatus" if self.type == "compose" else "applicationStatus"

    @property
    def has_icon(self) -> bool:
        return self.type in ("application", "compose")

    @property
    def variable_columns(self) -> tuple[str, ...]:
        """The columns holding dotenv text (nullable, null until saved): ``env`` on every table, and
        build args and secrets with their preview forms on applications."""
        if self.type == "application":
            return ("env", "buildArgs", "buildSecrets", "previewEnv", "previewBuildArgs", "previewBuildSecrets")
        return ("env",)


SERVICE_TYPES: dict[str, ServiceType] = {
    t.type: t
    for t in (
        ServiceType("application", "applications", "applicationId", "Application"),
        ServiceType("compose", "compose", "composeId", "Compose"),
        ServiceType("libsql", "libsql", "libsqlId", "Libsql"),
        ServiceType("mariadb", "mariadb", "mariadbId", "Mariadb"),
        ServiceType("mongo", "mongo", "mongoId", "Mongo"),
        ServiceType("mysql", "mysql", "mysqlId", "MySql"),
        ServiceType("postgres", "postgres", "postgresId", "Postgres"),
        ServiceType("redis", "redis", "redisId", "Redis"),
    )
}

#: v0.26.7's order, both of its ``selectedServices`` enum and of the arrays in its reads.
_V0_26_ORDER = ("application", "postgres", "mariadb", "mongo", "mysql", "redis", "compose")
_V0_26_ARRAYS = ("application", "mariadb", "mongo", "mysql", "postgres", "redis", "compose")


def service_type_names(release: Release) -> tuple[str, ...]:
    """The ``type`` values ``project.duplicate`` accepts, in the release's enum order."""
    return tuple(SERVICE_TYPES) if release.libsql else _V0_26_ORDER


def _array_types(release: Release) -> tuple[str, ...]:
    return tuple(SERVICE_TYPES) if release.libsql else _V0_26_ARRAYS


def service_arrays(services: Iterable[dict[str, Any]], release: Release, style: str) -> dict[str, list[dict[str, Any]]]:
    """The arrays one environment carries in a read, in the order the release writes them.

    ``style``: ``short`` (project.all), ``detail`` (project.one, environment.byProjectId),
    ``environment`` (environment.one, project.duplicate's same-project answer) or
    ``permissions`` (project.allForPermissions). v0.26.7 shows whole rows whatever the style.
    """
    arrays: dict[str, list[dict[str, Any]]] = {SERVICE_TYPES[t].array: [] for t in _array_types(release)}
    for svc in services:
        kind = SERVICE_TYPES[svc["type"]]
        if kind.array in arrays:
            view = _slim_view(svc, kind, style) if release.slim_reads else _whole_row(svc, kind, style)
            arrays[kind.array].append(view)
    return arrays


def _slim_view(svc: dict[str, Any], kind: ServiceType, style: str) -> dict[str, Any]:
    if style == "short":
        if kind.type in ("application", "compose"):
            return {kind.id_key: svc["id"], "name": svc["name"], kind.status_key: svc["status"]}
        return {kind.id_key: svc["id"]}
    view: dict[str, Any] = {kind.id_key: svc["id"], "name": svc["name"]}
    if style in ("detail", "permissions"):  # serviceColumns of findEnvironmentsByProjectId
        view["appName"] = svc["appName"]
    view.update(
        {
            "description": svc["description"],
            "createdAt": svc["createdAt"],
            "serverId": svc["serverId"],
            kind.status_key: svc["status"],
        }
    )
    if style != "permissions":
        if kind.has_icon:
            view["icon"] = svc["icon"]
        view["server"] = None  # `with: { server: ... }`, null without a remote server
    return view


def variable_columns(svc: dict[str, Any], kind: ServiceType) -> dict[str, Any]:
    """The service's variable columns as a whole row has them (rows made before they were kept: null)."""
    return {column: svc.get(column) for column in kind.variable_columns}


def service_one(svc: dict[str, Any]) -> dict[str, Any]:
    """``<type>.one``: the whole row (``find<Type>ById``; the relations it attaches are left out)."""
    kind = SERVICE_TYPES[svc["type"]]
    return _whole_row(svc, kind, "one")


def _whole_row(svc: dict[str, Any], kind: ServiceType, style: str) -> dict[str, Any]:
    """The columns every service table shares and its variables, plus the relations v0.26.7's query attaches."""
    view: dict[str, Any] = {
        kind.id_key: svc["id"],
        "name": svc["name"],
        "appName": svc["appName"],
        "description": svc["description"],
        kind.status_key: svc["status"],
        "createdAt": svc["createdAt"],
        "environmentId": svc["environmentId"],
        "serverId": svc["serverId"],
        **variable_columns(svc, kind),
    }
    if style == "short" and kind.has_icon:
        view["domains"] = []  # project.all: `with: { domains: true }`
    if style == "environment":
        if kind.has_icon:
            view["deployments"] = []
        view["server"] = None
    return view
