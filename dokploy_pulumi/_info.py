"""What the look-ups return: frozen results with the field names of the resources' outputs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar, Union

from pulumi import Output

from ._dotenv import parse_env

if TYPE_CHECKING:  # pydantic loads in the provider process only (see `_wire`)
    from ._models import EnvironmentRow, ProjectDetail, ProjectRow, TagRow

T = TypeVar("T")


@dataclass(frozen=True)
class ProjectInfo:
    """A project as the look-ups return it; the field names are the `Project` resource's outputs.

    env is a dict in the plain forms and a secret `Output` of that dict in the `_output` forms.
    default_environment_id is None when the server has no default environment for it (servers
    before v0.25), and always None in `search_projects` results (project.search returns no
    environments).
    """

    id: str
    name: str
    description: str
    env: Union[dict[str, str], Output[dict[str, str]]] = field(repr=False)
    created_at: Optional[str]
    organization_id: Optional[str]
    default_environment_id: Optional[str]


@dataclass(frozen=True)
class EnvironmentInfo:
    """An environment as the look-ups return it; the field names are the `Environment` outputs.

    env is a dict in the plain forms and a secret `Output` of that dict in the `_output` forms.
    """

    id: str
    project_id: Optional[str]
    name: str
    description: str
    env: Union[dict[str, str], Output[dict[str, str]]] = field(repr=False)
    is_default: bool
    created_at: Optional[str]


@dataclass(frozen=True)
class TagInfo:
    """A tag as the look-ups return it; the field names are the `Tag` resource's outputs (a tag
    made without a color has color "")."""

    id: str
    name: str
    color: str
    created_at: Optional[str]
    organization_id: Optional[str]


@dataclass(frozen=True)
class SearchResult(Generic[T]):
    """One page of a search: its items (newest first) and how many match in all."""

    items: list[T]
    total: int


def project_info(row: ProjectRow, default_environment_id: Optional[str]) -> ProjectInfo:
    return ProjectInfo(
        id=row.project_id,
        name=row.name,
        # Same conventions as the resources: a null description reads as "".
        description=row.description or "",
        env=parse_env(row.env),
        created_at=row.created_at,
        organization_id=row.organization_id,
        default_environment_id=default_environment_id,
    )


def detail_info(detail: ProjectDetail) -> ProjectInfo:
    default = detail.default_environment()
    return project_info(detail, default.environment_id if default else None)


def environment_info(row: EnvironmentRow, project_id: Optional[str] = None) -> EnvironmentInfo:
    return EnvironmentInfo(
        id=row.environment_id,
        project_id=row.project_id or project_id,
        name=row.name,
        description=row.description or "",
        env=parse_env(row.env),
        is_default=row.is_default,
        created_at=row.created_at,
    )


def tag_info(row: TagRow) -> TagInfo:
    return TagInfo(
        id=row.tag_id,
        name=row.name,
        color=row.color or "",
        created_at=row.created_at,
        organization_id=row.organization_id,
    )


def secret_env(value: Any) -> Any:
    """Wrap every result's env in a secret Output (created here, on the event loop)."""
    if isinstance(value, (ProjectInfo, EnvironmentInfo)):
        return replace(value, env=Output.secret(value.env))
    if isinstance(value, SearchResult):
        return SearchResult([secret_env(v) for v in value.items], value.total)
    if isinstance(value, list):
        return [secret_env(v) for v in value]
    return value
