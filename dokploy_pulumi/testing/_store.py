"""The emulated database: organizations, projects, environments, service rows, tags and project tags.

Rows are plain dicts with Dokploy's column names (``packages/server/src/db/schema/*.ts``). One
re-entrant lock guards everything, so each procedure is atomic with respect to the others (the
real server is not always: see ``project.duplicate``). After every mutation the store is written
to its state file, if it has one (``_persistence``).
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from pathlib import Path
from typing import Any

from .._releases import DEFAULT_ENVIRONMENT_DESCRIPTION, DEFAULT_ENVIRONMENT_NAME
from . import _persistence
from ._clock import Clock, parse_iso

__all__ = ["ENVIRONMENT_COLUMNS", "PROJECT_COLUMNS", "PROJECT_TAG_COLUMNS", "TAG_COLUMNS", "Store", "new_id"]

PROJECT_COLUMNS = ("projectId", "name", "description", "createdAt", "organizationId", "env")
ENVIRONMENT_COLUMNS = ("environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault")
TAG_COLUMNS = ("tagId", "name", "color", "createdAt", "organizationId")
PROJECT_TAG_COLUMNS = ("id", "projectId", "tagId")

_NANOID_ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"


def new_id(size: int = 21) -> str:
    """A nanoid: what Dokploy uses for every primary key (``nanoid()``, 21 url-safe chars)."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))


