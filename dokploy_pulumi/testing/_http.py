"""Dokploy's request pipeline, from raw HTTP to the procedure's answer, independent of sockets.

In the order the real server runs it:

0. Next.js' routing: a path with a trailing slash is redirected (308) to the path without it, and
   a path outside ``/api/...`` is a page, so an unknown one gets Dokploy's HTML 404 page (what a
   wrong base URL, e.g. ``https://host/dokploy`` for a Dokploy served at ``/``, runs into);
1. Next.js' body parser: JSON content types are parsed (invalid JSON -> ``400`` plain
   ``Invalid JSON``, sent without a content type; an empty body is ``{}``), a form body becomes an
   object, anything else stays text;
2. ``pages/api/[...trpc].ts``: no valid ``x-api-key`` -> ``401 {"message":"Unauthorized"}`` (bare,
   no tRPC code) before any routing;
3. ``@dokploy/trpc-openapi``: ``HEAD`` -> ``204`` (its "warmup" answer); an unknown procedure or a
   wrong method -> the router's ``404 NOT_FOUND``; v0.30.2 refuses a POST without
   ``application/json`` with ``415``; the input is the query string (empty values dropped) or the
   body spread into an object;
4. the procedure (``_router.Router.call``), whose errors are rendered in the release's error shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from ._errors import TRPCError
from ._hooks import Keys
from ._releases import Release
from ._router import Router
from ._validation import ValidationFailed

__all__ = ["App", "Response", "error_response"]


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"))


def error_response(
    release: Release,
    code: str,
    message: str,
    status: int,
    path: str | None,
    *,
    issues: list[dict[str, Any]] | None = None,
    zod_error: dict[str, Any] | None = None,
) -> Response:
    """The error body trpc-openapi builds: ``{message, code, data?, issues?}``.

    ``data`` (tRPC 11's shape plus Dokploy's ``zodError``) only exists on v0.30.2; its ``path`` is
    absent when no procedure matched, which is how the router's 404 differs from a procedure's.
    """
    body: dict[str, Any] = {"message": message, "code": code}
    if release.error_data:
        data: dict[str, Any] = {"code": code, "httpStatus": status}
        if path is not None:
            data["path"] = path
        data["zodError"] = zod_error
        body["data"] = data
    if issues is not None:
        body["issues"] = issues
    return _json(status, body)


_HTML_404 = (
    b'<!DOCTYPE html><html lang="en" class="font-sans"><head><meta charSet="utf-8"/><title>Dokploy</title>'
    b"</head><body><main><h1>404</h1><p>The page you are looking for does not exist.</p></main></body></html>"
)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # JSON.parse rejects NaN / Infinity


def _spread(body: Any) -> dict[str, Any]:
    """``{...req.body}`` in JavaScript: arrays/strings spread by index, scalars vanish."""
    if isinstance(body, dict):
        return body
    if isinstance(body, (list, str)):
        return {str(i): v for i, v in enumerate(body)}
    return {}


def _single_or_list(values: list[str]) -> Any:
    return values[0] if len(values) == 1 else values


class App:
    """Everything the emulator does with a (non-faulted) request."""

    def __init__(self, router: Router, keys: Keys) -> None:
        self.router = router
        self.keys = keys

    def _query_input(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """trpc-openapi's getQuery: empty values are dropped; a repeated key is an array (0.0.18)
        or its first value (0.0.4)."""
        out: dict[str, Any] = {}
        for key, values in query.items():
            if len(values) == 1:
                if values[0] != "":
                    out[key] = values[0]
            else:
                out[key] = values if self.router.release.query_arrays else values[0]
        return out

    def respond(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes
    ) -> Response:
        release = self.router.release
        if path != "/" and path.endswith("/"):
            query_string = urlencode(query, doseq=True)
            location = path.rstrip("/") + (f"?{query_string}" if query_string else "")
            return Response(308, location.encode("utf-8"), None, {"Location": location})
        if path == "/api/health":
            return _json(200, {"ok": True})  # no auth
        if not path.startswith("/api/"):
            return Response(404, _HTML_404, "text/html; charset=utf-8")

        content_type = headers.get("content-type")
        mime = (content_type or "").split(";")[0].strip().lower()
        text = raw.decode("utf-8", errors="replace")
        body: Any = text
        if mime in ("application/json", "application/ld+json"):
            try:
                body = json.loads(text, parse_constant=_reject_constant) if text else {}
            except ValueError:
                return Response(400, b"Invalid JSON", None)
        elif mime == "application/x-www-form-urlencoded":
            body = {k: _single_or_list(v) for k, v in parse_qs(text, keep_blank_values=True).items()}

        organization = self.keys.authenticate(headers.get("x-api-key"))  # x-api-key only, no Bearer
        if organization is None:
            return _json(401, {"message": "Unauthorized"})

        procedure = path[len("/api/") :]
        if method == "HEAD":
            return Response(204)  # before routing: any HEAD is a "warmup"
        if not self.router.route(method, procedure):
            return error_response(release, "NOT_FOUND", "Not found", 404, None)

        if method == "POST":
            if release.checks_content_type and not (content_type or "").startswith("application/json"):
                # Verbatim from @dokploy/trpc-openapi 0.0.18, unclosed quote included.
                message = f'Unsupported content-type "{content_type}' if content_type else "Missing content-type header"
                return error_response(release, "UNSUPPORTED_MEDIA_TYPE", message, 415, procedure)
            data = _spread(body)
        else:
            data = self._query_input(query)

        try:
            result = self.router.call(procedure, organization, data)
        except ValidationFailed as exc:
            return error_response(
                release,
                "BAD_REQUEST",
                "Input validation failed",
                400,
                procedure,
                issues=exc.issues,
                zod_error=exc.flatten(),
            )
        except TRPCError as exc:
            return error_response(release, exc.code, exc.message, exc.status, procedure)
        return _json(200, result)
