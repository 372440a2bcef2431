"""A recording reverse proxy on 127.0.0.1, so request counts can be asserted against a real Dokploy.

It forwards every request unchanged (method, path, query, headers, body) to the upstream server and
returns its answer unchanged, recording what the emulator's request log records: method, path,
procedure, query, JSON body, status. Keys are never recorded.

The upstream is whatever DOKPLOY_URL names: a recipe server on 127.0.0.1, or a user's own Dokploy
over http or https (TLS verified against the system store, as the client does by default).

It can also misbehave as real proxies do, in front of any server (the emulator or a real Dokploy):
- `date`: stamp answers with its own `Date` (nginx does by default) from its clock shifted by some
  seconds, send none, or send one that is not a date;
- `lose_answer`: forward a request and read the server's answer, then close the connection without
  sending it (a real lost answer: the server did the work), or drop the request unforwarded;
- `answer_instead`: answer a procedure itself (e.g. as if the server lacked it), without forwarding.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from dataclasses import dataclass, replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Union
from urllib.parse import parse_qs, urlsplit

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)


#: `RecordingProxy.date` values besides a number of seconds.
DATE_ABSENT = "absent"
DATE_GARBAGE = "garbage"
#: A `Date` value that no parser takes for a date.
GARBAGE_DATE = "yesterday, around noon"


@dataclass
class _Lose:
    procedure: str
    forward: bool
    times: int


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
        #: The `Date` of every answer: None passes the server's through; a number of seconds
        #: replaces it with this proxy's clock (the machine's) shifted by that much; DATE_ABSENT
        #: removes it; DATE_GARBAGE sends GARBAGE_DATE.
        self.date: Union[float, str, None] = None
        self._lose: list[_Lose] = []
        self._instead: dict[str, tuple[int, bytes]] = {}

    # -- misbehaving ------------------------------------------------------------------------------
    def lose_answer(self, procedure: str, *, forward: bool = True, times: int = 1) -> None:
        """The next `times` requests for `procedure` get no answer: the connection is closed after
        the server's answer was read (`forward=True`: the server did the work) or without
        forwarding the request at all (`forward=False`: nothing was done)."""
        with self._lock:
            self._lose.append(_Lose(procedure, forward, times))

    def answer_instead(self, procedure: str, status: int, body: Any) -> None:
        """Answer every request for `procedure` with `status` and `body` (JSON) without forwarding."""
        with self._lock:
            self._instead[procedure] = (status, json.dumps(body).encode())

    def behave(self) -> None:
        """Forward everything unchanged again."""
        with self._lock:
            self.date = None
            self._lose.clear()
            self._instead.clear()

    def _take_loss(self, procedure: Optional[str]) -> Optional[_Lose]:
        with self._lock:
            for loss in self._lose:
                if loss.procedure == procedure and loss.times > 0:
                    loss.times -= 1
                    return loss
        return None

    def _headers_out(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        date = self.date
        if date is None:
            return headers
        kept = [(k, v) for k, v in headers if k.lower() != "date"]
        if date == DATE_ABSENT:
            return kept
        if date == DATE_GARBAGE:
            return [*kept, ("Date", GARBAGE_DATE)]
        assert isinstance(date, (int, float))
        return [*kept, ("Date", formatdate(time.time() + date, usegmt=True))]

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
                    instead = proxy._instead.get(entry.procedure or "")
                loss = proxy._take_loss(entry.procedure)
                if instead is not None:
                    status, data = instead
                    answered = [("Content-Type", "application/json"), ("Date", formatdate(usegmt=True))]
                    with proxy._lock:
                        entry.status = status
                    self._answer(status, answered, data)
                    return
                if loss is not None and not loss.forward:
                    self.close_connection = True  # no answer: the client sees the connection drop
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn = proxy._connection()
                try:
                    conn.request(self.command, proxy._prefix + self.path, body=raw or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    with proxy._lock:
                        entry.status = answer.status
                    if loss is not None:
                        self.close_connection = True  # the server did the work; its answer is lost
                        return
                    self._answer(answer.status, answer.getheaders(), data)
                finally:
                    conn.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response_only(status)
                for name, value in proxy._headers_out(headers):
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

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
