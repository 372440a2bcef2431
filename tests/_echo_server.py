"""A tiny HTTP server on 127.0.0.1 that answers every request with an echo of it, in many shapes.

What a careless server or a debugging proxy does: repeat the request (its headers, the API key
among them, and its body, env values among them) in an error. `EchoServer.shape` decides how the
echo comes back: JSON `message`, plain text, an HTML page, headers only, cut short, wrapped over
lines, double JSON-encoded, and with which status. Tests for the redaction rule (`_redact.py`) set
it per example.
"""

from __future__ import annotations

import html
import json
import textwrap
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from dokploy_pulumi._redact import MIN_LENGTH, RUN

#: How the echo is written into the answer.
FORMS = ("json-message", "json-body-field", "text", "html", "headers-only", "double-json", "no-message-json")


@dataclass(frozen=True)
class Shape:
    """One way of echoing: `form` (see FORMS), the status, and what happens to the echoed text."""

    form: str = "text"
    status: int = 500
    cut: Optional[int] = None  # keep only the first `cut` characters (a server truncating)
    skip: int = 0  # drop the first `skip` characters (an echo that starts mid-value)
    wrap: Optional[int] = None  # re-wrap at this width (a server splitting lines)

    def render(self, echo: str) -> tuple[str, bytes]:
        """(content type, body) for the echoed request text."""
        text = echo[self.skip :]
        if self.cut is not None:
            text = text[: self.cut]
        if self.wrap:
            text = "\n".join(textwrap.wrap(text, self.wrap, drop_whitespace=False, replace_whitespace=False))
        if self.form == "json-message":
            return "application/json", json.dumps({"message": f"Failed query: {text}", "code": "BAD_REQUEST"}).encode()
        if self.form == "json-body-field":
            return "application/json", json.dumps({"error": "boom", "request": text}).encode()
        if self.form == "no-message-json":
            return "application/json", json.dumps([text]).encode()
        if self.form == "double-json":
            inner = json.dumps({"echo": text})
            return "application/json", json.dumps({"message": inner, "code": "INTERNAL_SERVER_ERROR"}).encode()
        if self.form == "html":
            page = f"<html><body><h1>{self.status} Error</h1><pre>{html.escape(text)}</pre></body></html>"
            return "text/html", page.encode()
        return "text/plain; charset=utf-8", text.encode()


class EchoServer:
    """Serves on 127.0.0.1 (a free port) until closed. `requests` holds each request's text."""

    def __init__(self, shape: Shape = Shape()) -> None:
        self.shape = shape
        self.requests: list[str] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
                head = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
                shape = owner.shape
                echo = head if shape.form == "headers-only" else f"{self.command} {self.path}\n{head}\n{body}"
                with owner._lock:
                    owner.requests.append(echo)
                content_type, payload = shape.render(echo)
                self.send_response(shape.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> EchoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def leaked(text: str, secret: str) -> bool:
    """Whether `text` shows `secret` under the documented rule: whole (from MIN_LENGTH characters
    on, also JSON-escaped) or any run of RUN of its characters.

    (Runs of an *escaped* form are not checked: `\\u00a` is as much the start of an escaped "¡"
    as of an escaped non-breaking space.)
    """
    if len(secret) < MIN_LENGTH:
        return False
    if any(form in text for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1])):
        return True
    return any(secret[i : i + RUN] in text for i in range(len(secret) - RUN + 1))
