"""One procedure call in progress: the store, the release, the caller, and how rows look in reads.

The handlers of ``_projects`` and ``_environments`` take a :class:`Call` and the validated input.
The row views here are shared by both routers (``project.duplicate`` answers with what
``environment.one`` shows, for instance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._errors import DatabaseError, TRPCError
from ._releases import Release
from ._services import service_arrays
from ._store import Store

__all__ = ["HANDLERS", "Call", "procedure"]

#: Procedure name -> handler, filled by ``@procedure`` in the router modules (which of them a
#: release has is decided by ``_schemas``).
HANDLERS: dict[str, Callable[[Call, dict[str, Any]], Any]] = {}


def procedure(name: str) -> Callable[[Callable[[Call, dict[str, Any]], Any]], Callable[[Call, dict[str, Any]], Any]]:
    """Register the decorated function as the handler of procedure ``name``."""

    def register(fn: Callable[[Call, dict[str, Any]], Any]) -> Callable[[Call, dict[str, Any]], Any]:
        HANDLERS[name] = fn
        return fn

    return register


@dataclass
class Call:
    store: Store
    release: Release
    org: str  # the caller's organization (an owner of it)
    legacy_create: bool = False  # project.create like Dokploy < v0.25.0 (no environments)

    def wrap(self, prefix: str, exc: Exception) -> TRPCError:
        """A handler's ``catch`` that re-throws everything as 400 ``"<prefix>: <message>"``."""
        message = exc.message(self.release) if isinstance(exc, DatabaseError) else str(exc)
        return TRPCError("BAD_REQUEST", f"{prefix}: {message}")

    def services(self, environment_id: str, style: str) -> dict[str, list[dict[str, Any]]]:
        return service_arrays(self.store.services_of(environment_id), self.release, style)

    def project_row(self, project_id: str) -> dict[str, Any] | None:
        project = self.store.projects.get(project_id)
        return dict(project) if project else None

    def environment_row_with_services(self, env: dict[str, Any], style: str) -> dict[str, Any]:
        """A whole environment row and its service arrays (project.one's environments)."""
        return {**env, **self.services(env["environmentId"], style)}

    def environment_one(self, env: dict[str, Any]) -> dict[str, Any]:
        """``findEnvironmentById()``: v0.30.2 selects columns (no ``createdAt``); v0.26.7 the row."""
        if self.release.slim_reads:
            keys = ("name", "description", "environmentId", "isDefault", "projectId", "env")
            view = {k: env[k] for k in keys}
        else:
            view = dict(env)
        view.update(self.services(env["environmentId"], "environment"))
        view["project"] = self.project_row(env["projectId"])
        return view

    def by_project_item(self, env: dict[str, Any]) -> dict[str, Any]:
        """``findEnvironmentsByProjectId()``'s items: short on v0.30.2, whole rows on v0.26.7."""
        if self.release.slim_reads:
            view = {k: env[k] for k in ("name", "description", "environmentId", "isDefault")}
        else:
            view = dict(env)
        view.update(self.services(env["environmentId"], "detail"))
        view["project"] = self.project_row(env["projectId"])
        return view
