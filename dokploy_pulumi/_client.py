"""A synchronous, typed client for Dokploy's project and environment API.

`DokployClient` holds one `Transport` (send, retry, map errors) and one object per router
(`client.project`, `client.environment`, in `_routers.py`) with a method per procedure. It also learns, once per
client, which procedures the server lacks: `project.search` and `environment.search` exist only
on newer releases (`_releases.py`), and on older servers the searches are answered from `project.all` / `project.one`
with the same matching rules (see `_ilike.py`).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Optional, Union

import httpx

from . import _exceptions as E
from ._ilike import like_literal
from ._models import parse_timestamp
from ._releases import OLDEST_SUPPORTED, parse_version, since
from ._routers import SEARCH_PAGE_MAX, EnvironmentAPI, ProjectAPI, ServiceAPI, TagAPI
from ._session import ServerClock, Session
from ._transport import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    OMIT,
    USER_AGENT,
    RetryPolicy,
    Transport,
    normalize_url,
)

__all__ = ["OMIT", "SEARCH_PAGE_MAX", "USER_AGENT", "DokployClient", "like_literal", "normalize_url"]

#: The release that added each procedure (family), named in errors from servers without it; from
#: the one release table (`_releases.py`).
SINCE: dict[str, str] = {
    "project.search": since("search"),
    "environment.search": since("search"),
    "project.allForPermissions": since("all_for_permissions"),
    "environment.": since("environments"),
    "project.duplicate": since("environments"),
    "tag.": since("tags"),
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
        # What callers read (the transport owns them; none changes after construction).
        self.base_url: str = self._t.base_url
        self.timeout: float = self._t.timeout
        self.max_retries: int = policy.max_retries
        self.session: Session = self._t.session
        #: How far the server's clock is from ours, as its own stamps prove (see `ServerClock`); shared
        #: by every client of this process for the same URL.
        self.clock: ServerClock = self._t.clock
        self._missing: set[str] = set()
        self._missing_lock = threading.Lock()
        self._version: Optional[str] = None
        self.project = ProjectAPI(self)
        self.environment = EnvironmentAPI(self)
        self.tag = TagAPI(self)
        self.service = ServiceAPI(self)

    def __repr__(self) -> str:
        return f"DokployClient({self.base_url!r})"

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._t.close()

    @property
    def closed(self) -> bool:
        return self._t.closed

    def __enter__(self) -> DokployClient:
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
        answer = self.get("settings.getDokployVersion", None)
        if not isinstance(answer, str) or not answer.strip():
            # A proxy's 200 or a server that will not say: no version to name (never "None" or "").
            raise E.InvalidResponseError(
                f"Dokploy settings.getDokployVersion answered {answer!r}, not a version",
                procedure="settings.getDokployVersion",
                method="GET",
                status=200,
            )
        self._version = answer
        return answer

    def server_time(self) -> Optional[float]:
        """The server's clock now (`server.getServerTime`: the clock that stamps `createdAt`), in
        seconds since the epoch, recorded in `clock`; None when the server does not say (Dokploy
        Cloud answers null)."""
        sent = time.time()
        data = self.get("server.getServerTime", None)
        received = time.time()
        moment = parse_timestamp(data.get("time")) if isinstance(data, dict) else None
        if moment is None:
            return None
        self.clock.observe(moment.timestamp(), sent, received)
        return moment.timestamp()

    # -- what the server has -----------------------------------------------------------------------
    def supports(self, procedure: str) -> bool:
        """False once the server's router said it has no such procedure."""
        with self._missing_lock:
            return procedure not in self._missing

    def lacks(self, procedure: str) -> None:
        """Record that the server's router said it has no such procedure."""
        with self._missing_lock:
            self._missing.add(procedure)

    def explain_missing(self, exc: E.UnknownProcedureError) -> E.UnknownProcedureError:
        """The router's 404, with the server's version: too old for the procedure, or not the
        Dokploy the URL should reach (the release has it, yet something answered that it does not)."""
        procedure = exc.procedure or ""
        first = next(
            (v for k, v in SINCE.items() if procedure == k or (k.endswith(".") and procedure.startswith(k))), None
        )
        try:
            version = self._version or self.version()
        except E.DokployError:
            return exc
        if first is not None and _release(version) < parse_version(first):
            needs = (
                f"; dokploy-pulumi needs {OLDEST_SUPPORTED} or later for environments"
                if first == OLDEST_SUPPORTED
                else ""
            )
            message = (
                f"the Dokploy at {self.base_url} is {version}, which has no procedure {procedure} ({first} "
                f"has it{needs}). Upgrade Dokploy. (The server answered: {exc.server_message}.)"
            )
        else:
            message = (
                f"{exc.message} The server reports {version}, which should have it: the URL probably "
                "points at something else, or a proxy in front of Dokploy rewrote the request."
            )
        return E.UnknownProcedureError(message, **exc.context())

    def require(self, feature: str, what: str) -> None:
        """Raise `RefusedError` naming the server's version when its release is older than the one
        that brought `feature` (a name in the release table), for `what` the user declared. Asks the
        version once per client; used where the first request would not itself fail on an old server
        (a project.create before the tags are assigned)."""
        version = self._version or self.version()
        first = since(feature)
        if _release(version) < parse_version(first):
            raise E.RefusedError(
                f"the Dokploy at {self.base_url} is {version}, which has no {feature} ({first} brought them): "
                f"{what} cannot be applied there. Upgrade Dokploy, or remove it from the program."
            )

    # -- transport ---------------------------------------------------------------------------------
    def get(self, procedure: str, params: Optional[dict[str, Any]], *, auth: bool = True) -> Any:
        return self._t.get(procedure, params, auth=auth)

    def post(self, procedure: str, body: dict[str, Any]) -> Any:
        return self._t.post(procedure, body)


def _release(version: str) -> tuple[int, ...]:
    """(0, 30, 2) for "v0.30.2"; anything unparsable sorts as the newest (claims nothing)."""
    try:
        return parse_version(version)
    except ValueError:
        return (10**6,)
