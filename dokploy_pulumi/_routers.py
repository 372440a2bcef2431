"""The `project.*`, `environment.*` and `tag.*` procedures, one method each, on top of `DokployClient`
(which they know only as a `Caller`).

Every method passes its arguments through unchanged: snake_case names become the API's camelCase
keys (`project_id` -> `projectId`), `OMIT` leaves a key out (Dokploy tells absent from null), and the
answer is validated into a model. On servers without `project.search` /
`environment.search`, learned from the router's answer once per client), the searches are answered
here from `project.all` / `project.one` with the server's matching rules (`_ilike.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Optional, Protocol, TypeVar

import pydantic
from pydantic.alias_generators import to_camel

from . import _exceptions as E
from ._ilike import matches
from ._models import (
    EnvironmentDetail,
    EnvironmentRow,
    ProjectCreateResult,
    ProjectDetail,
    ProjectRow,
    ProjectTag,
    SearchPage,
    ServiceEnv,
    Success,
    TagRow,
)
from ._transport import OMIT, Transport

SEARCH_PAGE_MAX = 100  # the largest `limit` project.search / environment.search accept
SEARCH_PAGE_DEFAULT = 20

_T = TypeVar("_T")
_Row = TypeVar("_Row", ProjectRow, EnvironmentRow)


def parse(procedure: str, model: Callable[[Any], _T], data: Any) -> _T:
    """Validate a 200 body. A wrong shape (a proxy's JSON, an incompatible server) raises
    InvalidResponseError naming the procedure, like any other failed call; the message lists the
    fields only, never their values (they may hold env secrets), and nothing is chained."""
    try:
        return model(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()[:5]
        )
    raise E.InvalidResponseError(
        f"Dokploy {procedure}: answered 200 with a body of an unexpected shape ({problems})",
        procedure=procedure,
        status=200,
    )


def _many(model: Any) -> Callable[[Any], list[Any]]:
    return lambda data: [model.model_validate(item) for item in data or []]


def _all_pages(
    search: Callable[..., SearchPage[Any]], filters: dict[str, Any], key: Callable[[Any], str]
) -> Iterator[Any]:
    """Every item of a search, once each, fetching pages of the largest size the API allows.

    Pages are newest first, so an object created while paging shifts older items onto the next
    page: items already seen (by id) are skipped.
    """
    seen: set[str] = set()
    offset = 0
    while True:
        page = search(limit=SEARCH_PAGE_MAX, offset=offset, **filters)
        for item in page.items:
            if key(item) not in seen:
                seen.add(key(item))
                yield item
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def _local_page(rows: list[_Row], filters: dict[str, Any]) -> SearchPage[_Row]:
    """A search page computed here, with the server's matching rules, for servers without the searches.
    `limit` and `offset` are checked as the server checks them (1..100, >= 0)."""
    problems = {}
    if filters["limit"] is not None and not 1 <= int(filters["limit"]) <= SEARCH_PAGE_MAX:
        problems["limit"] = [f"must be between 1 and {SEARCH_PAGE_MAX}"]
    if filters["offset"] is not None and int(filters["offset"]) < 0:
        problems["offset"] = ["must be 0 or more"]
    if problems:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items())
        raise E.InputValidationError(f"search: invalid paging ({detail})", field_errors=problems)
    found = [r for r in rows if matches(r.name, r.description, filters["q"], filters["name"], filters["description"])]
    start = int(filters["offset"] or 0)
    end = start + int(filters["limit"] or SEARCH_PAGE_DEFAULT)
    return SearchPage[Any](items=found[start:end], total=len(found))


class Caller(Protocol):
    """What a router needs of its client (`DokployClient` is the one): declared here, below the
    client, so that the client imports the routers and never the other way round."""

    @property
    def _t(self) -> Transport: ...

    @property
    def project(self) -> ProjectAPI: ...

    def get(self, procedure: str, params: Optional[dict[str, Any]], *, auth: bool = True) -> Any: ...

    def post(self, procedure: str, body: dict[str, Any]) -> Any: ...

    def supports(self, procedure: str) -> bool: ...

    def lacks(self, procedure: str) -> None: ...

    def explain_missing(self, exc: E.UnknownProcedureError) -> E.UnknownProcedureError: ...


class _Router:
    def __init__(self, client: Caller) -> None:
        self._c = client

    def _call(self, method: str, procedure: str, model: Callable[[Any], _T], **fields: Any) -> _T:
        """Send one procedure with `fields` (camelCased, OMIT left out) and validate the answer."""
        payload = {to_camel(k): v for k, v in fields.items() if v is not OMIT}
        try:
            data = self._c.get(procedure, payload) if method == "GET" else self._c.post(procedure, payload)
        except E.UnknownProcedureError as exc:
            raise self._c.explain_missing(exc) from None
        try:
            return parse(procedure, model, data)
        except E.InvalidResponseError as exc:
            # Worded here, not by the transport: the same redaction as any error about this request.
            raise E.redact_error(exc, self._c._t.secrets(payload)) from None

    def _search(self, procedure: str, model: Callable[[Any], _T], local: Callable[[], list[Any]], **filters: Any) -> _T:
        """The server's search page; the same page computed from `local()` rows when the server has
        no such procedure (learned from the router's answer, once per client)."""
        if self._c.supports(procedure):
            try:
                return self._call("GET", procedure, model, **filters)
            except E.UnknownProcedureError:
                self._c.lacks(procedure)
        return model(_local_page(local(), filters))


class ProjectAPI(_Router):
    """`project.*` procedures."""

    def create(self, name: str, *, description: Any = OMIT, env: Any = OMIT) -> ProjectCreateResult:
        return self._call(
            "POST", "project.create", ProjectCreateResult.from_response, name=name, description=description, env=env
        )

    def one(self, project_id: str) -> ProjectDetail:
        return self._call("GET", "project.one", ProjectDetail.model_validate, project_id=project_id)

    def all(self) -> list[ProjectDetail]:
        return self._call("GET", "project.all", _many(ProjectDetail))

    def all_for_permissions(self) -> list[dict[str, Any]]:
        return self._call("GET", "project.allForPermissions", lambda data: list(data or []))

    def search(self, q: Optional[str] = None, *, name: Optional[str] = None, description: Optional[str] = None,
               limit: Optional[int] = None, offset: Optional[int] = None) -> SearchPage[ProjectRow]:  # fmt: skip
        """`project.search`; on servers without it, the same page computed from `project.all`
        (newest first, like the search)."""
        return self._search("project.search", SearchPage[ProjectRow].model_validate, self.all,
                            q=q, name=name, description=description, limit=limit, offset=offset)  # fmt: skip

    def search_all(
        self, q: Optional[str] = None, *, name: Optional[str] = None, description: Optional[str] = None
    ) -> Iterator[ProjectRow]:
        """Every match of `search`, paging lazily (stop iterating to stop fetching)."""
        return _all_pages(self.search, {"q": q, "name": name, "description": description}, lambda r: r.project_id)

    def update(self, project_id: str, *, name: Any = OMIT, description: Any = OMIT, env: Any = OMIT) -> ProjectRow:
        # Never send organizationId/createdAt: the server would write them.
        return self._call("POST", "project.update", ProjectRow.model_validate,
                          project_id=project_id, name=name, description=description, env=env)  # fmt: skip

    def remove(self, project_id: str) -> ProjectRow:
        return self._call("POST", "project.remove", ProjectRow.model_validate, project_id=project_id)

    def duplicate(self, source_environment_id: str, name: str, *, description: Any = OMIT, include_services: Any = OMIT,
                  selected_services: Any = OMIT, duplicate_in_same_project: Any = OMIT) -> EnvironmentRow:  # fmt: skip
        """Returns an *environment* row: the new project's default environment (or the source one)."""
        return self._call("POST", "project.duplicate", EnvironmentRow.model_validate,
                          source_environment_id=source_environment_id, name=name, description=description,
                          include_services=include_services, selected_services=selected_services,
                          duplicate_in_same_project=duplicate_in_same_project)  # fmt: skip


class EnvironmentAPI(_Router):
    """`environment.*` procedures."""

    def create(self, project_id: str, name: str, *, description: Any = OMIT) -> EnvironmentRow:
        # No env field: the server silently ignores one here, so callers set env with update().
        try:
            return self._call("POST", "environment.create", EnvironmentRow.model_validate,
                              project_id=project_id, name=name, description=description)  # fmt: skip
        except E.BadRequestError as exc:
            if isinstance(exc, E.InputValidationError):
                raise
            # An unknown project fails the insert, and the server reports the raw SQL error (its text
            # differs between releases). Ask whether the project exists rather than read the words.
            raise self._missing_project(project_id, exc) from None

    def _missing_project(self, project_id: str, exc: E.BadRequestError) -> E.DokployError:
        try:
            self._c.project.one(project_id)
        except E.NotFoundError as gone:
            return E.NotFoundError(
                f"{exc.message} (project {project_id} does not exist: {gone.server_message})",
                **exc.context(),
            )
        except E.DokployError:
            pass
        return exc

    def one(self, environment_id: str) -> EnvironmentDetail:
        return self._call("GET", "environment.one", EnvironmentDetail.model_validate, environment_id=environment_id)

    def by_project_id(self, project_id: str) -> list[EnvironmentDetail]:
        return self._call("GET", "environment.byProjectId", _many(EnvironmentDetail), project_id=project_id)

    def search(self, q: Optional[str] = None, *, name: Optional[str] = None, description: Optional[str] = None,
               project_id: Optional[str] = None, limit: Optional[int] = None,
               offset: Optional[int] = None) -> SearchPage[EnvironmentRow]:  # fmt: skip
        """`environment.search`; on servers without it, the same page computed from `project.one`
        (the only read that returns environments with `createdAt` and `env`)."""
        return self._search("environment.search", SearchPage[EnvironmentRow].model_validate,
                            lambda: self._all_rows(project_id), q=q, name=name, description=description,
                            project_id=project_id, limit=limit, offset=offset)  # fmt: skip

    def _all_rows(self, project_id: Optional[str]) -> list[EnvironmentRow]:
        """Every environment (of one project, or of all), newest first, as full rows."""
        project_ids = [project_id] if project_id else [p.project_id for p in self._c.project.all()]
        rows: list[EnvironmentRow] = []
        for pid in project_ids:
            try:
                detail = self._c.project.one(pid)
            except E.NotFoundError:
                continue  # an unknown projectId matches nothing, as in the search
            for env in detail.environments:
                env.project_id = env.project_id or detail.project_id
                rows.append(env)
        rows.sort(key=lambda r: r.created_at or "", reverse=True)
        return rows

    def search_all(self, q: Optional[str] = None, *, name: Optional[str] = None, description: Optional[str] = None,
                   project_id: Optional[str] = None) -> Iterator[EnvironmentRow]:  # fmt: skip
        """Every match of `search`, paging lazily (stop iterating to stop fetching)."""
        filters = {"q": q, "name": name, "description": description, "project_id": project_id}
        return _all_pages(self.search, filters, lambda r: r.environment_id)

    def update(
        self, environment_id: str, *, name: Any = OMIT, description: Any = OMIT, env: Any = OMIT
    ) -> EnvironmentRow:
        # No projectId: every release accepts one and moves the environment without checking the target.
        return self._call("POST", "environment.update", EnvironmentRow.model_validate, environment_id=environment_id,
                          name=name, description=description, env=env)  # fmt: skip

    def remove(self, environment_id: str) -> EnvironmentRow:
        return self._call("POST", "environment.remove", EnvironmentRow.model_validate, environment_id=environment_id)

    def duplicate(self, environment_id: str, name: str, *, description: Any = OMIT) -> EnvironmentRow:
        return self._call("POST", "environment.duplicate", EnvironmentRow.model_validate,
                          environment_id=environment_id, name=name, description=description)  # fmt: skip


class TagAPI(_Router):
    """`tag.*` procedures (v0.29.0+; `apps/dokploy/server/api/routers/tag.ts`). A name used twice in
    an organization is the server's CONFLICT (a unique index), on create and on update."""

    def create(self, name: str, *, color: Any = OMIT) -> TagRow:
        return self._call("POST", "tag.create", TagRow.model_validate, name=name, color=color)

    def one(self, tag_id: str) -> TagRow:
        return self._call("GET", "tag.one", TagRow.model_validate, tag_id=tag_id)

    def all(self) -> list[TagRow]:
        """The organization's tags, by name."""
        return self._call("GET", "tag.all", _many(TagRow))

    def update(self, tag_id: str, *, name: Any = OMIT, color: Any = OMIT) -> TagRow:
        return self._call("POST", "tag.update", TagRow.model_validate, tag_id=tag_id, name=name, color=color)

    def remove(self, tag_id: str) -> Success:
        """Deletes the tag and (a database cascade) its links to projects."""
        return self._call("POST", "tag.remove", Success.model_validate, tag_id=tag_id)

    def assign_to_project(self, project_id: str, tag_id: str) -> ProjectTag:
        """Adds one link (the server's CONFLICT when the project has that tag already)."""
        return self._call(
            "POST", "tag.assignToProject", ProjectTag.model_validate, project_id=project_id, tag_id=tag_id
        )

    def remove_from_project(self, project_id: str, tag_id: str) -> Success:
        return self._call("POST", "tag.removeFromProject", Success.model_validate, project_id=project_id, tag_id=tag_id)

    def bulk_assign(self, project_id: str, tag_ids: list[str]) -> Success:
        """Replace the project's whole set of tags. The ids are sent once each: the server deletes
        the old links before inserting the new ones, not in one transaction, so a repeated id (a
        unique-index error) would leave the project with no tags at all."""
        unique = list(dict.fromkeys(tag_ids))
        return self._call("POST", "tag.bulkAssign", Success.model_validate, project_id=project_id, tag_ids=unique)


class ServiceAPI(_Router):
    """`<type>.one` of the service routers (application, compose, the databases), for their variables."""

    def env(self, kind: str, service_id: str) -> ServiceEnv:
        """The variables of one service; `kind` is its `type` (`application`, `postgres`...), which
        names both the router and the id field (`application.one {applicationId}`)."""
        return self._call("GET", f"{kind}.one", ServiceEnv.model_validate, **{f"{kind}_id": service_id})
