"""Pydantic models of what the Dokploy API returns.

They accept the server's camelCase keys, keep unknown fields (newer servers add some), and tolerate
the nulls the server sends: `description` may be null, `env` is treated as "" when null or absent,
and `createdAt` is missing from `environment.one` and `environment.byProjectId`.

Two release rules live here, so that every reader (resources, look-ups, import, recover) gets them:

- the default environment: `EnvironmentRow.is_default` is the server's `isDefault`, and where the
  server has no such column (releases before v0.26.1) the environment named "production", which is
  what those releases' own rules go by;
- ciphertext: since v0.29.12 an `env` the server cannot decrypt comes back as `enc:v1:...`. The
  text is kept, but reading `.env` raises `UndecryptableEnvError`: it is never taken as a value,
  while answers whose env nobody reads (a removal's deleted row) still parse.
"""

from __future__ import annotations

import re
from typing import Any, Generic, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from ._exceptions import UndecryptableEnvError
from ._releases import DEFAULT_ENVIRONMENT_NAME as DEFAULT_ENVIRONMENT_NAME
from ._releases import NO_DEFAULT_REASONS as NO_DEFAULT_REASONS
from ._wire import parse_timestamp as parse_timestamp

#: How Dokploy (v0.29.12+, `packages/server/src/lib/encryption.ts`) marks an encrypted value.
CIPHERTEXT_PREFIX = "enc:v1:"
#: Node's padded base64, as encryptValue writes the iv, GCM tag and data after the prefix.
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
#: A 12-byte iv, a 16-byte tag and at least one byte of data (encryptValue never encrypts "").
_CIPHERTEXT_MIN_BYTES = 12 + 16 + 1


def is_ciphertext(text: str) -> bool:
    """Whether `text` has the whole shape of what Dokploy's encryptValue writes. Dokploy stores a
    written value that merely starts with the prefix unchanged (encryptValue skips it) and answers it
    back as written, and releases before v0.29.12 encrypt nothing: such text is the user's."""
    if not text.startswith(CIPHERTEXT_PREFIX):
        return False
    payload = text[len(CIPHERTEXT_PREFIX) :]
    return _BASE64.fullmatch(payload) is not None and len(payload) // 4 * 3 - payload.count("=") >= (
        _CIPHERTEXT_MIN_BYTES
    )


#: The keys by which a server (v0.26.1 and later) or a caller says which environment is the default.
_HAS_DEFAULT_KEYS = frozenset({"isDefault", "is_default"})

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


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class ServiceRef(BaseModel):
    """One service (application, database, compose stack) found in an environment."""

    type: str
    id: str
    name: str = ""


def _env_never_null(v: Any) -> Any:
    return "" if v is None else v


def readable_env(text: str, kind: str, object_id: str, name: str) -> str:
    """`text` as the variables, unless it is ciphertext the server could not decrypt."""
    if is_ciphertext(text):
        raise UndecryptableEnvError(kind, object_id, name)
    return text


class ProjectRow(_Model):
    project_id: str
    name: str
    description: Optional[str] = None
    created_at: Optional[str] = None
    organization_id: Optional[str] = None
    #: The `env` text as the server answered it; read `.env`, which refuses ciphertext.
    env_text: str = Field(default="", alias="env", repr=False)

    env_never_null = field_validator("env_text", mode="before")(_env_never_null)

    @property
    def env(self) -> str:
        """The project's dotenv text (UndecryptableEnvError when the server answered ciphertext)."""
        return readable_env(self.env_text, "project", self.project_id, self.name)


