"""A synchronous, typed client for Dokploy's project and environment API, on httpx.

Transport facts it depends on (see the API contract): procedures live at `<url>/api/<router>.<proc>`;
queries are GET with a query string, mutations POST with a JSON body; success is a bare 200 JSON
body; errors use tRPC's shape, except 401 which is a bare `{"message": "Unauthorized"}`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import random
import ssl
import warnings
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator, Mapping, Optional, TypeVar, Union
from urllib.parse import urlsplit

import httpx
import pydantic
import tenacity

from . import _exceptions as E
from ._models import (
    EnvironmentDetail,
    EnvironmentRow,
    ProjectCreateResult,
    ProjectDetail,
    ProjectRow,
    SearchPage,
)
from ._version import __version__

USER_AGENT = f"dokploy-pulumi/{__version__} (+python; httpx/{httpx.__version__})"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3

# Statuses after which repeating a *safe* request can help: proxies and overloaded servers.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})


class _Omit:
    """Marks an argument as absent, which Dokploy treats differently from null (see the dialects)."""

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT: Any = _Omit()


def normalize_url(url: str) -> str:
    """Return the API base `<scheme>://<host>[/prefix]/api/` for a URL given with or without `/api`."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("the Dokploy URL is empty")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the Dokploy URL must start with http:// or https:// and name a host: {url!r}")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return f"{parts.scheme}://{parts.netloc}{path}/api/"


def is_loopback_host(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _retry_after_seconds(response: httpx.Response) -> Optional[float]:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import datetime as _dt

        when = parsedate_to_datetime(value)
        return max(0.0, (when - _dt.datetime.now(when.tzinfo)).total_seconds())
    except (TypeError, ValueError):
        return None


# Keys (as digests of URL and key) that got an authenticated 2xx in this process. Process-wide, because
# each resource type's provider holds its own client for the same key: a key that just worked for
# projects and now gets 401 creating an environment is rate-limited too, not wrong.
_KEYS_THAT_WORKED: set[str] = set()


def _key_id(base_url: str, api_key: str) -> str:
    return hashlib.sha256(f"{base_url}\0{api_key}".encode()).hexdigest()


def _tls_verify(verify: Union[bool, str]) -> Union[bool, ssl.SSLContext]:
    """httpx's `verify`: a CA-bundle path (file or directory) becomes an SSL context that trusts it
    (httpx deprecates `verify=<path>`); a path that does not exist or holds no certificate is an
    error naming it, rather than a bare FileNotFoundError at the first request."""
    if not isinstance(verify, str):
        return verify
    path = os.path.expanduser(verify)
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        if os.path.isfile(path):
            return ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"the CA bundle {verify!r} cannot be loaded: {exc}") from None
    raise ValueError(f"the CA bundle {verify!r} does not exist")


def _server_message(body: Any, text: str) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    snippet = " ".join(text.split())[:200]
    return snippet or "(empty body)"


