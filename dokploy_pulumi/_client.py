"""A synchronous, typed client for Dokploy's project and environment API.

`DokployClient` holds one `Transport` (send, retry, map errors) and one object per router
(`client.project`, `client.environment`) with a method per procedure. It also learns, once per
client, which procedures the server lacks: `project.search` and `environment.search` exist only
since v0.28.0, and on older servers the searches are answered from `project.all` / `project.one`
with the same matching rules (see `_ilike.py`).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, Optional, TypeVar, Union

import httpx
import pydantic

from . import _exceptions as E
from ._ilike import like_literal, matches
from ._models import (
    EnvironmentDetail,
    EnvironmentRow,
    ProjectCreateResult,
    ProjectDetail,
    ProjectRow,
    SearchPage,
)
from ._session import Session
from ._transport import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    OMIT,
    USER_AGENT,
    RetryPolicy,
    ServerClock,
    Transport,
    normalize_url,
)

__all__ = ["DokployClient", "OMIT", "USER_AGENT", "like_literal", "normalize_url", "SEARCH_PAGE_MAX"]

SEARCH_PAGE_MAX = 100  # the largest `limit` project.search / environment.search accept
SEARCH_PAGE_DEFAULT = 20

#: The first release that has each procedure family; named in errors from older servers.
SINCE: dict[str, str] = {
    "project.search": "v0.28.0",
    "environment.search": "v0.28.0",
    "environment.": "v0.25.0",
    "project.duplicate": "v0.25.0",
}


class DokployClient:
    """One Dokploy server and API key, with one connection pool shared by every call and thread.

    `verify` is True (check TLS against the system store), a CA-bundle path, or False (warned).
    GET requests are retried with exponential backoff, jitter and `Retry-After` on connection errors,
    timeouts, 429, 502, 503 and 504. POSTs are retried only when the connection could not even be
    opened, because a mutation that may have reached the server must never be blindly repeated.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        verify: Union[bool, str] = True,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        transport: Optional[httpx.BaseTransport] = None,
        session: Optional[Session] = None,
    ) -> None:
        policy = RetryPolicy(max_retries=int(max_retries), backoff=backoff, max_backoff=max_backoff)
        self._t = Transport(
            url, api_key, timeout=timeout, retry=policy, verify=verify, transport=transport, session=session
        )
        self._missing: set[str] = set()
        self._missing_lock = threading.Lock()
        self._version: Optional[str] = None
        self.project = ProjectAPI(self)
        self.environment = EnvironmentAPI(self)

    def __repr__(self) -> str:
        return f"DokployClient({self.base_url!r})"

    @property
    def base_url(self) -> str:
        return self._t.base_url

    @property
    def timeout(self) -> float:
        return self._t.timeout

    @property
    def max_retries(self) -> int:
        return self._t.retry.max_retries

    @property
    def session(self) -> Session:
        return self._t.session

    @property
    def clock(self) -> ServerClock:
        """The server's clock as measured from its `Date` headers (see `ServerClock`)."""
        return self._t.clock

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> "DokployClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- procedures that are not per-router --------------------------------------------------------
    def health(self) -> bool:
        """`GET /api/health` (no auth)."""
        data = self._t.get("health", None, auth=False)
        return bool(isinstance(data, dict) and data.get("ok"))

    def version(self) -> str:
        """The server's Dokploy version, e.g. "v0.30.2" (`settings.getDokployVersion`)."""
        version = str(self.get("settings.getDokployVersion", None))
        self._version = version
        return version

    # -- what the server has -----------------------------------------------------------------------
    def supports(self, procedure: str) -> bool:
        """False once the server's router said it has no such procedure."""
        with self._missing_lock:
            return procedure not in self._missing

    def _lacks(self, procedure: str) -> None:
        with self._missing_lock:
            self._missing.add(procedure)

    def _explain_missing(self, exc: E.UnknownProcedureError) -> E.UnknownProcedureError:
        """The router's 404, with the server's version: too old for the procedure, or not the
        Dokploy the URL should reach (the release has it, yet something answered that it does not)."""
        procedure = exc.procedure or ""
        since = next((v for k, v in SINCE.items() if procedure == k or (k.endswith(".") and procedure.startswith(k))), None)
        try:
            version = self._version or self.version()
        except E.DokployError:
            return exc
        if since is not None and _release(version) < _release(since):
            message = (
                f"the Dokploy at {self.base_url} is {version}, which has no procedure {procedure} (it exists "
                f"since {since}; dokploy-pulumi needs v0.25.0 or later). Upgrade Dokploy. "
                f"(The server answered: {exc.server_message}.)"
            )
        else:
            message = (
                f"{exc.message} The server reports {version}, which should have it: the URL probably "
                "points at something else, or a proxy in front of Dokploy rewrote the request."
            )
        return E.UnknownProcedureError(
            message,
            status=exc.status,
            server_message=exc.server_message,
            body=exc.body,
            procedure=exc.procedure,
            method=exc.method,
            path=exc.path,
        )

    # -- transport ---------------------------------------------------------------------------------
    def get(self, procedure: str, params: Optional[dict[str, Any]], *, auth: bool = True) -> Any:
        return self._t.get(procedure, params, auth=auth)

    def post(self, procedure: str, body: dict[str, Any]) -> Any:
        return self._t.post(procedure, body)