class EnvironmentRow(_Model):
    environment_id: str
    name: str
    description: Optional[str] = None
    created_at: Optional[str] = None
    #: The `env` text as the server answered it; read `.env`, which refuses ciphertext.
    env_text: str = Field(default="", alias="env", repr=False)
    project_id: Optional[str] = None
    #: The default environment: `isDefault` where the server has the column (v0.26.1 and later),
    #: else the name rule of the releases before it (see `_default_by_name`).
    is_default: bool = False
    applications: list[dict[str, Any]] = Field(default_factory=list)
    compose: list[dict[str, Any]] = Field(default_factory=list)
    libsql: list[dict[str, Any]] = Field(default_factory=list)
    mariadb: list[dict[str, Any]] = Field(default_factory=list)
    mongo: list[dict[str, Any]] = Field(default_factory=list)
    mysql: list[dict[str, Any]] = Field(default_factory=list)
    postgres: list[dict[str, Any]] = Field(default_factory=list)
    redis: list[dict[str, Any]] = Field(default_factory=list)

    env_never_null = field_validator("env_text", mode="before")(_env_never_null)

    @model_validator(mode="before")
    @classmethod
    def _default_by_name(cls, data: Any) -> Any:
        # Releases before DEFAULT_ENVIRONMENT_SINCE have no isDefault column, and every answer they
        # send lacks the key; their rules (no removing, no creating or renaming *to* it) make the
        # environment named "production" the default. A server that sends the key decides.
        if isinstance(data, dict) and not _HAS_DEFAULT_KEYS & data.keys():
            return {**data, "isDefault": data.get("name") == DEFAULT_ENVIRONMENT_NAME}
        return data

    @property
    def env(self) -> str:
        """The environment's dotenv text (UndecryptableEnvError when the server answered ciphertext)."""
        return readable_env(self.env_text, "environment", self.environment_id, self.name)

    @field_validator(*SERVICE_TYPES, mode="before")
    @classmethod
    def _list_never_null(cls, v: Any) -> Any:
        return [] if v is None else v

    def services(self) -> list[ServiceRef]:
        """Every service record in this environment, as (type, id, name)."""
        return [ref for ref, _ in self.service_rows()]

    def service_rows(self) -> list[tuple[ServiceRef, dict[str, Any]]]:
        """Every service record with the columns the read gave for it."""
        found: list[tuple[ServiceRef, dict[str, Any]]] = []
        for array in SERVICE_TYPES:
            kind = SERVICE_KIND[array]
            for svc in getattr(self, array):
                sid = svc.get(f"{kind}Id") or svc.get("id") or ""
                found.append((ServiceRef(type=kind, id=str(sid), name=str(svc.get("name") or "")), svc))
        return found


class TagRow(_Model):
    """A tag (v0.29.0+): `tag.create` / `tag.one` / `tag.update` / `tag.all`, and `projectTags[].tag`."""

    tag_id: str
    name: str
    color: Optional[str] = None
    created_at: Optional[str] = None
    organization_id: Optional[str] = None


class Success(_Model):
    """`{"success": true}`: what tag.remove, tag.bulkAssign and tag.removeFromProject answer."""

    success: bool


class ProjectTag(_Model):
    """One row of a project's `projectTags`: the link and the tag it names."""

    id: Optional[str] = None
    project_id: Optional[str] = None
    tag_id: str
    tag: Optional[TagRow] = None


class ServiceEnv(_Model):
    """A service's variables: the columns in which Dokploy resolves `${{project.KEY}}` and
    `${{environment.KEY}}` (every caller of `prepareEnvironmentVariables` in
    packages/server/src/utils/builders and utils/databases: `env` of every service type; build args and
    secrets, and their preview-deployment forms, of applications). Each is dotenv text, or null."""

    env: Optional[str] = None
    build_args: Optional[str] = None
    build_secrets: Optional[str] = None
    preview_env: Optional[str] = None
    preview_build_args: Optional[str] = None
    preview_build_secrets: Optional[str] = None

    def columns(self) -> dict[str, str]:
        """The columns that hold text (not null), by their API names."""
        return {
            to_camel(name): value for name in type(self).model_fields if isinstance(value := getattr(self, name), str)
        }


class ProjectDetail(ProjectRow):
    """`project.one`: the row with its environments (and their services)."""

    environments: list[EnvironmentRow] = Field(default_factory=list)
    #: None when the answer has no `projectTags` key: a server before the tags release (v0.29.0).
    project_tags: Optional[list[ProjectTag]] = None

    @field_validator("environments", mode="before")
    @classmethod
    def _envs_never_null(cls, v: Any) -> Any:
        return [] if v is None else v

    @field_validator("environments", mode="before")
    @classmethod
    def _one_default_by_name(cls, v: Any) -> Any:
        # Releases before DEFAULT_ENVIRONMENT_SINCE refuse the name "production" in
        # environment.create/update but not in environment.duplicate, so a project can hold two
        # of that name. Only the one project.create made, the oldest, is the default: the other is
        # someone's environment, which adoption must not take nor destroy delete unasked.
        if not isinstance(v, list) or any(not isinstance(e, dict) or _HAS_DEFAULT_KEYS & e.keys() for e in v):
            return v
        named = [i for i, e in enumerate(v) if e.get("name") == DEFAULT_ENVIRONMENT_NAME]
        if len(named) < 2:
            return v
        # createdAt is an ISO-8601 text in UTC on those releases (whole rows): it sorts as text.
        oldest = min(named, key=lambda i: (str(v[i].get("createdAt") or "\uffff"), i))
        return [{**e, "isDefault": i == oldest} if i in named else e for i, e in enumerate(v)]

    def tag_ids(self) -> Optional[list[str]]:
        """The ids of the project's tags, sorted (the form `Project.tags` is kept in); None when the
        server sent no `projectTags` (it has no tags)."""
        if self.project_tags is None:
            return None
        return sorted({t.tag_id for t in self.project_tags})

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
