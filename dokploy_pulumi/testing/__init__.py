"""A Dokploy API emulator for tests, benchmarks and local demos.

``DokployEmulator`` answers the same ``/api/<router>.<procedure>`` routes as a real Dokploy
(projects, environments, health, version) with the same bodies, status codes and error shapes, as
release v0.30.2 (the default), v0.26.7, v0.25.11 or any release in between does (``version=``),
plus emulator-only hooks (faults, latency, clock skew, services, out-of-band edits, an env the
server cannot decrypt) that a real server cannot offer. Importing this
package has no side effects and does not import pulumi.

    with DokployEmulator(api_key="test-key") as emu:
        httpx.post(f"{emu.url}/api/project.create", json={"name": "demo"},
                   headers={"x-api-key": emu.api_key})

Where things are: ``_releases`` (what differs between releases), ``_http`` (the request
pipeline), ``_router`` (the procedure table), ``_projects`` / ``_environments`` / ``_search`` (the
procedures), ``_validation`` + ``_schemas`` (inputs), ``_store`` + ``_persistence`` (data),
``_services`` and ``_call`` (how rows look in reads), ``_hooks`` + ``_server`` (sockets and hooks).
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any, Optional

from .._releases import has
from ._clock import Clock
from ._hooks import Fault, Hooks, RecordedRequest
from ._http import App
from ._releases import DEFAULT_VERSION, TESTED_VERSIONS, Release
from ._router import Router
from ._server import EmulatorHTTPServer
from ._services import SERVICE_TYPES
from ._store import Store, new_id

__all__ = ["DEFAULT_VERSION", "SERVICE_TYPES", "TESTED_VERSIONS", "DokployEmulator", "RecordedRequest"]


class DokployEmulator:
    """A stateful, thread-safe fake Dokploy server bound to 127.0.0.1.

    ``api_key`` is the key of the main organization (owner role). ``version`` picks the release
    to imitate: ``"v0.30.2"``, ``"v0.26.7"``, ``"v0.25.11"`` or any other (each difference from
    the release that made it, see ``dokploy_pulumi._releases``). ``legacy_create`` mimics Dokploy < v0.25 (``project.create`` returns the
    bare project and creates no environment); by default it follows ``version``. ``state_file``
    (JSON) is loaded now and rewritten atomically after every mutation. ``latency`` delays every
    request (seconds); ``clock_offset`` shifts the server's clock (seconds, see the property).
    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        version: str = DEFAULT_VERSION,
        legacy_create: bool | None = None,
        latency: float = 0.0,
        clock_offset: float = 0.0,
    ) -> None:
        self._api_key = api_key
        self._requested_port = port
        self._clock = Clock(clock_offset)
        self._store = Store(state_file, self._clock)
        self._legacy_explicit = legacy_create
        self._router = Router(self._store, Release.of(version))
        self._router.legacy_create = self._derived_legacy()
        self._hooks = Hooks()
        self._hooks.latency = float(latency)
        self._hooks.keys.add(api_key, self._store.primary_organization)
        self._app = App(self._router, self._hooks.keys)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never shows the key
        where = self.url if self._server else "stopped"
        return f"<DokployEmulator {self.version} {where}>"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> DokployEmulator:
        """Serve in a daemon thread (on a free port when ``port`` is 0)."""
        if self._server is not None:
            return self
        server = EmulatorHTTPServer(self._app, self._hooks, self._clock, self._requested_port)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="dokploy-emulator", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections; the in-memory state is kept."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DokployEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash, no ``/api``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def organization_id(self) -> str:
        """The organization of the main ``api_key``."""
        return self._store.primary_organization

    # -- behaviour switches ----------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The release imitated, and what ``settings.getDokployVersion`` answers.

        Setting it switches the behaviour too (error shapes, procedures, validation wording...),
        from the next request on; the data is kept.
        """
        return self._router.release.version

    @version.setter
    def version(self, value: str) -> None:
        self._router.release = Release.of(value)
        self._router.legacy_create = self._derived_legacy()

    @property
    def release(self) -> Release:
        """The behaviour profile of ``version`` (read-only; see ``_releases.Release``)."""
        return self._router.release

    def _derived_legacy(self) -> bool:
        if self._legacy_explicit is not None:
            return self._legacy_explicit
        return not has(self.version, "environments")

    @property
    def legacy_create(self) -> bool:
        """When true, ``project.create`` behaves like Dokploy < 0.25 (bare row, no environment)."""
        return self._router.legacy_create

    @legacy_create.setter
    def legacy_create(self, value: bool) -> None:
        self._legacy_explicit = bool(value)
        self._router.legacy_create = bool(value)

    @property
    def latency(self) -> float:
        """Seconds every request waits before being handled (for benchmarks)."""
        return self._hooks.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._hooks.latency = float(seconds)

    @property
    def clock_offset(self) -> float:
        """Seconds the server's clock is ahead of this machine's (negative: behind).

        It shifts the ``createdAt`` of rows created from now on, the time ``server.getServerTime``
        answers and the ``Date`` header of every answer, as a real server with a skewed clock would.
        """
        return self._clock.offset

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        self._clock.offset = float(seconds)

    # -- keys ------------------------------------------------------------------------------------

    def add_api_key(self, key: str, organization_id: str | None = None) -> str:
        """Accept ``key`` as an owner of ``organization_id`` (a new organization by default)."""
        organization = self._store.add_organization(organization_id or new_id())
        self._hooks.keys.add(key, organization)
        return organization

    def rate_limit_after(self, n: int | None, api_key: str | None = None) -> None:
        """After ``n`` more calls the key (default: the main one) only gets 401 Unauthorized.

        ``n=None`` lifts the limit. Dokploy answers rate-limited keys with the same bare
        401 as a wrong key, never 429.
        """
        self._hooks.keys.limit(self._api_key if api_key is None else api_key, n)

    # -- faults ----------------------------------------------------------------------------------

    def inject_fault(
        self,
        procedure: str | None = None,
        *,
        status: int | None = None,
        body: Any = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        latency: float | None = None,
        drop: bool = False,
        drop_after_commit: bool = False,
        times: int = 1,
        method: str | None = None,
    ) -> None:
        """Misbehave on the next ``times`` requests matching ``procedure``/``method``.

        ``procedure`` is e.g. ``"project.create"`` (``"health"`` for the health route;
        None matches any request). ``status`` (+ ``body``, ``content_type``, ``headers``
        such as ``Retry-After``) answers instead of handling; ``latency`` sleeps first;
        ``drop`` closes the connection without handling or answering;
        ``drop_after_commit`` handles the request, then closes without answering.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        self._hooks.faults.add(
            Fault(
                procedure=procedure,
                method=method.upper() if method else None,
                status=status,
                body=body,
                content_type=content_type,
                headers=dict(headers or {}),
                latency=latency,
                drop=drop,
                drop_after_commit=drop_after_commit,
                remaining=times,
            )
        )

    def clear_faults(self) -> None:
        self._hooks.faults.clear()

    # -- request log -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far (keys masked as ``***``)."""
        return self._hooks.log.snapshot()

    def request_count(self, procedure: str | None = None, method: str | None = None) -> int:
        return self._hooks.log.count(procedure, method)

    def reset_requests(self) -> None:
        self._hooks.log.clear()

    # -- out-of-band data access -----------------------------------------------------------------

    def add_service(self, environment_id: str, type: str = "application", name: str = "app") -> str:
        """Create a service record (``application``, ``compose``, ``postgres``...); returns its id.

        ``libsql`` exists only on releases that have it (v0.30.2).
        """
        types = [t for t in SERVICE_TYPES if t != "libsql" or self.release.libsql]
        if type not in types:
            raise ValueError(f"unknown service type {type!r} on {self.version}; expected one of {sorted(types)}")
        store = self._store
        with store.lock:
            if environment_id not in store.environments:
                raise KeyError(environment_id)
            service = store.insert_service(environment_id, type, name)
            store.save()
            return str(service["id"])

    def set_service_variables(self, service_id: str, **columns: Optional[str]) -> None:
        """Write a service's variable columns (``env`` on every type; ``buildArgs``, ``buildSecrets``,
        ``previewEnv``... on applications), as its ``saveEnvironment`` or ``update`` would (KeyError if
        missing, ValueError for a column the type does not have)."""
        store = self._store
        with store.lock:
            service = store.services[service_id]
            unknown = sorted(set(columns) - set(SERVICE_TYPES[service["type"]].variable_columns))
            if unknown:
                raise ValueError(f"{service['type']} has no column(s) {', '.join(unknown)}")
            service.update(columns)
            store.save()

    def remove_service(self, service_id: str, type: str = "application") -> None:
        """Delete a service record, as its `<type>.delete`/`.remove` does (KeyError if missing)."""
        store = self._store
        with store.lock:
            if store.services.get(service_id, {}).get("type") != type:
                raise KeyError(service_id)
            del store.services[service_id]
            store.save()

    def projects(self) -> list[dict[str, Any]]:
        """Copies of every project row (all organizations)."""
        with self._store.lock:
            return [dict(p) for p in self._store.projects.values()]

    def environments(self) -> list[dict[str, Any]]:
        """Copies of every environment row (all organizations)."""
        with self._store.lock:
            return [dict(e) for e in self._store.environments.values()]

    def get_project(self, project_id: str) -> dict[str, Any] | None:
        with self._store.lock:
            row = self._store.projects.get(project_id)
            return dict(row) if row else None

    def get_environment(self, environment_id: str) -> dict[str, Any] | None:
        with self._store.lock:
            row = self._store.environments.get(environment_id)
            return dict(row) if row else None

    def _set_fields(self, rows: dict[str, dict[str, Any]], row_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            if row_id not in rows:
                raise KeyError(row_id)
            rows[row_id].update(fields)
            self._store.save()
            return dict(rows[row_id])

    def set_project_fields(self, project_id: str, **fields: Any) -> dict[str, Any]:
        """Overwrite columns (camelCase) behind the API's back, e.g. to simulate drift."""
        return self._set_fields(self._store.projects, project_id, fields)

    def set_environment_fields(self, environment_id: str, **fields: Any) -> dict[str, Any]:
        return self._set_fields(self._store.environments, environment_id, fields)

    def store_undecryptable_env(self, kind: str, row_id: str) -> str:
        """Give a project or environment (``kind``) an ``env`` the server cannot decrypt.

        Since v0.29.12 env is encrypted at rest, and a value encrypted under another key (the
        server's BETTER_AUTH_SECRET or ENCRYPTION_KEY changed, a backup restored elsewhere) is
        answered as its ciphertext, ``enc:v1:<base64 of iv, tag, data>``, with status 200. That
        is what every read answers afterwards; returns the text. Older releases have no
        encryption: a ValueError says so.
        """
        if not self.release.env_encrypted:
            raise ValueError(f"{self.version} does not encrypt env at rest (v0.29.12 and later do)")
        tables = {"project": self._store.projects, "environment": self._store.environments}
        if kind not in tables:
            raise ValueError(f"kind must be 'project' or 'environment', not {kind!r}")
        ciphertext = "enc:v1:" + base64.b64encode(secrets.token_bytes(12 + 16 + 48)).decode()
        self._set_fields(tables[kind], row_id, {"env": ciphertext})
        return ciphertext

    def delete_project(self, project_id: str) -> dict[str, Any]:
        """Delete a project with its environments and services (KeyError if missing)."""
        return self._delete(self._store.projects, project_id, self._store.delete_project_rows)

    def delete_environment(self, environment_id: str) -> dict[str, Any]:
        """Delete any environment (even a default one) and its services."""
        return self._delete(self._store.environments, environment_id, self._store.delete_environment_rows)

    def _delete(
        self, table: dict[str, Any], row_id: str, delete_rows: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        with self._store.lock:
            if row_id not in table:
                raise KeyError(row_id)
            row = delete_rows(row_id)
            self._store.save()
            return row

    def create_project(self, name: str, **fields: Any) -> dict[str, Any]:
        """Create a project of the main organization plus its default environment."""
        store = self._store
        with store.lock:
            row = store.insert_project(store.primary_organization, name, None, "")
            store.projects[row["projectId"]].update(fields)
            store.insert_default_environment(row["projectId"])
            store.save()
            return dict(store.projects[row["projectId"]])

    def reset(self) -> None:
        """Forget all data, faults, rate limits and recorded requests (keys stay valid)."""
        self._store.reset()
        self._hooks.faults.clear()
        self._hooks.keys.clear_limits()
        self._hooks.log.clear()
