"""The state file: the store as one JSON document, rewritten atomically after every mutation.

API keys are never written (they are given again at start). The clock is told about the newest
saved stamp, so rows created after a restart still sort as newer.

One process owns a state file at a time (`lock`): two emulators each load the file once and then
rewrite it whole after their own mutations, so a second one would silently undo the first one's
writes. The lock is an `flock` on `<FILE>.lock`, not on FILE itself, because every save replaces
FILE by a rename (a lock on the old inode would guard nothing).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._clock import parse_iso

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["StateFileInUse", "load", "lock", "save"]

FORMAT = 1


def save(store: Store, path: Path) -> None:
    """Write the document to a temporary file beside ``path``, then rename it over ``path``."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "primaryOrganization": store.primary_organization,
        "organizations": store.organizations,
        "projects": list(store.projects.values()),
        "environments": list(store.environments.values()),
        "services": list(store.services.values()),
        "tags": list(store.tags.values()),
        "projectTags": list(store.project_tags.values()),
        "order": store.seq,
    }
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load(store: Store, path: Path) -> None:
    """Fill ``store`` from the document at ``path``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    store.primary_organization = document.get("primaryOrganization", "")
    store.organizations = list(document.get("organizations", []))
    store.projects = {p["projectId"]: p for p in document.get("projects", [])}
    store.environments = {e["environmentId"]: e for e in document.get("environments", [])}
    store.services = {s["id"]: s for s in document.get("services", [])}
    store.tags = {t["tagId"]: t for t in document.get("tags", [])}
    store.project_tags = {link["id"]: link for link in document.get("projectTags", [])}
    store.seq = {k: int(v) for k, v in document.get("order", {}).items()}
    store.counter = max(store.seq.values(), default=0)
    stamps = [
        parse_iso(row.get("createdAt"))
        for table in (store.projects, store.environments, store.services, store.tags)
        for row in table.values()
    ]
    newest = max((s for s in stamps if s is not None), default=None)
    if newest is not None:
        store.clock.not_before(newest)


class StateFileInUse(RuntimeError):
    """The state file cannot be taken: another process holds it, or its lock file cannot be opened."""


def lock(path: Path) -> IO[str]:
    """Take the state file for this process: an exclusive lock held until the returned file is
    closed (or the process ends, however it ends: the kernel drops an flock with its holder).

    Raises `StateFileInUse`, naming the holder's process id, when another process has it (or naming
    the lock file when it cannot be opened at all). On a
    system without `fcntl` (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return open(os.devnull, "w", encoding="utf-8")
    path = path.resolve()  # a symlink and its target are one file: one lock (and `Store` saves to this)
    lock_path = path.with_name(path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process's life
    except OSError as exc:  # a read-only folder, a folder in the lock file's place: one line, not a traceback
        raise StateFileInUse(f"cannot lock the state file {path}: {exc.strerror}: {lock_path}") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StateFileInUse(
            f"the state file {path} is in use by another emulator (process {holder}); two processes on one "
            "file would overwrite each other's writes. Stop that one, or give this one another --state file."
        ) from None
    # Name the holder for the next one that is refused.
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
