"""The state file: the store as one JSON document, rewritten atomically after every mutation.

API keys are never written (they are given again at start). The clock is told about the newest
saved stamp, so rows created after a restart still sort as newer.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._clock import parse_iso

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["load", "save"]

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
    store.seq = {k: int(v) for k, v in document.get("order", {}).items()}
    store.counter = max(store.seq.values(), default=0)
    stamps = [
        parse_iso(row.get("createdAt"))
        for table in (store.projects, store.environments, store.services)
        for row in table.values()
    ]
    newest = max((s for s in stamps if s is not None), default=None)
    if newest is not None:
        store.clock.not_before(newest)
