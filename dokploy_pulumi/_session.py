"""What one process learns while it talks to Dokploy, in one object it owns.

A provider process serves every resource type of a stack (one provider instance per type), and a
program process runs every look-up. Two facts must be shared across all of them:

- which API keys already got an authenticated answer: Dokploy answers a rate-limited key with 401,
  exactly like a wrong key, so a 401 for a key that worked a moment ago means "rate-limited";
- which object ids this process already manages (created, read, updated or diffed), so that the
  search after a lost create never adopts an object that another resource of the stack holds;
- how far each server's clock is from ours (`ServerClock`), proven by any resource's requests (a
  create answered for a Project proves the bound an Environment's lost create needs);
- one client (one connection pool) per server and key, shared by every provider instance and
  look-up, so that a stack of several resource types opens its connections, and probes a server's
  version, once per process rather than once per type.

`Session.current()` is the process's session, created on first use; tests make their own.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable
from typing import Any, ClassVar, Optional, TypeVar, cast

#: `createdAt` and `server.getServerTime` are JavaScript `toISOString()` times: milliseconds, cut.
STAMP_RESOLUTION = 0.001

_C = TypeVar("_C")


class ServerClock:
    """How far one server's clock is from ours (server minus ours), proven by the server's own stamps.

    Dokploy stamps `createdAt` with its process clock (`new Date().toISOString()`), and
    `server.getServerTime` answers the same clock's time. A time T of that clock, read by the server
    while a request sent at our time `sent` was in flight and answered at our `received`, proves
    `T - received <= offset < T - sent + 1 ms`. Readings are intersected. One that contradicts the
    others replaces them, and then proves nothing until another reading agrees with it: either the
    server's clock was set meanwhile (the new readings will agree), or a proxy answers a cached
    `getServerTime` (the same time again while ours moved on: no two readings ever agree), whose
    one stale reading would put the server's clock back and make an older object pass for new.

    The `Date` header proves nothing here: a reverse proxy in front of Dokploy (nginx does by
    default) replaces it with its own clock's time, seconds away in either direction.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._low: Optional[float] = None
        self._high: Optional[float] = None
        #: Readings since the last contradiction, and whether there was one.
        self._agreeing = 0
        self._contradicted = False

    def observe(self, server_time: float, sent: float, received: float) -> None:
        """Record that the server's clock read `server_time` between our `sent` and `received`."""
        low, high = server_time - received, server_time - sent + STAMP_RESOLUTION
        with self._lock:
            if self._low is None or self._high is None:
                self._low, self._high, self._agreeing = low, high, 1
            elif low > self._high or high < self._low:
                self._low, self._high, self._agreeing, self._contradicted = low, high, 1, True
            else:
                self._low, self._high = max(self._low, low), min(self._high, high)
                self._agreeing += 1
                if self._agreeing >= 2:
                    self._contradicted = False

    @property
    def readings(self) -> int:
        """How many readings agree (since the last contradiction)."""
        with self._lock:
            return self._agreeing

    @property
    def uncertainty(self) -> Optional[float]:
        """The width (seconds) of what the readings prove; None before any reading."""
        with self._lock:
            return None if self._low is None or self._high is None else self._high - self._low

    def server_time_at(self, local: float) -> Optional[tuple[float, float]]:
        """The interval the server's clock was in when ours read `local`; None before any reading,
        and after a contradiction until a reading agrees with the newest."""
        with self._lock:
            if self._low is None or self._high is None or self._contradicted:
                return None
            return local + self._low, local + self._high


class Session:
    """Per-process knowledge shared by every client, provider and look-up. Thread-safe."""

    _current: ClassVar[Optional[Session]] = None
    _current_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys_that_worked: set[str] = set()
        self._managed: set[str] = set()
        self._clocks: dict[str, ServerClock] = {}
        # Clients are made outside `_lock`'s short sections: a TLS context can take milliseconds.
        self._clients: dict[Hashable, Any] = {}
        self._clients_lock = threading.Lock()

    @classmethod
    def current(cls) -> Session:
        """The process-wide session (created on first use, so importing has no side effect)."""
        with cls._current_lock:
            if cls._current is None:
                cls._current = cls()
            return cls._current

    # -- keys -----------------------------------------------------------------------------------
    @staticmethod
    def key_id(base_url: str, api_key: str) -> str:
        """A digest naming (server, key) without holding the key."""
        return hashlib.sha256(f"{base_url}\0{api_key}".encode()).hexdigest()

    def key_worked(self, key_id: str) -> None:
        with self._lock:
            self._keys_that_worked.add(key_id)

    def has_key_worked(self, key_id: str) -> bool:
        with self._lock:
            return key_id in self._keys_that_worked

    # -- managed ids ----------------------------------------------------------------------------
    def remember(self, *ids: Optional[str]) -> None:
        """Record ids this process manages, so that reconciliation never adopts them again."""
        with self._lock:
            self._managed.update(i for i in ids if i)

    def is_managed(self, id_: str) -> bool:
        with self._lock:
            return id_ in self._managed

    # -- server clocks --------------------------------------------------------------------------
    def clock(self, base_url: str) -> ServerClock:
        """The clock of the server at `base_url`, shared by every client of this process."""
        with self._lock:
            return self._clocks.setdefault(base_url, ServerClock())

    # -- clients --------------------------------------------------------------------------------
    def client(self, settings: Hashable, make: Callable[[], _C], is_closed: Callable[[_C], bool]) -> _C:
        """The process's one client for `settings` (a resolved connection), made on first use, and
        again if someone closed it. Typed loosely so that this module needs no HTTP stack."""
        with self._clients_lock:
            found = self._clients.get(settings)
            if found is None or is_closed(found):
                found = make()
                self._clients[settings] = found
            return cast(_C, found)
