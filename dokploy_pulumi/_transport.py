"""Sending one Dokploy call: URL handling, the retry policy, errors.

Transport facts it depends on (see the API contract): procedures live at `<url>/api/<router>.<proc>`;
queries are GET with a query string, mutations POST with a JSON body; success is a bare 200 JSON
body; errors use tRPC's shape, except 401 which is a bare `{"message": "Unauthorized"}`.

Layers: `Transport` sends a request once and turns every failure into a `DokployError`
(`_exceptions.error_for_response` decides which); `RetryPolicy` decides which failures may be
repeated; `DokployClient` (in `_client.py`) holds the procedures.

Why one file of about 340 lines: these three are the single path every request takes, and each
is read with the others (the retry policy decides on the errors the transport raises). Splitting
them would scatter one request's life over files. The server's clock (`_session.ServerClock`) is
not read from responses' `Date` headers: a reverse proxy replaces them with its own clock's time.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import random
import ssl
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import httpx
import tenacity

from . import _exceptions as E
from . import _redact
from ._session import ServerClock, Session
from ._version import __version__
from ._wire import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._wire import OMIT as OMIT
from ._wire import normalize_url as normalize_url
from ._wire import redact_url as redact_url

USER_AGENT = f"dokploy-pulumi/{__version__} (+python; httpx/{httpx.__version__})"
DEFAULT_MAX_RETRIES = 3


def is_loopback_host(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def retry_after_seconds(response: httpx.Response) -> Optional[float]:
    """`Retry-After` in seconds (a number or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(when.tzinfo)).total_seconds())
    except (TypeError, ValueError):
        return None


def tls_verify(verify: Union[bool, str]) -> Union[bool, ssl.SSLContext]:
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