_T = TypeVar("_T")


def _release(version: str) -> tuple[int, ...]:
    """(0, 30, 2) for "v0.30.2"; anything unparsable sorts as the newest (claims nothing)."""
    try:
        return tuple(int(part) for part in version.strip().lstrip("v").split("-")[0].split("."))
    except ValueError:
        return (10**6,)


def _parse(procedure: str, parse: Callable[[Any], _T], data: Any) -> _T:
    """Validate a 200 body. A wrong shape (a proxy's JSON, an incompatible server) raises
    InvalidResponseError naming the procedure, like any other failed call; the message lists the
    fields only, never their values (they may hold env secrets), and nothing is chained."""
    try:
        return parse(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()[:5]
        )
    raise E.InvalidResponseError(
        f"Dokploy {procedure}: answered 200 with a body of an unexpected shape ({problems})",
        procedure=procedure,
        status=200,
    )


def _all_pages(
    search: Callable[..., "SearchPage[Any]"], filters: dict[str, Any], key: Callable[[Any], str]
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


_Row = TypeVar("_Row", ProjectRow, EnvironmentRow)


def _local_page(rows: list[_Row], q: Any, name: Any, description: Any, limit: Any, offset: Any) -> SearchPage[_Row]:
    """A search page computed here, with the server's matching rules, for servers before v0.28."""
    found = [r for r in rows if matches(r.name, r.description, q, name, description)]
    start = int(offset or 0)
    return SearchPage[Any](items=found[start : start + int(limit or SEARCH_PAGE_DEFAULT)], total=len(found))


class _Router:
    def __init__(self, client: DokployClient) -> None:
        self._c = client

    def _get(self, procedure: str, params: Optional[dict[str, Any]]) -> Any:
        try:
            return self._c.get(procedure, params)
        except E.UnknownProcedureError as exc:
            raise self._c._explain_missing(exc) from None

    def _post(self, procedure: str, body: dict[str, Any]) -> Any:
        try:
            return self._c.post(procedure, body)
        except E.UnknownProcedureError as exc:
            raise self._c._explain_missing(exc) from None

    def _search(self, procedure: str, params: dict[str, Any]) -> Optional[Any]:
        """The server's search answer, or None when the server has no such procedure (learned once)."""
        if not self._c.supports(procedure):
            return None
        try:
            return self._c.get(procedure, params)
        except E.UnknownProcedureError:
            self._c._lacks(procedure)
            return None


class ProjectAPI(_Router):
    """`project.*` procedures."""

    def create(self, name: str, *, description: Any = OMIT, env: Any = OMIT) -> ProjectCreateResult:
        data = self._post("project.create", {"name": name, "description": description, "env": env})
        return _parse("project.create", ProjectCreateResult.from_response, data)

    def one(self, project_id: str) -> ProjectDetail:
        data = self._get("project.one", {"projectId": project_id})
        return _parse("project.one", ProjectDetail.model_validate, data)

    def all(self) -> list[ProjectDetail]:
        data = self._get("project.all", None) or []
        return _parse("project.all", lambda d: [ProjectDetail.model_validate(p) for p in d], data)

    def all_for_permissions(self) -> list[dict[str, Any]]:
        return list(self._get("project.allForPermissions", None) or [])

    def search(
        self,
        q: Optional[str] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> SearchPage[ProjectRow]:
        """`project.search`; on servers before v0.28, the same page computed from `project.all`."""
        data = self._search(
            "project.search", {"q": q, "name": name, "description": description, "limit": limit, "offset": offset}
        )
        if data is None:
            rows: list[ProjectRow] = list(self.all())  # newest first, like the search
            return _local_page(rows, q, name, description, limit, offset)
        return _parse("project.search", SearchPage[ProjectRow].model_validate, data)

    def search_all(
        self, q: Optional[str] = None, *, name: Optional[str] = None, description: Optional[str] = None
    ) -> Iterator[ProjectRow]:
        """Every match of `search`, paging lazily (stop iterating to stop fetching)."""
        return _all_pages(self.search, {"q": q, "name": name, "description": description}, lambda r: r.project_id)

    def update(self, project_id: str, *, name: Any = OMIT, description: Any = OMIT, env: Any = OMIT) -> ProjectRow:
        # Never send organizationId/createdAt: the server would write them.
        data = self._post(
            "project.update", {"projectId": project_id, "name": name, "description": description, "env": env}
        )
        return _parse("project.update", ProjectRow.model_validate, data)

    def remove(self, project_id: str) -> ProjectRow:
        data = self._post("project.remove", {"projectId": project_id})
        return _parse("project.remove", ProjectRow.model_validate, data)

    def duplicate(
        self,
        source_environment_id: str,
        name: str,
        *,
        description: Any = OMIT,
        include_services: Any = OMIT,
        selected_services: Any = OMIT,
        duplicate_in_same_project: Any = OMIT,
    ) -> EnvironmentRow:
        """Returns an *environment* row: the new project's default environment (or the source one)."""
        data = self._post(
            "project.duplicate",
            {
                "sourceEnvironmentId": source_environment_id,
                "name": name,
                "description": description,
                "includeServices": include_services,
                "selectedServices": selected_services,
                "duplicateInSameProject": duplicate_in_same_project,
            },
        )
        return _parse("project.duplicate", EnvironmentRow.model_validate, data)


class EnvironmentAPI(_Router):
    """`environment.*` procedures."""

    def create(self, project_id: str, name: str, *, description: Any = OMIT) -> EnvironmentRow:
        # No env field: the server silently ignores one here, so callers set env with update().
        try:
            data = self._post("environment.create", {"projectId": project_id, "name": name, "description": description})
        except E.BadRequestError as exc:
            if isinstance(exc, E.InputValidationError):
                raise
            # An unknown project fails the insert, and the server reports the raw SQL error (its text
            # differs between releases). Ask whether the project exists rather than read the words.
            raise self._missing_project(project_id, exc) from None
        return _parse("environment.create", EnvironmentRow.model_validate, data)

    def _missing_project(self, project_id: str, exc: E.BadRequestError) -> E.DokployError:
        try:
            self._c.project.one(project_id)
        except E.NotFoundError as gone:
            return E.NotFoundError(
                f"{exc.message} (project {project_id} does not exist: {gone.server_message})",
                status=exc.status,
                server_message=exc.server_message,
                body=exc.body,
                procedure=exc.procedure,
                method=exc.method,
                path=exc.path,
            )
        except E.DokployError:
            pass
        return exc

    def one(self, environment_id: str) -> EnvironmentDetail:
        data = self._get("environment.one", {"environmentId": environment_id})
        return _parse("environment.one", EnvironmentDetail.model_validate, data)

    def by_project_id(self, project_id: str) -> list[EnvironmentDetail]:
        data = self._get("environment.byProjectId", {"projectId": project_id}) or []
        return _parse("environment.byProjectId", lambda d: [EnvironmentDetail.model_validate(e) for e in d], data)

    def search(
        self,
        q: Optional[str] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        project_id: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> SearchPage[EnvironmentRow]:
        """`environment.search`; on servers before v0.28, the same page computed from `project.one`
        (the only read that returns environments with `createdAt` and `env`)."""
        data = self._search(
            "environment.search",
            {
                "q": q,
                "name": name,
                "description": description,
                "projectId": project_id,
                "limit": limit,
                "offset": offset,
            },
        )
        if data is None:
            rows = self._all_rows(project_id)
            return _local_page(rows, q, name, description, limit, offset)
        return _parse("environment.search", SearchPage[EnvironmentRow].model_validate, data)

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

    def search_all(
        self,
        q: Optional[str] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        project_id: Optional[str] = None,
    ) -> Iterator[EnvironmentRow]:
        """Every match of `search`, paging lazily (stop iterating to stop fetching)."""
        filters = {"q": q, "name": name, "description": description, "project_id": project_id}
        return _all_pages(self.search, filters, lambda r: r.environment_id)

    def update(
        self,
        environment_id: str,
        *,
        name: Any = OMIT,
        description: Any = OMIT,
        env: Any = OMIT,
        project_id: Any = OMIT,
    ) -> EnvironmentRow:
        data = self._post(
            "environment.update",
            {
                "environmentId": environment_id,
                "name": name,
                "description": description,
                "env": env,
                "projectId": project_id,
            },
        )
        return _parse("environment.update", EnvironmentRow.model_validate, data)

    def remove(self, environment_id: str) -> EnvironmentRow:
        data = self._post("environment.remove", {"environmentId": environment_id})
        return _parse("environment.remove", EnvironmentRow.model_validate, data)

    def duplicate(self, environment_id: str, name: str, *, description: Any = OMIT) -> EnvironmentRow:
        data = self._post(
            "environment.duplicate", {"environmentId": environment_id, "name": name, "description": description}
        )
        return _parse("environment.duplicate", EnvironmentRow.model_validate, data)