def _field_errors(body: Any) -> dict[str, list[str]]:
    """Collect the server's per-field reasons from `issues` or `data.zodError.fieldErrors`."""
    errors: dict[str, list[str]] = {}
    if not isinstance(body, dict):
        return errors
    for issue in body.get("issues") or []:
        if isinstance(issue, dict):
            path = ".".join(str(p) for p in issue.get("path") or []) or "(input)"
            errors.setdefault(path, []).append(str(issue.get("message", "")))
    zod = (body.get("data") or {}).get("zodError") if isinstance(body.get("data"), dict) else None
    if isinstance(zod, dict):
        for field, reasons in (zod.get("fieldErrors") or {}).items():
            for reason in reasons or []:
                if reason not in errors.get(field, []):
                    errors.setdefault(field, []).append(str(reason))
    return errors




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
    ) -> None:
        self.base_url = normalize_url(url)
        if not api_key:
            raise ValueError("the Dokploy API key is empty")
        host = urlsplit(self.base_url).hostname or ""
        if self.base_url.startswith("http://") and not is_loopback_host(host):
            warnings.warn(
                f"Dokploy URL {self.base_url} uses plain http to a non-loopback host: the API key "
                "travels unencrypted. Use https.",
                stacklevel=2,
            )
        if verify is False:
            warnings.warn("TLS certificate verification is disabled for Dokploy (verify=False).", stacklevel=2)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"x-api-key": api_key, "user-agent": USER_AGENT, "accept": "application/json"},
            timeout=self.timeout,
            verify=_tls_verify(verify),
            transport=transport,
            follow_redirects=False,
        )
        # Dokploy answers a rate-limited key with 401; a key that already worked is the tell.
        self._key_id = _key_id(self.base_url, api_key)
        self.project = ProjectAPI(self)
        self.environment = EnvironmentAPI(self)

    def __repr__(self) -> str:
        return f"DokployClient({self.base_url!r})"

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "DokployClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- procedures that are not per-router --------------------------------------------------------
    def health(self) -> bool:
        """`GET /api/health` (no auth)."""
        data = self.get("health", None, auth=False)
        return bool(isinstance(data, dict) and data.get("ok"))

    def version(self) -> str:
        """The server's Dokploy version, e.g. "v0.30.2" (`settings.getDokployVersion`)."""
        return str(self.get("settings.getDokployVersion", None))

    # -- transport ---------------------------------------------------------------------------------
    def get(self, procedure: str, params: Optional[Mapping[str, Any]], *, auth: bool = True) -> Any:
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None and v is not OMIT}
        return self._call("GET", procedure, params=query, auth=auth)

    def post(self, procedure: str, body: Mapping[str, Any]) -> Any:
        payload = {k: v for k, v in body.items() if v is not OMIT}
        return self._call("POST", procedure, json_body=payload)

    def _call(
        self,
        method: str,
        procedure: str,
        *,
        params: Optional[dict[str, str]] = None,
        json_body: Optional[dict[str, Any]] = None,
        auth: bool = True,
    ) -> Any:
        safe = method == "GET"

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, E.APIConnectionError):
                return safe or not exc.request_sent
            if isinstance(exc, (E.RateLimitError, E.InternalServerError)):
                return safe and exc.status in _RETRY_STATUSES
            return False

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = getattr(exc, "retry_after", None)
            delay = min(self._max_backoff, self._backoff * (2 ** (state.attempt_number - 1)))
            delay = random.uniform(delay / 2, delay)  # jitter so parallel workers do not stampede
            if hinted is not None:
                delay = max(delay, min(float(hinted), 60.0))
            return delay

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            retry=tenacity.retry_if_exception(retryable),
            wait=wait,
            reraise=True,
        )
        return retrying(self._send_once, method, procedure, params, json_body, auth)

    def _send_once(
        self,
        method: str,
        procedure: str,
        params: Optional[dict[str, str]],
        json_body: Optional[dict[str, Any]],
        auth: bool,
    ) -> Any:
        path = f"/api/{procedure}"
        where = f"{procedure} ({method} {path})"
        ctx = dict(procedure=procedure, method=method, path=path)
        request = self._http.build_request(method, procedure, params=params, json=json_body)
        if not auth:
            del request.headers["x-api-key"]
        # The errors below are raised after the `try`, not inside `except`: httpx's own exceptions carry
        # the request and its key header, and `raise ... from None` would still chain them as __context__.
        error: Optional[E.APIConnectionError] = None
        try:
            response = self._http.send(request)
        except httpx.ConnectTimeout:
            error = E.APITimeoutError(
                f"Dokploy {where}: timed out connecting to {self.base_url} after {self.timeout:g}s",
                request_sent=False,
                **ctx,
            )
        except httpx.TimeoutException:
            error = E.APITimeoutError(
                f"Dokploy {where}: no answer within {self.timeout:g}s; the request may have been applied",
                **ctx,
            )
        except httpx.ConnectError as exc:
            why = type(exc).__name__
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                # Say why, and what to do: the message is the ssl module's, it holds no header.
                why = (
                    f"TLS certificate verification failed ({exc}). If the server's certificate is "
                    "signed by a private CA, point config dokploy:caBundle or DOKPLOY_CA_BUNDLE at it"
                )
            error = E.APIConnectionError(
                f"Dokploy {where}: cannot connect to {self.base_url}: {why}",
                request_sent=False,
                **ctx,
            )
        except httpx.TransportError as exc:
            error = E.APIConnectionError(
                f"Dokploy {where}: the connection was lost before an answer ({type(exc).__name__}); "
                "the request may have been applied",
                **ctx,
            )
        if error is not None:
            raise error
        return self._handle(response, where, ctx, auth)

    def _handle(self, response: httpx.Response, where: str, ctx: dict[str, Any], auth: bool = True) -> Any:
        status = response.status_code
        text = response.text
        try:
            body: Any = response.json() if text else None
            parsed = True
        except ValueError:
            body, parsed = None, False

        if 200 <= status < 300:
            if not parsed:
                raise E.InvalidResponseError(
                    f"Dokploy {where}: answered {status} with a body that is not JSON "
                    f"({response.headers.get('content-type', 'no content type')}): {_server_message(None, text)}",
                    status=status,
                    **ctx,
                )
            if auth:  # /api/health answers without a key, so it proves nothing about the key
                _KEYS_THAT_WORKED.add(self._key_id)
            return body

        reason = _server_message(body, text)
        kw: dict[str, Any] = dict(status=status, server_message=reason, body=body, **ctx)
        head = f"Dokploy {where} failed with {status}: {reason}"
        if status == 401:
            limited = self._key_id in _KEYS_THAT_WORKED
            hint = (
                " The same API key worked earlier in this run, so it is most likely rate-limited "
                "(Dokploy answers 401, not 429, to a rate-limited key); wait and retry."
                if limited
                else " Check the API key (config dokploy:apiKey or DOKPLOY_API_KEY) and that it belongs to "
                "the organization that owns this object."
            )
            raise E.AuthenticationError(head + "." + hint, probably_rate_limited=limited, **kw)
        if status == 403:
            raise E.PermissionDeniedError(head, **kw)
        if status == 404:
            raise E.NotFoundError(head, **kw)
        if status == 400:
            lowered = reason.lower()
            if reason == "Input validation failed" or (isinstance(body, dict) and body.get("issues")):
                fields = _field_errors(body)
                detail = "; ".join(f"{f}: {', '.join(r)}" for f, r in fields.items())
                raise E.InputValidationError(f"{head} ({detail})" if detail else head, field_errors=fields, **kw)
            # Some procedures wrap not-found as 400 (environment.update/duplicate); environment.create
            # reports an unknown project as a raw foreign-key violation.
            if "not found" in lowered or "foreign key" in lowered:
                raise E.NotFoundError(head, **kw)
            raise E.BadRequestError(head, **kw)
        if status == 409:
            raise E.ConflictError(head, **kw)
        if status == 415:
            raise E.UnsupportedMediaTypeError(head, **kw)
        if status == 429:
            raise E.RateLimitError(head, retry_after=_retry_after_seconds(response), **kw)
        if status >= 500:
            raise E.InternalServerError(head, retry_after=_retry_after_seconds(response), **kw)
        raise E.APIStatusError(head, **kw)


