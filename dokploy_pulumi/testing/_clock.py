"""The emulated server's clock: ``createdAt`` stamps, ``server.getServerTime`` and the ``Date`` header come from it.

Dokploy stamps rows with ``new Date().toISOString()`` and Node's HTTP server sends a ``Date``
header (whole seconds) with every answer, both from the server's own clock. ``offset`` (seconds)
shifts that clock from the machine's, so tests can put the server ahead or behind the client.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from email.utils import formatdate

__all__ = ["Clock", "iso", "parse_iso"]


def iso(seconds: float) -> str:
    """JavaScript ``new Date(ms).toISOString()``: milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: object) -> float | None:
    """Seconds since the epoch of an ISO timestamp, or None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


class Clock:
    """Wall-clock time plus ``offset``; ``stamp()`` never repeats and never goes back while the
    offset stays put (so "newest first" orders never tie), but follows a changed offset at once."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = float(offset)
        self._lock = threading.Lock()
        self._last_ms = 0  # the machine's time (without offset) of the last stamp, in ms

    def now(self) -> float:
        """The server's time, in seconds since the epoch."""
        return time.time() + self.offset

    def stamp(self) -> str:
        """A fresh ``createdAt``."""
        with self._lock:
            ms = max(int(time.time() * 1000), self._last_ms + 1)
            self._last_ms = ms
            return iso(ms / 1000 + self.offset)

    def not_before(self, seconds: float) -> None:
        """Make later stamps newer than ``seconds`` (server time), e.g. after loading saved rows."""
        with self._lock:
            self._last_ms = max(self._last_ms, int((seconds - self.offset) * 1000))

    def http_date(self) -> str:
        """The ``Date`` header: RFC 7231, whole seconds, GMT."""
        return formatdate(self.now(), usegmt=True)
