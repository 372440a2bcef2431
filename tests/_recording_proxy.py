"""A recording reverse proxy on 127.0.0.1, so request counts can be asserted against a real Dokploy.

It forwards every request unchanged (method, path, query, headers, body) to the upstream server and
returns its answer unchanged, recording what the emulator's request log records: method, path,
procedure, query, JSON body, status. Keys are never recorded.

The upstream is whatever DOKPLOY_URL names: a recipe server on 127.0.0.1, or a user's own Dokploy
over http or https (TLS verified against the system store, as the client does by default).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)


@dataclass
class Recorded:
    method: str
    path: str
    procedure: Optional[str]
    query: dict[str, Any]
    body: Any
    status: Optional[int]


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the upstream must be an http(s) URL")
        if parts.username or parts.password:
            raise ValueError("the upstream URL must not hold credentials")
        self._tls = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port or (443 if self._tls else 80)
        self._prefix = parts.path.rstrip("/")
        # Dokploy's API lives under <url>/api: a URL given with a trailing /api must not double it.
        if self._prefix.endswith("/api"):
            self._prefix = self._prefix[: -len("/api")]
        self._ssl = ssl.create_default_context() if self._tls else None
        self._lock = threading.Lock()
        self._log: list[Recorded] = []
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RecordingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length > 0 else b""
                url = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                entry = Recorded(
                    method=self.command,
                    path=url.path,
                    procedure=url.path[len("/api/") :] if url.path.startswith("/api/") else None,
                    query={k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()},
                    body=body,
                    status=None,
                )
                with proxy._lock:
                    proxy._log.append(entry)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn = proxy._connection()
                try:
                    conn.request(self.command, proxy._prefix + self.path, body=raw or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    with proxy._lock:
                        entry.status = answer.status
                    self.send_response_only(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def _connection(self) -> http.client.HTTPConnection:
        if self._tls:
            return http.client.HTTPSConnection(self._host, self._port, timeout=300, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=300)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def requests(self) -> list[Recorded]:
        with self._lock:
            return [replace(r) for r in self._log]

    def count(self, procedure: Optional[str] = None, method: Optional[str] = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._log
                if (procedure is None or r.procedure == procedure) and (method is None or r.method == method.upper())
            )

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
