"""What the emulator can do that a real Dokploy cannot: keys on demand, rate limits, scripted
faults and a log of every request. All thread-safe; the HTTP layer consults them per request."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = ["Fault", "Faults", "Hooks", "Keys", "RecordedRequest", "RequestLog"]


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
    #: The client's TCP port: requests sent over one keep-alive connection share it.
    client_port: int | None = None


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

    def body_bytes(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


class Keys:
    """API keys (each an owner of one organization) and per-key rate limits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}
        self._limits: dict[str, int] = {}

    def add(self, key: str, organization: str) -> None:
        with self._lock:
            self._keys[key] = organization

    def limit(self, key: str, n: int | None) -> None:
        with self._lock:
            if n is None:
                self._limits.pop(key, None)
            else:
                self._limits[key] = max(0, int(n))

    def clear_limits(self) -> None:
        with self._lock:
            self._limits.clear()

    def authenticate(self, key: str | None) -> str | None:
        """The caller's organization, or None for 401 (unknown key, or rate-limited)."""
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


class _LockedList(Generic[T]):
    """A list that request threads share: appended to and cleared under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []

    def add(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Faults(_LockedList[Fault]):
    """The queue of scripted faults; the first match answers, and is used up after ``remaining``."""

    def take(self, procedure: str | None, method: str) -> Fault | None:
        with self._lock:
            for fault in self._items:
                if fault.matches(procedure, method):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._items.remove(fault)
                    return fault
        return None


class RequestLog(_LockedList[RecordedRequest]):
    """Every request received, in order (in-flight ones included)."""

    def record(self, request: RecordedRequest) -> None:
        self.add(request)

    def set_status(self, request: RecordedRequest, status: int | None) -> None:
        with self._lock:
            request.status = status

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return [replace(r) for r in self._items]

    def count(self, procedure: str | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._items
                if (procedure is None or r.procedure == procedure) and (method is None or r.method == method.upper())
            )


class Hooks:
    """All of the above for one emulator, plus the latency added to every request (seconds)."""

    def __init__(self) -> None:
        self.keys = Keys()
        self.faults = Faults()
        self.log = RequestLog()
        self.latency = 0.0
