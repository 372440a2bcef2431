"""One exception per meaning of a failed Dokploy call.

Every error carries the procedure, HTTP method, path, status and the server's own message, so that a
Pulumi error can say which call failed and why. None of them ever holds the API key: the key lives only
in the HTTP client's default headers, which no exception, repr or log line reads.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional


class DokployError(Exception):
    """Base class of everything the client raises."""

    def __init__(
        self,
        message: str,
        *,
        procedure: Optional[str] = None,
        method: Optional[str] = None,
        path: Optional[str] = None,
        status: Optional[int] = None,
        server_message: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.procedure = procedure
        self.method = method
        self.path = path
        self.status = status
        self.server_message = server_message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class APIConnectionError(DokployError):
    """No usable answer: the connection failed or was dropped.

    `request_sent` is False only when the request certainly never reached the server (the connection
    could not be opened); when True, a mutation may or may not have been applied.
    """

    def __init__(self, message: str, *, request_sent: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The server did not answer within the configured timeout."""


class InvalidResponseError(DokployError):
    """The server answered 2xx with a body that is not the JSON Dokploy sends (e.g. a proxy's page)."""


class APIStatusError(DokployError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, body: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.body = body


class BadRequestError(APIStatusError):
    """400 that is neither a validation failure nor a wrapped not-found (e.g. a refused delete)."""


class InputValidationError(BadRequestError):
    """400 "Input validation failed": `field_errors` maps each input field to the server's reasons."""

    def __init__(self, message: str, *, field_errors: Optional[Mapping[str, list[str]]] = None, **kw: Any):
        super().__init__(message, **kw)
        self.field_errors: dict[str, list[str]] = dict(field_errors or {})


class AuthenticationError(APIStatusError):
    """401: missing, wrong, expired or (Dokploy answers 401, never 429) rate-limited API key."""

    def __init__(self, message: str, *, probably_rate_limited: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.probably_rate_limited = probably_rate_limited


class PermissionDeniedError(APIStatusError):
    """403: the key may not touch this object (e.g. an environment of another organization)."""


class NotFoundError(APIStatusError):
    """The object does not exist: a 404, or one of the 400 answers that wrap "not found"."""


class ConflictError(APIStatusError):
    """409."""


class UnsupportedMediaTypeError(APIStatusError):
    """415: a POST without a JSON content type."""


class RateLimitError(APIStatusError):
    """429 (sent by a proxy in front of Dokploy; Dokploy itself answers 401)."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RefusedError(DokployError):
    """The provider refused an operation that would lose data (e.g. removing a project with services)."""
