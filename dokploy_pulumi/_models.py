"""Pydantic models of what the Dokploy API returns.

They accept the server's camelCase keys, keep unknown fields (newer servers add some), and tolerate
the nulls the server sends: `description` may be null, `env` is treated as "" when null or absent,
and `createdAt` is missing from `environment.one` and `environment.byProjectId`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

#: The service arrays Dokploy attaches to each environment in `project.one` / `environment.one`.
SERVICE_TYPES: tuple[str, ...] = (
    "applications",
    "compose",
    "libsql",
    "mariadb",
    "mongo",
    "mysql",
    "postgres",
    "redis",
)

# The service `type` used by project.duplicate's selectedServices, per array name.
SERVICE_KIND = {
    "applications": "application",
    "compose": "compose",
    "libsql": "libsql",
    "mariadb": "mariadb",
    "mongo": "mongo",
    "mysql": "mysql",
    "postgres": "postgres",
    "redis": "redis",
}


def parse_timestamp(text: Any) -> Optional[dt.datetime]:
    """An ISO-8601 time as Dokploy (`createdAt`, JavaScript's toISOString) or Go (Pulumi's lock
    files, nanoseconds) writes it, timezone-aware; None if it is not one. Fractions are cut or
    padded to microseconds, which `fromisoformat` needs before Python 3.11."""
    if not isinstance(text, str) or not text:
        return None
    head, dot, tail = text.strip().replace("Z", "+00:00").partition(".")
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))  # the fraction's leading digits only
        head = f"{head}.{tail[:digits][:6].ljust(6, '0')}{tail[digits:]}"
    try:
        moment = dt.datetime.fromisoformat(head)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class ServiceRef(BaseModel):
    """One service (application, database, compose stack) found in an environment."""

    type: str
    id: str
    name: str = ""


class ProjectRow(_Model):
    project_id: str
    name: str
    description: Optional[str] = None
    created_at: Optional[str] = None
    organization_id: Optional[str] = None
    env: str = ""

    @field_validator("env", mode="before")
    @classmethod
    def _env_never_null(cls, v: Any) -> Any:
        return "" if v is None else v


class EnvironmentRow(_Model):
    environment_id: str
    name: str
    description: Optional[str] = None
    created_at: Optional[str] = None
    env: str = ""
    project_id: Optional[str] = None
    is_default: bool = False
    applications: list[dict[str, Any]] = Field(default_factory=list)
    compose: list[dict[str, Any]] = Field(default_factory=list)
    libsql: list[dict[str, Any]] = Field(default_factory=list)
    mariadb: list[dict[str, Any]] = Field(default_factory=list)
    mongo: list[dict[str, Any]] = Field(default_factory=list)
    mysql: list[dict[str, Any]] = Field(default_factory=list)
    postgres: list[dict[str, Any]] = Field(default_factory=list)
    redis: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("env", mode="before")
    @classmethod
    def _env_never_null(cls, v: Any) -> Any:
        return "" if v is None else v

    @field_validator(*SERVICE_TYPES, mode="before")
    @classmethod
    def _list_never_null(cls, v: Any) -> Any:
        return [] if v is None else v

    def services(self) -> list[ServiceRef]:
        """Every service record in this environment, as (type, id, name)."""
        found: list[ServiceRef] = []
        for array in SERVICE_TYPES:
            kind = SERVICE_KIND[array]
            for svc in getattr(self, array):
                sid = svc.get(f"{kind}Id") or svc.get("id") or ""
                found.append(ServiceRef(type=kind, id=str(sid), name=str(svc.get("name") or "")))
        return found


class ProjectDetail(ProjectRow):
    """`project.one`: the row with its environments (and their services)."""

    environments: list[EnvironmentRow] = Field(default_factory=list)

    @field_validator("environments", mode="before")
    @classmethod
    def _envs_never_null(cls, v: Any) -> Any:
        return [] if v is None else v

    def default_environment(self) -> Optional[EnvironmentRow]:
        return next((e for e in self.environments if e.is_default), None)

    def services(self) -> list[tuple[EnvironmentRow, ServiceRef]]:
        return [(env, svc) for env in self.environments for svc in env.services()]


class EnvironmentDetail(EnvironmentRow):
    """`environment.one`: the row (without createdAt) plus services and its full project row."""

    project: Optional[ProjectRow] = None


class ProjectCreateResult(BaseModel):
    """`project.create`: v0.25+ answers `{project, environment}`; older servers the bare row."""

    project: ProjectRow
    environment: Optional[EnvironmentRow] = None

    @classmethod
    def from_response(cls, data: Any) -> ProjectCreateResult:
        if isinstance(data, dict) and "project" in data and isinstance(data["project"], dict):
            return cls.model_validate(data)
        return cls(project=ProjectRow.model_validate(data))


T = TypeVar("T")


class SearchPage(BaseModel, Generic[T]):
    """One page of `project.search` / `environment.search`: items (newest first) and the total count."""

    items: list[T]
    total: int
