"""The socket side: a threaded HTTP/1.1 server on 127.0.0.1 that applies faults and latency,
records each request, and answers with :class:`_http.App`.

Every answer carries a ``Date`` header from the emulated server's clock (so a test can skew it),
like Node's HTTP server does.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._clock import Clock
from ._hooks import Hooks, RecordedRequest
from ._http import App, Response, error_response

__all__ = ["EmulatorHTTPServer"]

_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, applies faults/latency, records it, writes the answer."""

    protocol_version = "HTTP/1.1"  # keep-alive, like the real server
    # One buffered write per response and no Nagle: otherwise headers and body go out in
    # two segments and delayed ACKs add ~40 ms to every call.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's access log: it must never print paths with secrets or bodies."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header ``send_response`` adds: the emulated server's clock."""
        return self.server.clock.http_date()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
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
        server = self.server
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

        # Recorded on receipt: an in-flight request (e.g. sleeping in a latency fault) already
        # counts. The status is filled in before the response is written, so a client that just
        # got its answer always finds it.
        entry = RecordedRequest(
            method=method,
            path=url.path,
            procedure=procedure,
            query={k: v[0] if len(v) == 1 else list(v) for k, v in query.items()},
            body=parsed_body,
            status=None,
            headers={k: ("***" if k in _SECRET_HEADERS else v) for k, v in headers.items()},
            client_port=int(self.client_address[1]),
        )
        server.hooks.log.record(entry)

        fault = server.hooks.faults.take(procedure, method)
        delay = server.hooks.latency + ((fault.latency or 0.0) if fault else 0.0)
        if delay > 0:
            time.sleep(delay)
        if fault is not None and fault.drop:
            self.close_connection = True  # no byte written, request not handled
            return
        if fault is not None and fault.status is not None:
            response = Response(fault.status, fault.body_bytes(), fault.content_type, dict(fault.headers))
        else:
            try:
                response = server.app.respond(method, url.path, query, headers, raw)
            except Exception as exc:  # an emulator bug: answer like an unexpected server error
                release = server.app.router.release
                message = f"{type(exc).__name__}: {exc}"
                response = error_response(release, "INTERNAL_SERVER_ERROR", message, 500, procedure)
        if fault is not None and fault.drop_after_commit:
            self.close_connection = True  # handled (state changed) but the answer is lost
            return
        server.hooks.log.set_status(entry, response.status)
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

    def __init__(self, app: App, hooks: Hooks, clock: Clock, port: int = 0) -> None:
        self.app = app
        self.hooks = hooks
        self.clock = clock
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
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: clients hanging up (or a drop fault) are expected, not errors."""
