"""The Dokploy a test runs against: the emulator, or a real server (the real tier).

Tests that only need what a real Dokploy offers take the `backend` fixture (see conftest.py):
- against the emulator it is the `DokployEmulator` itself;
- with `DOKPLOY_URL` and `DOKPLOY_API_KEY` set it is a `RealBackend`: the same methods, done
  through the real API (out-of-band edits are `project.update`, services are `application.create`
  and friends, which need no Docker), with the requests recorded by a proxy on 127.0.0.1 so that
  request counts are asserted against the real server too.

Everything a test creates on a real server is named with the run's prefix (`n("app")`) and removed
when the session ends, also when tests fail. Emulator-only hooks (faults, latency, clock, rate
limits, extra keys, rows a real server cannot have) do not exist on `RealBackend`: tests that use
them are marked `@pytest.mark.hook` and skipped against a real server, with the reason.
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Optional

from _recording_proxy import RecordingProxy

from dokploy_pulumi import DokployClient, NotFoundError

REAL_URL = os.environ.get("DOKPLOY_URL") or ""
REAL_KEY = os.environ.get("DOKPLOY_API_KEY") or ""
AGAINST_REAL = bool(REAL_URL and REAL_KEY)
HOOK_SKIP_REASON = (
    "needs an emulator-only hook (fault injection, latency, clock skew, rate limits, extra API keys, "
    "or rows a real server cannot hold); skipped because DOKPLOY_URL/DOKPLOY_API_KEY point the tests "
    "at a real Dokploy"
)

#: The service kinds `add_service` can make on a real server, and how.
_SERVICE_CREATE = {
    "application": ("application.create", lambda name, env_id: {"name": name, "environmentId": env_id}),
    "compose": ("compose.create", lambda name, env_id: {"name": name, "environmentId": env_id}),
    "postgres": (
        "postgres.create",
        lambda name, env_id: {
            "name": name,
            "appName": f"{name}-{secrets.token_hex(3)}",
            "databaseName": "app",
            "databaseUser": "app",
            "databasePassword": secrets.token_hex(8),
            "dockerImage": "postgres:15",
            "environmentId": env_id,
        },
    ),
}


#: This run's name prefix on a real server ("" against the emulator): no `%` or `_`, which
#: Dokploy's search treats as wildcards.
PREFIX = f"dpt-{secrets.token_hex(4)}-" if AGAINST_REAL else ""


def n(name: str) -> str:
    """`name` with this run's prefix."""
    return PREFIX + name


class RealBackend:
    """A real Dokploy behind a recording proxy, with the emulator's test-facing method names."""

    def __init__(self, url: str, api_key: str, prefix: str) -> None:
        self.upstream = url
        self.api_key = api_key
        self.prefix = prefix
        self._proxy = RecordingProxy(url).start()
        self.url = self._proxy.url
        # Out-of-band reads and edits go straight to the server: they are not the provider's requests.
        self.api = DokployClient(url, api_key, timeout=120.0)
        self.version = self.api.version()

    def close(self) -> None:
        try:
            self.cleanup()
        finally:
            self.api.close()
            self._proxy.stop()

    # -- the request log (the proxy's) ------------------------------------------------------------
    @property
    def requests(self) -> list[Any]:
        return self._proxy.requests()

    def request_count(self, procedure: Optional[str] = None, method: Optional[str] = None) -> int:
        return self._proxy.count(procedure, method)

    def reset_requests(self) -> None:
        self._proxy.reset()

    # -- rows ----------------------------------------------------------------------------------------
    @property
    def organization_id(self) -> str:
        rows = self.api.get("project.all", None)
        if rows:
            return str(rows[0]["organizationId"])
        made = self.create_project(f"{self.prefix}org-probe")
        self.delete_project(made["projectId"])
        return str(made["organizationId"])

    def projects(self) -> list[dict[str, Any]]:
        """This run's projects (the server may hold others')."""
        return [p for p in self.api.get("project.all", None) or [] if p["name"].startswith(self.prefix)]

    def environments(self) -> list[dict[str, Any]]:
        """Every environment of this run's projects, as full rows."""
        rows = []
        for project in self.projects():
            detail = self.get_project(project["projectId"])
            for env in (detail or {}).get("environments", []):
                rows.append({**env, "projectId": env.get("projectId") or project["projectId"]})
        return rows

    def get_project(self, project_id: str) -> Optional[dict[str, Any]]:
        try:
            return dict(self.api.get("project.one", {"projectId": project_id}))
        except NotFoundError:
            return None

    def get_environment(self, environment_id: str) -> Optional[dict[str, Any]]:
        try:
            return dict(self.api.get("environment.one", {"environmentId": environment_id}))
        except NotFoundError:
            return None

    def create_project(self, name: str, **fields: Any) -> dict[str, Any]:
        assert name.startswith(self.prefix), f"name {name!r} lacks the run's prefix {self.prefix!r}"
        made = self.api.post("project.create", {"name": name})
        row = dict(made["project"] if "project" in made else made)
        if fields:
            row = self.set_project_fields(row["projectId"], **fields)
        return row

    def set_project_fields(self, project_id: str, **fields: Any) -> dict[str, Any]:
        """An edit made by hand: `project.update` (name, description, env only)."""
        assert set(fields) <= {"name", "description", "env"}, f"a real server cannot set {sorted(fields)}"
        return dict(self.api.post("project.update", {"projectId": project_id, **fields}))

    def set_environment_fields(self, environment_id: str, **fields: Any) -> dict[str, Any]:
        assert set(fields) <= {"name", "description", "env"}, f"a real server cannot set {sorted(fields)}"
        if fields.get("description") is None and "description" in fields:
            fields["description"] = ""  # environment.update rejects null
        return dict(self.api.post("environment.update", {"environmentId": environment_id, **fields}))

    def delete_project(self, project_id: str) -> dict[str, Any]:
        return dict(self.api.post("project.remove", {"projectId": project_id}))

    def delete_environment(self, environment_id: str) -> dict[str, Any]:
        return dict(self.api.post("environment.remove", {"environmentId": environment_id}))

    def add_service(self, environment_id: str, type: str = "application", name: str = "app") -> str:  # noqa: A002
        procedure, body = _SERVICE_CREATE[type]
        made = self.api.post(procedure, body(name, environment_id))
        return str(made[f"{type}Id"])

    def cleanup(self) -> None:
        """Remove every project of this run (services and environments go with them)."""
        for project in self.projects():
            try:
                self.api.post("project.remove", {"projectId": project["projectId"]})
            except NotFoundError:
                pass
