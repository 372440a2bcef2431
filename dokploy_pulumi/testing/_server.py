"""HTTP layer of the emulator: Dokploy's request pipeline, fault injection and the socket server.

:class:`App` reproduces, in order, what sits in front of a Dokploy procedure:

1. Next.js' body parser (JSON content types only): invalid JSON -> ``400`` plain text
   ``Invalid JSON``; an empty body parses as ``{}``;
2. ``pages/api/[...trpc].ts``: no valid ``x-api-key`` -> ``401 {"message":"Unauthorized"}``
   (bare, no tRPC code) before any routing;
3. ``@dokploy/trpc-openapi``: unknown procedure or wrong method -> ``404 NOT_FOUND``; a body
   method without ``application/json`` -> ``415 UNSUPPORTED_MEDIA_TYPE``; input taken from
   the query string (empty values dropped) or the JSON body (spread into an object);
4. the procedure (``_state.State.call``), whose errors are rendered in the tRPC error shape.

Fault injection, latency, the request log and rate limiting happen around that pipeline,
so a fault can answer before authentication just like a failing proxy would.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._state import QUERIES, SCHEMAS, State, TRPCError, ValidationFailed, new_id

__all__ = ["App", "Fault", "RecordedRequest", "Response", "EmulatorHTTPServer"]

_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})


@dataclass
class RecordedRequest:
    """One request as seen by the emulator. Secrets in headers are replaced by ``***``.

    Recorded as soon as it is received (so an in-flight request already counts);
    ``status`` stays None until answered, and for ever when the connection was dropped.
    Readers get copies, so a snapshot never changes under their feet.
    """

    method: str
    path: str
    procedure: str | None
    query: dict[str, Any]
    body: Any
    status: int | None  # None when the connection was dropped without a response
    headers: dict[str, str]


@dataclass
class Fault:
    """A scripted misbehaviour for the next ``remaining`` matching requests."""

    procedure: str | None
    method: str | None
    status: int | None
    body: Any
    content_type: str
    headers: dict[str, str]
    latency: float | None
    drop: bool
    drop_after_commit: bool
    remaining: int

    def matches(self, procedure: str | None, method: str) -> bool:
        return (self.procedure is None or self.procedure == procedure) and (
            self.method is None or self.method.upper() == method
        )


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload).encode("utf-8"))


def _trpc_error(
    code: str,
    message: str,
    status: int,
    path: str | None,
    *,
    issues: list[dict[str, Any]] | None = None,
    zod_error: dict[str, Any] | None = None,
) -> Response:
    """``{...errorShape, message, code, issues}`` as built by @dokploy/trpc-openapi."""
    data: dict[str, Any] = {"code": code, "httpStatus": status}
    if path is not None:  # undefined (so absent) when no procedure matched
        data["path"] = path
    data["zodError"] = zod_error  # Dokploy's errorFormatter adds it, null unless zod failed
    body: dict[str, Any] = {"message": message, "code": code, "data": data}
    if issues is not None:
        body["issues"] = issues
    return _json(status, body)


def _not_found() -> Response:
    return _trpc_error("NOT_FOUND", "Not found", 404, None)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # JSON.parse rejects NaN / Infinity


def _spread(body: Any) -> dict[str, Any]:
    """``{...req.body}`` in JavaScript: arrays/strings spread by index, scalars vanish."""
    if isinstance(body, dict):
        return body
    if isinstance(body, (list, str)):
        return {str(i): v for i, v in enumerate(body)}
    return {}


def _query_input(query: dict[str, list[str]]) -> dict[str, Any]:
    """trpc-openapi's getQuery: empty values are dropped, repeated keys become arrays."""
    out: dict[str, Any] = {}
    for key, values in query.items():
        kept = [v for v in values if v != ""] if len(values) == 1 else values
        if kept:
            out[key] = kept[0] if len(kept) == 1 else kept
    return out