@dataclass(frozen=True)
class RetryPolicy:
    """Which failed requests may be sent again, and how long to wait first.

    GETs are retried on connection errors, timeouts, 429, 502, 503 and 504, with exponential
    backoff, jitter and `Retry-After`. A POST is retried only when its connection never opened: a
    mutation that may have reached the server is never repeated blindly.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = 0.5
    max_backoff: float = 8.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def may_repeat(self, method: str, exc: BaseException) -> bool:
        safe = method == "GET"
        if isinstance(exc, E.APIConnectionError):
            return safe or not exc.request_sent
        if isinstance(exc, (E.RateLimitError, E.InternalServerError)):
            return safe and exc.status in self.statuses
        return False

    def delay(self, attempt: int, exc: Optional[BaseException]) -> float:
        delay = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        delay = random.uniform(delay / 2, delay)  # jitter so parallel workers do not stampede
        hinted = getattr(exc, "retry_after", None)
        if hinted is not None:
            delay = max(delay, min(float(hinted), 60.0))
        return delay


class Transport:
    """One Dokploy server and API key, with one connection pool shared by every call and thread.

    `verify` is True (check TLS against the system store), a CA-bundle path, or False (warned).
    The key lives only in the httpx client's default headers, which no exception, repr or log
    line reads.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        verify: Union[bool, str] = True,
        transport: Optional[httpx.BaseTransport] = None,
        session: Optional[Session] = None,
    ) -> None:
        self.base_url = normalize_url(url)
        if not api_key:
            raise ValueError("the Dokploy API key is empty")
        host = urlsplit(self.base_url).hostname or ""
        if self.base_url.startswith("http://") and not is_loopback_host(host):
            warnings.warn(
                f"Dokploy URL {self.base_url} uses plain http to a non-loopback host: the API key "
                "travels unencrypted. Use https.",
                stacklevel=3,
            )
        if verify is False:
            warnings.warn("TLS certificate verification is disabled for Dokploy (verify=False).", stacklevel=3)
        self.timeout = float(timeout)
        self.retry = retry
        self.session = session or Session.current()
        self.clock: ServerClock = self.session.clock(self.base_url)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"x-api-key": api_key, "user-agent": USER_AGENT, "accept": "application/json"},
            timeout=self.timeout,
            verify=tls_verify(verify),
            transport=transport,
            follow_redirects=False,
        )
        self._key_id = Session.key_id(self.base_url, api_key)

    def close(self) -> None:
        self._http.close()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    def get(self, procedure: str, params: Optional[Mapping[str, Any]], *, auth: bool = True) -> Any:
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None and v is not OMIT}
        return self.call("GET", procedure, params=query, auth=auth)

    def post(self, procedure: str, body: Mapping[str, Any]) -> Any:
        payload = {k: v for k, v in body.items() if v is not OMIT}
        return self.call("POST", procedure, json_body=payload)

    def call(
        self,
        method: str,
        procedure: str,
        *,
        params: Optional[dict[str, str]] = None,
        json_body: Optional[dict[str, Any]] = None,
        auth: bool = True,
    ) -> Any:
        policy = self.retry

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return policy.delay(state.attempt_number, exc)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.max_retries + 1),
            retry=tenacity.retry_if_exception(lambda exc: policy.may_repeat(method, exc)),
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
        ctx: dict[str, Any] = dict(procedure=procedure, method=method, path=f"/api/{procedure}")
        where = f"{procedure} ({method} {ctx['path']})"
        request = self._http.build_request(method, procedure, params=params, json=json_body)
        if not auth:
            del request.headers["x-api-key"]
        # Errors are raised after the `try`, not inside `except`: httpx's own exceptions carry the
        # request and its key header, and `raise ... from None` would still chain them as __context__.
        error: Optional[E.DokployError] = None
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
                f"Dokploy {where}: cannot connect to {self.base_url}: {why}", request_sent=False, **ctx
            )
        except httpx.TransportError as exc:
            error = E.APIConnectionError(
                f"Dokploy {where}: the connection was lost before an answer ({type(exc).__name__}); "
                "the request may have been applied",
                **ctx,
            )
        except httpx.DecodingError:
            # The server answered, but its body cannot be decoded (a corrupt Content-Encoding): the
            # request was handled, and what it did is unknown, exactly like a 2xx that is not JSON.
            error = E.InvalidResponseError(
                f"Dokploy {where}: the answer's body could not be decoded (its Content-Encoding is "
                "corrupt)" + ("; the request may have been applied" if method != "GET" else ""),
                **ctx,
            )
        except httpx.HTTPError as exc:
            error = E.APIConnectionError(
                f"Dokploy {where}: no usable answer ({type(exc).__name__}); the request may have been applied",
                **ctx,
            )
        if error is not None:
            raise E.redact_error(error, self.secrets(json_body))
        return self._handle(response, where, ctx, auth, json_body)

    def secrets(self, json_body: Optional[Mapping[str, Any]]) -> _redact.Secrets:
        """What no error about this request may show: the key, the env values it sends, and the
        caller's (`_redact.more_secrets`). Built only when an error is (the common path pays nothing)."""
        return _redact.for_request(self._http.headers.get("x-api-key"), json_body)

    def _handle(
        self,
        response: httpx.Response,
        where: str,
        ctx: dict[str, Any],
        auth: bool,
        json_body: Optional[Mapping[str, Any]],
    ) -> Any:
        status = response.status_code
        try:
            text = response.text
        except (UnicodeDecodeError, LookupError):  # a charset Python cannot decode
            text = response.content.decode("utf-8", errors="replace")
        try:
            body: Any = response.json() if text else None
            parsed = True
        except ValueError:
            body, parsed = None, False

        if 200 <= status < 300:
            if not parsed:
                secrets = self.secrets(json_body)
                error = E.InvalidResponseError(
                    f"Dokploy {where}: answered {status} with a body that is not JSON "
                    f"({response.headers.get('content-type', 'no content type')}): "
                    f"{E.server_message(None, text, secrets)}",
                    status=status,
                    **ctx,
                )
                raise E.redact_error(error, secrets)
            if auth:  # /api/health answers without a key, so it proves nothing about the key
                self.session.key_worked(self._key_id)
            return body
        raise E.error_for_response(
            status,
            body,
            text,
            where=where,
            base_url=self.base_url,
            key_worked=self.session.has_key_worked(self._key_id),
            retry_after=retry_after_seconds(response),
            content_type=response.headers.get("content-type"),
            secrets=self.secrets(json_body),
            **ctx,
        )


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
