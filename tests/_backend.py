"""The Dokploy a test runs against: the emulator, or a real server (the real tier).

Tests that only need what a real Dokploy offers take the `backend` fixture (see conftest.py):
- against the emulator it is the `DokployEmulator` itself;
- with `DOKPLOY_URL` and `DOKPLOY_API_KEY` set it is a `RealBackend`: the same methods, done
  through the real API (out-of-band edits are `project.update`, services are `application.create`
  and friends, which need no Docker), with the requests recorded by a proxy on 127.0.0.1 so that
  request counts are asserted against the real server too.

Everything a test creates on a real server is named with the run's and the test's prefix
(`n("app")` is `dpt-<run>-t<k>-app`, plain `app` on the emulator), so that each test sees only its
own objects, as on a fresh emulator. A test's objects are removed when it ends and the run's when
the session ends, also when tests fail. Emulator-only hooks (faults, latency, clock, rate
limits, extra keys, rows a real server cannot have) do not exist on `RealBackend`: tests that use
them are marked `@pytest.mark.hook` and skipped against a real server, with the reason.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import Any, Optional

import httpx
from _recording_proxy import RecordingProxy

from dokploy_pulumi import APIConnectionError, APITimeoutError, DokployClient, NotFoundError
from dokploy_pulumi._models import EnvironmentRow
from dokploy_pulumi.testing import Release

#: The release the emulator imitates when no real server is given (the emulator's default if unset).
EMULATOR_VERSION = os.environ.get("DOKPLOY_EMULATOR_VERSION") or None
REAL_URL = os.environ.get("DOKPLOY_URL") or ""
REAL_KEY = os.environ.get("DOKPLOY_API_KEY") or ""
AGAINST_REAL = bool(REAL_URL and REAL_KEY)
#: The provider's request timeout (seconds) in tests against a real server, and the tests' own
#: out-of-band calls' there: a hang guard. A dev-mode Dokploy on a loaded machine (three of them
#: beside the emulator tiers in a cold CI run) answered a create in over 30 s (the default): the
#: provider then took the answer for lost and searched (as it should), and a test counting its
#: requests failed (v0.25.11, `environment.duplicate`). Its HTML 404 page waits on a font download
#: that cannot happen here, over 60 s. Tests of timeouts themselves set their own.
REAL_TIMEOUT = 300.0
HOOK_SKIP_REASON = (
    "needs an emulator-only hook (fault injection, latency, clock skew, rate limits, extra API keys, "
    "or rows a real server cannot hold); skipped because DOKPLOY_URL/DOKPLOY_API_KEY point the tests "
    "at a real Dokploy"
)


def _database(kind: str, image: str, **extra: str):
    """The body of `<kind>.create` for a database service (only rows: nothing is deployed)."""

    def body(name: str, env_id: str) -> dict[str, Any]:
        return {
            "name": name,
            "appName": f"{name}-{secrets.token_hex(3)}",
            "databasePassword": secrets.token_hex(8),
            "dockerImage": image,
            "environmentId": env_id,
            **extra,
        }

    return (f"{kind}.create", body)


#: The service kinds `add_service` can make on a real server, and how: every `create` only
#: inserts rows (deploying is a separate call), so no Docker is needed.
_SERVICE_CREATE = {
    "application": ("application.create", lambda name, env_id: {"name": name, "environmentId": env_id}),
    "compose": ("compose.create", lambda name, env_id: {"name": name, "environmentId": env_id}),
    "postgres": _database("postgres", "postgres:15", databaseName="app", databaseUser="app"),
    "mysql": _database("mysql", "mysql:8", databaseName="app", databaseUser="app", databaseRootPassword="root-pw-1"),
    "mariadb": _database(
        "mariadb", "mariadb:11", databaseName="app", databaseUser="app", databaseRootPassword="root-pw-1"
    ),
    "mongo": _database("mongo", "mongo:7", databaseUser="app"),
    "redis": _database("redis", "redis:7"),
}

#: How each service array of `environment.one` is removed: (array, id field, procedure, extra body).
#: Removing tries to stop the service's container first and ignores that failing (no Docker here).
_SERVICE_REMOVE = (
    ("applications", "applicationId", "application.delete", {}),
    ("compose", "composeId", "compose.delete", {"deleteVolumes": False}),
    ("postgres", "postgresId", "postgres.remove", {}),
    ("mysql", "mysqlId", "mysql.remove", {}),
    ("mariadb", "mariadbId", "mariadb.remove", {}),
    ("mongo", "mongoId", "mongo.remove", {}),
    ("redis", "redisId", "redis.remove", {}),
    ("libsql", "libsqlId", "libsql.remove", {}),
)


#: This run's name prefix on a real server ("" against the emulator): no `%` or `_`, which
#: Dokploy's search treats as wildcards.
PREFIX = f"dpt-{secrets.token_hex(4)}-" if AGAINST_REAL else ""

#: The running test's part of the prefix on a real server (`t7-`): each test sees only what it
#: made, as it does on its own fresh emulator, and what it made is removed when it ends.
_scope = ""


def n(name: str) -> str:
    """`name` with this run's (and, on a real server, this test's) prefix."""
    return PREFIX + _scope + name


def _with_is_default(row: dict[str, Any]) -> dict[str, Any]:
    """An environment row with `isDefault`, as the emulator's rows always have it: releases before
    v0.26.1 have no such column, and then the one rule of the models (the name) decides."""
    return {**row, "isDefault": EnvironmentRow.model_validate(row).is_default}


class RealBackend:
    """A real Dokploy behind a recording proxy, with the emulator's test-facing method names."""

    def __init__(self, url: str, api_key: str, prefix: str) -> None:
        self.upstream = url
        self.api_key = api_key
        self.prefix = prefix
        self._proxy = RecordingProxy(url).start()
        self.url = self._proxy.url
        # Out-of-band reads and edits go straight to the server: they are not the provider's requests.
        # A fresh connection per request: the tests' own set-up calls (not the provider's) must not
        # fail on the dev server closing a kept-alive connection as it is reused (a POST lost so
        # failed a test's set-up once in CI, under load).
        self.api = DokployClient(
            url, api_key, timeout=120.0, transport=httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
        )
        self.version = self.api.version()
        #: What this release does where releases differ, as the emulator's profile of it says
        #: (`backend.release` on either backend).
        self.release = Release.of(self.version)

    def close(self) -> None:
        try:
            self.cleanup(self.prefix)
        finally:
            self.api.close()
            self._proxy.stop()

    # -- one test at a time ---------------------------------------------------------------------------
    def begin_test(self, tag: str) -> None:
        """From now on `n()` names, and `projects()` sees, only this test's objects."""
        global _scope
        _scope = f"{tag}-"
        self.reset_requests()

    def end_test(self) -> None:
        """Remove what the test made (also after a failure) and leave its scope."""
        global _scope
        try:
            self.cleanup()
        finally:
            _scope = ""

    @property
    def scope_prefix(self) -> str:
        """The prefix of every name the running test makes."""
        return self.prefix + _scope

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
        made = self.create_project(f"{self.scope_prefix}org-probe")
        self.delete_project(made["projectId"])
        return str(made["organizationId"])

    def projects(self) -> list[dict[str, Any]]:
        """The running test's projects (the server holds others')."""
        prefix = self.scope_prefix
        return [p for p in self.api.get("project.all", None) or [] if p["name"].startswith(prefix)]

    def environments(self) -> list[dict[str, Any]]:
        """Every environment of the running test's projects, as full rows."""
        rows = []
        for project in self.projects():
            detail = self.get_project(project["projectId"])
            for env in (detail or {}).get("environments", []):
                rows.append({**_with_is_default(env), "projectId": env.get("projectId") or project["projectId"]})
        return rows

    def get_project(self, project_id: str) -> Optional[dict[str, Any]]:
        try:
            return dict(self.api.get("project.one", {"projectId": project_id}))
        except NotFoundError:
            return None

    def get_environment(self, environment_id: str) -> Optional[dict[str, Any]]:
        try:
            return _with_is_default(self.api.get("environment.one", {"environmentId": environment_id}))
        except NotFoundError:
            return None

    def create_project(self, name: str, **fields: Any) -> dict[str, Any]:
        assert name.startswith(self.scope_prefix), f"name {name!r} lacks the test's prefix {self.scope_prefix!r}"
        made = self.api.post("project.create", {"name": name})
        row = dict(made.get("project", made))  # before v0.25: the bare row
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
        """Delete a non-default environment and its services, as a user would: services first
        (v0.30 refuses to remove an environment that has any), then the environment."""
        detail = self.api.get("environment.one", {"environmentId": environment_id})
        assert not detail.get("isDefault"), "a real server cannot delete a default environment (a `hook` test)"
        for array, id_field, procedure, extra in _SERVICE_REMOVE:
            for service in detail.get(array) or []:
                self.api.post(procedure, {id_field: service[id_field], **extra})
        return dict(self.api.post("environment.remove", {"environmentId": environment_id}))

    def add_service(
        self, environment_id: str, type: str = "application", name: str = "app", _again: bool = True
    ) -> str:
        procedure, body = _SERVICE_CREATE[type]
        try:
            made = self.api.post(procedure, body(name, environment_id))
        except (APIConnectionError, APITimeoutError):
            # The answer was lost (seen once in CI: the dev server closed a kept-alive connection as
            # it was reused): the service may have been made; looked for by name below, as after `true`.
            made = None
        if isinstance(made, dict):
            return str(made[f"{type}Id"])
        # Some releases (v0.25.x's application.create) answer `true`: find the record made just now.
        array = next(a for a, id_field, _, _ in _SERVICE_REMOVE if id_field == f"{type}Id")
        listed = self.api.get("environment.one", {"environmentId": environment_id}).get(array) or []
        named = sorted((s for s in listed if s.get("name") == name), key=lambda s: str(s.get("createdAt")))
        if not named and made is None and _again:
            return self.add_service(environment_id, type, name, _again=False)  # it was never made: once more
        assert named, f"{procedure} answered {made!r} and no {type} named {name!r} is in the environment"
        return str(named[-1][f"{type}Id"])

    def remove_service(self, service_id: str, type: str = "application") -> None:
        """Delete one service, as a user would in the UI."""
        _, id_field, procedure, extra = next(r for r in _SERVICE_REMOVE if r[2].split(".")[0] == type)
        self.api.post(procedure, {id_field: service_id, **extra})

    def cleanup(self, prefix: Optional[str] = None) -> None:
        """Remove every project named with `prefix` (default: the running test's); their
        environments and services go with them."""
        prefix = self.scope_prefix if prefix is None else prefix
        for project in self.api.get("project.all", None) or []:
            if not project["name"].startswith(prefix):
                continue
            with contextlib.suppress(NotFoundError):  # removed meanwhile
                self.api.post("project.remove", {"projectId": project["projectId"]})