_T = TypeVar("_T")


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


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


SEARCH_PAGE_MAX = 100  # the largest `limit` project.search / environment.search accept


def like_literal(text: str) -> str:
    """Escape LIKE's metacharacters so a search term matches literally.

    Dokploy builds `%term%` for ILIKE without escaping the term, so `%` and `_` would be wildcards and
    a backslash would escape the next character (Postgres' default escape character).
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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


class _Router:
    def __init__(self, client: DokployClient) -> None:
        self._c = client


class ProjectAPI(_Router):
    """`project.*` procedures."""

    def create(self, name: str, *, description: Any = OMIT, env: Any = OMIT) -> ProjectCreateResult:
        data = self._c.post("project.create", {"name": name, "description": description, "env": env})
        return _parse("project.create", ProjectCreateResult.from_response, data)

    def one(self, project_id: str) -> ProjectDetail:
        data = self._c.get("project.one", {"projectId": project_id})
        return _parse("project.one", ProjectDetail.model_validate, data)

    def all(self) -> list[ProjectDetail]:
        data = self._c.get("project.all", None) or []
        return _parse("project.all", lambda d: [ProjectDetail.model_validate(p) for p in d], data)

    def all_for_permissions(self) -> list[dict[str, Any]]:
        return list(self._c.get("project.allForPermissions", None) or [])

    def search(
        self,
        q: Optional[str] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        limit: Optional[int] = None,
        offset: Optional[int] = None,
    ) -> SearchPage[ProjectRow]:
        data = self._c.get(
            "project.search",
            {"q": q, "name": name, "description": description, "limit": limit, "offset": offset},
        )
        return _parse("project.search", SearchPage[ProjectRow].model_validate, data)

    def search_all(
        self, q: Optional[str] = None, *, name: Optional[str] = None, description: Optional[str] = None
    ) -> Iterator[ProjectRow]:
        """Every match of `search`, paging lazily (stop iterating to stop fetching)."""
        return _all_pages(self.search, {"q": q, "name": name, "description": description}, lambda r: r.project_id)

    def update(self, project_id: str, *, name: Any = OMIT, description: Any = OMIT, env: Any = OMIT) -> ProjectRow:
        # Never send organizationId/createdAt: the server would write them.
        data = self._c.post(
            "project.update", {"projectId": project_id, "name": name, "description": description, "env": env}
        )
        return _parse("project.update", ProjectRow.model_validate, data)

    def remove(self, project_id: str) -> ProjectRow:
        data = self._c.post("project.remove", {"projectId": project_id})
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
        data = self._c.post(
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
        data = self._c.post("environment.create", {"projectId": project_id, "name": name, "description": description})
        return _parse("environment.create", EnvironmentRow.model_validate, data)

    def one(self, environment_id: str) -> EnvironmentDetail:
        data = self._c.get("environment.one", {"environmentId": environment_id})
        return _parse("environment.one", EnvironmentDetail.model_validate, data)

    def by_project_id(self, project_id: str) -> list[EnvironmentDetail]:
        data = self._c.get("environment.byProjectId", {"projectId": project_id}) or []
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
        data = self._c.get(
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
        return _parse("environment.search", SearchPage[EnvironmentRow].model_validate, data)

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
        data = self._c.post(
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
        data = self._c.post("environment.remove", {"environmentId": environment_id})
        return _parse("environment.remove", EnvironmentRow.model_validate, data)

    def duplicate(self, environment_id: str, name: str, *, description: Any = OMIT) -> EnvironmentRow:
        data = self._c.post(
            "environment.duplicate", {"environmentId": environment_id, "name": name, "description": description}
        )
        return _parse("environment.duplicate", EnvironmentRow.model_validate, data)
