"""One exception per meaning of a failed Dokploy call.

Every error carries the procedure, HTTP method, path, status and the server's own message, so that a
Pulumi error can say which call failed and why. None of them ever holds the API key or an env value
the request sent: the key lives only in the HTTP client's default headers, and what a server echoes
back (its message, its body) is redacted (`_redact.py`) before it is folded, cut or stored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from ._redact import Secrets


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

    def context(self) -> dict[str, Any]:
        """What describes the call and the answer, to build another error about the same call."""
        return {k: getattr(self, k) for k in ("status", "server_message", "body", "procedure", "method", "path")}


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
    """The object does not exist: the procedure's own NOT_FOUND, or the 400 that wraps it.

    Only an answer that is about the object counts: on v0.30 a tRPC NOT_FOUND whose `data.path` is
    the procedure called; on servers whose errors carry no `data` (v0.26), the procedure's own
    message ("Project not found"), not the router's "Not found"; or the exact wrapper a procedure
    puts around it ("Error updating the environment: Environment not found").
    """


class EndpointNotFoundError(APIStatusError):
    """A 404 that says nothing about the object: an HTML page from a proxy, a URL with a wrong
    path, or anything that is not Dokploy's own answer about the procedure called.

    Never read this as "the object is gone": the URL (or the server in front of Dokploy) is
    probably wrong.
    """


class UnknownProcedureError(EndpointNotFoundError):
    """Dokploy's router answered that it has no such procedure (`404 {"message": "Not found",
    "code": "NOT_FOUND"}`): a server too old for it (e.g. `project.search` before v0.28)."""


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


class CredentialError(DokployError):
    """The URL or API key for a Dokploy instance cannot be found or used. Never contains a key."""


class ProviderError(DokployError):
    """A failed resource operation, worded for a Pulumi user: resource, operation, server's reason."""


class DokployLookupError(DokployError, LookupError):
    """A look-up found nothing, or more than one object where it needs exactly one.

    `query` is the call as written (e.g. "get_project(name='app')"); `candidates` are the
    (name, id) pairs the message lists: the near matches, or every ambiguous match.
    """

    def __init__(self, message: str, *, query: str, candidates: Optional[list[tuple[str, str]]] = None) -> None:
        super().__init__(message)
        self.query = query
        self.candidates: list[tuple[str, str]] = list(candidates or [])


class UndecryptableEnvError(DokployError):
    """Dokploy answered a project's or environment's `env` as ciphertext (`enc:v1:...`).

    Since v0.29.12 Dokploy encrypts env at rest, and a value it cannot decrypt (its
    BETTER_AUTH_SECRET or ENCRYPTION_KEY changed after the value was written, or a backup was
    restored on another server) comes back as the encrypted text with status 200. That text is
    never the user's variables: nothing takes it as a value. `kind` is "project" or "environment";
    `object_id` and `name` say which. The ciphertext itself is never in the message.
    """

    def __init__(self, kind: str, object_id: str, name: str) -> None:
        super().__init__(
            f"Dokploy could not decrypt the env of {kind} {name!r} ({object_id}): it answered the stored "
            "ciphertext (enc:v1:...) instead of the variables. This happens when the server's "
            "BETTER_AUTH_SECRET or ENCRYPTION_KEY changed after the value was written, or when a backup was "
            "restored on a server with other secrets. Restore the secret the value was written with (or "
            "the backup's encryption.key), or set this env again in Dokploy; nothing was read or changed."
        )
        self.kind = kind
        self.object_id = object_id
        self.name = name


class AmbiguousCreateError(DokployError):
    """A create's answer was lost and the object it made could not be identified with certainty."""


class UnconfirmedDeleteError(DokployError):
    """A delete's answer was lost and the object is still there."""


# -- mapping an answer to an exception (the one place that does it) --------------------------------

#: The exact "not found" messages a procedure wraps into a 400 (`"<wrapper>: <inner>"`), per
#: procedure, as the real servers send them (v0.26.7 and v0.30.2). Only these mean "the object in
#: the request does not exist"; other 400s that mention "not found" are about something else.
WRAPPED_NOT_FOUND: dict[str, tuple[str, ...]] = {
    "environment.update": ("Error updating the environment: Environment not found",),
    "environment.duplicate": ("Error duplicating the environment: Environment not found",),
}

#: The message of Dokploy's router when no procedure matches the path and method.
ROUTER_NOT_FOUND = "Not found"


def _is_dokploy_error_body(body: Any) -> bool:
    """A tRPC error body (`message` and `code`), as opposed to a proxy's page or some other JSON."""
    return isinstance(body, dict) and isinstance(body.get("message"), str) and isinstance(body.get("code"), str)


def classify_404(procedure: str, body: Any) -> type[APIStatusError]:
    """Which exception a 404 is: only the procedure's own NOT_FOUND says the object is gone.

    v0.30 sends `data.path` (the procedure that answered); v0.26 sends no `data`, and then the
    router's own answer is told apart by its message ("Not found" against "Project not found").
    """
    if not _is_dokploy_error_body(body) or body["code"] != "NOT_FOUND":
        return EndpointNotFoundError
    data = body.get("data")
    if isinstance(data, dict) and "path" in data:
        return NotFoundError if data.get("path") == procedure else EndpointNotFoundError
    if body["message"] == ROUTER_NOT_FOUND:
        return UnknownProcedureError
    if isinstance(data, dict):
        # v0.30's router answer carries `data` without `path`.
        return UnknownProcedureError
    return NotFoundError


def is_wrapped_not_found(procedure: str, status: int, body: Any) -> bool:
    """A 400 whose message is exactly one of the procedure's wrapped not-found answers."""
    if status != 400 or not _is_dokploy_error_body(body):
        return False
    data = body.get("data")
    if isinstance(data, dict) and "path" in data and data.get("path") != procedure:
        return False
    return body["message"] in WRAPPED_NOT_FOUND.get(procedure, ())


def server_message(body: Any, text: str, secrets: Optional[Secrets] = None) -> str:
    """The server's own message, or the start of its body (whitespace folded) when it sent none.

    Secrets are redacted from the whole text before it is folded and cut: a value cut in two, or
    spread over lines, would otherwise slip through.
    """
    secrets = secrets or Secrets()
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str):
        return secrets.redact(message)
    return secrets.snippet(text) or "(empty body)"


def context_words(error: DokployError) -> tuple[str, ...]:
    """Our own words in an error's message that no redaction may hide: the procedure, its path, the
    status (all public; an env value "create" must not turn project.create into project.***)."""
    words = [f"{error.procedure} ({error.method} {error.path})", error.procedure or "", error.path or ""]
    if error.status is not None:
        words.append(f"failed with {error.status}")
    return tuple(w for w in words if w)


def redact_error(error: DokployError, secrets: Secrets) -> DokployError:
    """`error` with the secrets taken out of everything it carries (message, server message, body,
    field errors), in place. Called after the error was classified from the raw answer: redacting
    first could turn the router's "Not found" into something that reads as the object's own.
    The words that say which call failed and how are kept (`context_words`)."""
    error.message = secrets.redact(error.message, keep=context_words(error))
    error.args = (error.message,)
    if error.server_message is not None:
        error.server_message = secrets.redact(error.server_message)
    if isinstance(error, APIStatusError):
        error.body = secrets.redact_value(error.body)
    if isinstance(error, InputValidationError):
        error.field_errors = {secrets.redact(k): [secrets.redact(r) for r in v] for k, v in error.field_errors.items()}
    return error


def field_errors(body: Any) -> dict[str, list[str]]:
    """The server's per-field reasons, from `issues` or `data.zodError.fieldErrors`."""
    errors: dict[str, list[str]] = {}
    if not isinstance(body, dict):
        return errors
    for issue in body.get("issues") or []:
        if isinstance(issue, dict):
            path = ".".join(str(p) for p in issue.get("path") or []) or "(input)"
            errors.setdefault(path, []).append(str(issue.get("message", "")))
    data = body.get("data")
    zod = data.get("zodError") if isinstance(data, dict) else None
    if isinstance(zod, dict):
        for name, reasons in (zod.get("fieldErrors") or {}).items():
            for reason in reasons or []:
                if reason not in errors.get(name, []):
                    errors.setdefault(name, []).append(str(reason))
    return errors


def _is_validation_failure(body: Any) -> bool:
    if not _is_dokploy_error_body(body) or body["code"] != "BAD_REQUEST":
        return False
    data = body.get("data")
    return (
        bool(body.get("issues"))
        or (isinstance(data, dict) and data.get("zodError") is not None)
        or (body["message"] == "Input validation failed")
    )


def error_for_response(
    status: int,
    body: Any,
    text: str,
    *,
    where: str,
    base_url: str,
    key_worked: bool,
    retry_after: Optional[float],
    content_type: Optional[str],
    procedure: str,
    method: str,
    path: str,
    secrets: Optional[Secrets] = None,
) -> APIStatusError:
    """The exception for an error answer, chosen by its status and structured fields (of the raw
    answer); everything it carries is redacted of `secrets`."""
    secrets = secrets or Secrets()
    error = _error_for_response(
        status, body, text, where, base_url, key_worked, retry_after, content_type, procedure, method, path, secrets
    )
    redact_error(error, secrets)
    return error


def _error_for_response(
    status: int,
    body: Any,
    text: str,
    where: str,
    base_url: str,
    key_worked: bool,
    retry_after: Optional[float],
    content_type: Optional[str],
    procedure: str,
    method: str,
    path: str,
    secrets: Secrets,
) -> APIStatusError:
    reason = server_message(body, text, secrets)
    kw: dict[str, Any] = dict(
        status=status, server_message=reason, body=body, procedure=procedure, method=method, path=path
    )
    head = f"Dokploy {where} failed with {status}: {reason}"
    if status == 401:
        hint = (
            " The same API key worked earlier in this run, so it is most likely rate-limited "
            "(Dokploy answers 401, not 429, to a rate-limited key); wait and retry."
            if key_worked
            else " Check the API key (config dokploy:apiKey or DOKPLOY_API_KEY) and that it belongs to "
            "the organization that owns this object."
        )
        return AuthenticationError(head + "." + hint, probably_rate_limited=key_worked, **kw)
    if status == 403:
        return PermissionDeniedError(head, **kw)
    if status == 404:
        kind = classify_404(procedure, body)
        if kind is UnknownProcedureError:
            return UnknownProcedureError(
                f"{head}. The Dokploy at {base_url} has no procedure {procedure}: the server is "
                "probably older than this call needs (or the URL points at something else).",
                **kw,
            )
        if kind is EndpointNotFoundError:
            what = content_type.split(";")[0] if content_type else "no content type"
            return EndpointNotFoundError(
                f"{head} ({what}). That is not Dokploy's answer about the object: the URL "
                f"{base_url} is probably wrong (a path Dokploy is not served at), or a proxy in front "
                "of it answered. Nothing was concluded about the object.",
                **kw,
            )
        return NotFoundError(head, **kw)
    if status == 400:
        if _is_validation_failure(body):
            fields = field_errors(body)
            detail = "; ".join(f"{f}: {', '.join(r)}" for f, r in fields.items())
            return InputValidationError(f"{head} ({detail})" if detail else head, field_errors=fields, **kw)
        if is_wrapped_not_found(procedure, status, body):
            return NotFoundError(head, **kw)
        return BadRequestError(head, **kw)
    if status == 409:
        return ConflictError(head, **kw)
    if status == 415:
        return UnsupportedMediaTypeError(head, **kw)
    if status == 429:
        return RateLimitError(head, retry_after=retry_after, **kw)
    if status >= 500:
        return InternalServerError(head, retry_after=retry_after, **kw)
    return APIStatusError(head, **kw)
