"""What one process learns while it talks to Dokploy, in one object it owns.

A provider process serves every resource type of a stack (one provider instance per type), and a
program process runs every look-up. Two facts must be shared across all of them:

- which API keys already got an authenticated answer: Dokploy answers a rate-limited key with 401,
  exactly like a wrong key, so a 401 for a key that worked a moment ago means "rate-limited";
- which object ids this process already manages (created, read, updated or diffed), so that the
  search after a lost create never adopts an object that another resource of the stack holds.

`Session.current()` is the process's session, created on first use; tests make their own.
"""

from __future__ import annotations

import hashlib
import threading
from typing import ClassVar, Optional


class Session:
    """Per-process knowledge shared by every client, provider and look-up. Thread-safe."""

    _current: ClassVar[Optional[Session]] = None
    _current_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys_that_worked: set[str] = set()
        self._managed: set[str] = set()

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