class App:
    """Everything the emulator does with a request, independent of sockets."""

    def __init__(self, state: State, api_key: str, latency: float = 0.0) -> None:
        self.state = state
        self.latency = latency
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {api_key: state.primary_organization}
        self._limits: dict[str, int] = {}
        self._faults: list[Fault] = []
        self._log: list[RecordedRequest] = []

    # -- keys and rate limits -------------------------------------------------------

    def add_api_key(self, key: str, organization_id: str | None = None) -> str:
        organization = self.state.add_organization(organization_id or new_id())
        with self._lock:
            self._keys[key] = organization
        return organization

    def rate_limit_after(self, n: int | None, key: str) -> None:
        with self._lock:
            if n is None:
                self._limits.pop(key, None)
            else:
                self._limits[key] = max(0, int(n))

    def clear_rate_limits(self) -> None:
        with self._lock:
            self._limits.clear()

    def _authenticate(self, key: str | None) -> str | None:
        """The caller's organization, or None for 401 (unknown key or rate-limited)."""
        if not key:
            return None
        with self._lock:
            organization = self._keys.get(key)
            if organization is None:
                return None
            if key in self._limits:
                # Dokploy answers a rate-limited key with the same bare 401, never 429.
                if self._limits[key] <= 0:
                    return None
                self._limits[key] -= 1
            return organization

    # -- faults --------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, procedure: str | None, method: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(procedure, method):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def fault_response(fault: Fault) -> Response:
        assert fault.status is not None
        if fault.body is None:
            body = b""
        elif isinstance(fault.body, bytes):
            body = fault.body
        elif isinstance(fault.body, str):
            body = fault.body.encode("utf-8")
        else:
            body = json.dumps(fault.body).encode("utf-8")
        return Response(fault.status, body, fault.content_type, dict(fault.headers))

    # -- request log -------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)

    def set_status(self, request: RecordedRequest, status: int | None) -> None:
        with self._lock:
            request.status = status

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [replace(r) for r in self._log]

    def request_count(self, procedure: str | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._log
                if (procedure is None or r.procedure == procedure)
                and (method is None or r.method == method.upper())
            )

    def reset_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # -- the pipeline ------------------------------------------------------------------

    def respond(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes
    ) -> Response:
        """Answer one (non-faulted) request exactly like Dokploy v0.30.2."""
        if path == "/api/health":
            return _json(200, {"ok": True})  # no auth

        content_type = headers.get("content-type")
        mime = (content_type or "").split(";")[0].strip().lower()
        body: Any = None
        if mime in ("application/json", "application/ld+json"):  # Next.js parses these first
            text = raw.decode("utf-8", errors="replace")
            if text == "":
                body = {}
            else:
                try:
                    body = json.loads(text, parse_constant=_reject_constant)
                except ValueError:
                    return Response(400, b"Invalid JSON", "text/plain; charset=utf-8")

        organization = self._authenticate(headers.get("x-api-key"))  # x-api-key only, no Bearer
        if organization is None:
            return _json(401, {"message": "Unauthorized"})

        procedure = path[len("/api/") :] if path.startswith("/api/") else ""
        if method == "HEAD":
            return Response(204, content_type=None)  # trpc-openapi "warmup" answer
        expected = "GET" if procedure in QUERIES else "POST"
        if procedure not in SCHEMAS or method != expected:
            return _not_found()

        if method == "POST":
            if not (content_type or "").startswith("application/json"):
                # Verbatim from @dokploy/trpc-openapi, unclosed quote included.
                message = f'Unsupported content-type "{content_type}' if content_type else "Missing content-type header"
                return _trpc_error("UNSUPPORTED_MEDIA_TYPE", message, 415, procedure)
            data = _spread(body)
        else:
            data = _query_input(query)

        try:
            result = self.state.call(procedure, organization, data)
        except ValidationFailed as exc:
            return _trpc_error(
                "BAD_REQUEST",
                "Input validation failed",
                400,
                procedure,
                issues=exc.issues,
                zod_error=exc.flatten(),
            )
        except TRPCError as exc:
            return _trpc_error(exc.code, exc.message, exc.status, procedure)
        return _json(200, result)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, applies faults/latency, records it, writes the answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real server
    # One buffered write per response and no Nagle: otherwise headers and body go out in
    # two segments and delayed ACKs add ~40 ms to every call.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence http.server's access log: it must never print paths with secrets or bodies."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        app = self.server.app
        method = self.command.upper()
        url = urlsplit(self.path)
        raw = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = parse_qs(url.query, keep_blank_values=True)
        procedure = url.path[len("/api/") :] if url.path.startswith("/api/") else None
        try:
            parsed_body = json.loads(raw) if raw else None
        except ValueError:
            parsed_body = None

        # Recorded on receipt: an in-flight request (e.g. sleeping in a latency fault)
        # already counts. The status is filled in before the response is written, so a
        # client that just got its answer always finds it.
        entry = RecordedRequest(
            method=method,
            path=url.path,
            procedure=procedure,
            query={k: v[0] if len(v) == 1 else list(v) for k, v in query.items()},
            body=parsed_body,
            status=None,
            headers={k: ("***" if k in _SECRET_HEADERS else v) for k, v in headers.items()},
        )
        app.record(entry)

        fault = app.take_fault(procedure, method)
        delay = app.latency + ((fault.latency or 0.0) if fault else 0.0)
        if delay > 0:
            time.sleep(delay)
        if fault is not None and fault.drop:
            self.close_connection = True  # no byte written, request not handled
            return
        if fault is not None and fault.status is not None:
            response = app.fault_response(fault)
        else:
            try:
                response = app.respond(method, url.path, query, headers, raw)
            except Exception as exc:  # an emulator bug: answer like an unexpected server error
                response = _trpc_error("INTERNAL_SERVER_ERROR", f"{type(exc).__name__}: {exc}", 500, procedure)
        if fault is not None and fault.drop_after_commit:
            self.close_connection = True  # handled (state changed) but the answer is lost
            return
        app.set_status(entry, response.status)
        self._write(method, response)

    def _write(self, method: str, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if method != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threaded server on 127.0.0.1 that can also close its open keep-alive connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: App, port: int = 0) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can
        # stall for seconds on some hosts; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so a stopped emulator really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients hanging up (or a drop fault) are expected, not errors."""