class Store:
    """Every row of every organization, plus the clock that stamps them."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        # Resolved: through a symlink, saves (a rename over the path) must replace the file it names,
        # not the link itself; and the lock (`_persistence.lock`) must see one file under every name.
        self.path = Path(state_file).resolve() if state_file is not None else None
        self.organizations: list[str] = []
        self.primary_organization = ""
        self.projects: dict[str, dict[str, Any]] = {}
        self.environments: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, Any]] = {}  # schema/tag.ts: unique (organizationId, name)
        self.project_tags: dict[str, dict[str, Any]] = {}  # unique (projectId, tagId); cascades both ways
        self.seq: dict[str, int] = {}  # insertion order, to break createdAt ties
        self.counter = 0
        if self.path is not None and self.path.exists() and self.path.stat().st_size > 0:
            self.load(_persistence.read_document(self.path))
        if not self.primary_organization:
            self.primary_organization = self.add_organization()

    # -- the state file ---------------------------------------------------------------------------
    # API keys are never written (they are given again at start).

    def save(self) -> None:
        if self.path is not None:
            _persistence.write_document(self.document(), self.path)

    def document(self) -> dict[str, Any]:
        """Every row, as the state file keeps them."""
        return {
            "primaryOrganization": self.primary_organization,
            "organizations": self.organizations,
            "projects": list(self.projects.values()),
            "environments": list(self.environments.values()),
            "services": list(self.services.values()),
            "tags": list(self.tags.values()),
            "projectTags": list(self.project_tags.values()),
            "order": self.seq,
        }

    def load(self, document: dict[str, Any]) -> None:
        """Fill the store from a state file's `document`. The clock is told about the newest saved
        stamp, so rows created after a restart still sort as newer."""
        self.primary_organization = document.get("primaryOrganization", "")
        self.organizations = list(document.get("organizations", []))
        self.projects = {p["projectId"]: p for p in document.get("projects", [])}
        self.environments = {e["environmentId"]: e for e in document.get("environments", [])}
        self.services = {s["id"]: s for s in document.get("services", [])}
        self.tags = {t["tagId"]: t for t in document.get("tags", [])}
        self.project_tags = {link["id"]: link for link in document.get("projectTags", [])}
        self.seq = {k: int(v) for k, v in document.get("order", {}).items()}
        self.counter = max(self.seq.values(), default=0)
        stamps = [
            parse_iso(row.get("createdAt"))
            for table in (self.projects, self.environments, self.services, self.tags)
            for row in table.values()
        ]
        newest = max((s for s in stamps if s is not None), default=None)
        if newest is not None:
            self.clock.not_before(newest)

    def add_organization(self, organization_id: str | None = None) -> str:
        with self.lock:
            org = organization_id or new_id()
            if org not in self.organizations:
                self.organizations.append(org)
                self.save()
            return org

    # -- inserts and deletes --------------------------------------------------------------------

    def track(self, key: str) -> None:
        self.counter += 1
        self.seq[key] = self.counter

    def order(self, row_id: str, created_at: Any) -> tuple[str, int]:
        """The sort key of "oldest first" (``createdAt``, then insertion order)."""
        return (str(created_at), self.seq.get(row_id, 0))

    def insert_project(self, org: str, name: str, description: str | None, env: str) -> dict[str, Any]:
        row: dict[str, Any] = {
            "projectId": new_id(),
            "name": name,
            "description": description,
            "createdAt": self.clock.stamp(),
            "organizationId": org,
            "env": env,
        }
        self.projects[row["projectId"]] = row
        self.track(row["projectId"])
        return dict(row)

    def insert_environment(
        self, project_id: str, name: str, description: str | None, env: str, is_default: bool
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "environmentId": new_id(),
            "name": name,
            "description": description,
            "createdAt": self.clock.stamp(),
            "env": env,
            "projectId": project_id,
            "isDefault": is_default,
        }
        self.environments[row["environmentId"]] = row
        self.track(row["environmentId"])
        return dict(row)

    def insert_default_environment(self, project_id: str) -> dict[str, Any]:
        """``createProductionEnvironment()``: fixed name and description, env "", isDefault."""
        return self.insert_environment(project_id, DEFAULT_ENVIRONMENT_NAME, DEFAULT_ENVIRONMENT_DESCRIPTION, "", True)

    def insert_service(self, environment_id: str, type_: str, name: str, **extra: Any) -> dict[str, Any]:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or type_
        row: dict[str, Any] = {
            "id": new_id(),
            "type": type_,
            "environmentId": environment_id,
            "name": name,
            "appName": f"{base}-{new_id(6).lower()}",
            "description": None,
            "createdAt": self.clock.stamp(),
            "serverId": None,
            "status": "idle",
            "icon": None,
        }
        row.update(extra)
        self.services[row["id"]] = row
        self.track(row["id"])
        return row

    def delete_environment_rows(self, environment_id: str) -> dict[str, Any]:
        """Delete an environment and (ON DELETE CASCADE) its services; returns its row."""
        for service in self.services_of(environment_id):
            del self.services[service["id"]]
        return self.environments.pop(environment_id)

    def delete_project_rows(self, project_id: str) -> dict[str, Any]:
        """Delete a project and (ON DELETE CASCADE) its environments, services and tag links."""
        for env in self.envs_of(project_id):
            self.delete_environment_rows(env["environmentId"])
        self.unlink_tags(lambda link: link["projectId"] == project_id)
        return self.projects.pop(project_id)

    def unlink_tags(self, which: Any) -> None:
        """Delete the project_tag rows for which ``which(row)`` is true."""
        for link_id in [k for k, link in self.project_tags.items() if which(link)]:
            del self.project_tags[link_id]

    # -- lookups --------------------------------------------------------------------------------

    def envs_of(self, project_id: str) -> list[dict[str, Any]]:
        """A project's environments, oldest first."""
        rows = [e for e in self.environments.values() if e["projectId"] == project_id]
        return sorted(rows, key=lambda e: self.order(e["environmentId"], e["createdAt"]))

    def services_of(self, environment_id: str) -> list[dict[str, Any]]:
        rows = [s for s in self.services.values() if s["environmentId"] == environment_id]
        return sorted(rows, key=lambda s: self.order(s["id"], s["createdAt"]))

    def projects_of(self, org: str) -> list[dict[str, Any]]:
        """An organization's projects, newest first."""
        rows = [p for p in self.projects.values() if p["organizationId"] == org]
        return sorted(rows, key=lambda p: self.order(p["projectId"], p["createdAt"]), reverse=True)

    def org_of(self, env: dict[str, Any]) -> str | None:
        """The organization owning an environment (through its project)."""
        project = self.projects.get(env["projectId"])
        return project["organizationId"] if project else None

    def tags_of_project(self, project_id: str) -> list[dict[str, Any]]:
        """``projectTags: {with: {tag: true}}``: the links (in insertion order), each with its tag row."""
        links = sorted(
            (link for link in self.project_tags.values() if link["projectId"] == project_id),
            key=lambda link: self.seq.get(link["id"], 0),
        )
        return [{**link, "tag": dict(self.tags[link["tagId"]])} for link in links]

    def reset(self) -> None:
        with self.lock:
            self.tags.clear()
            self.project_tags.clear()
            self.projects.clear()
            self.environments.clear()
            self.services.clear()
            self.seq.clear()
            self.counter = 0
            self.save()
