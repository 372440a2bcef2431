"""An in-memory Dokploy v0.30 API emulator for tests, benchmarks and local demos.

``DokployEmulator`` answers the same ``/api/<router>.<procedure>`` routes as a real Dokploy
(projects, environments, health, version) with the same bodies, status codes and error
shapes, plus emulator-only hooks (faults, latency, services, out-of-band edits) that a
real server cannot offer. Importing this package has no side effects and does not
import pulumi or the rest of ``dokploy_pulumi``.

    with DokployEmulator(api_key="test-key") as emu:
        httpx.post(f"{emu.url}/api/project.create", json={"name": "demo"},
                   headers={"x-api-key": emu.api_key})
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ._server import App, EmulatorHTTPServer, Fault, RecordedRequest
from ._state import DEFAULT_VERSION, SERVICE_TYPES, State

__all__ = ["DEFAULT_VERSION", "DokployEmulator", "RecordedRequest", "SERVICE_TYPES"]


class DokployEmulator:
    """A stateful, thread-safe fake Dokploy server bound to 127.0.0.1.

    ``api_key`` is the key of the main organization (owner role). ``state_file`` (JSON)
    is loaded now and rewritten atomically after every mutation, so state survives a
    restart. ``legacy_create`` mimics Dokploy < 0.25 (``project.create`` returns the bare
    project and creates no environment). ``latency`` delays every request (seconds).
    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        legacy_create: bool = False,
        latency: float = 0.0,
    ) -> None:
        self._api_key = api_key
        self._requested_port = port
        self._state = State(state_file, legacy_create=legacy_create)
        self._app = App(self._state, api_key, latency)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never shows the key
        where = self.url if self._server else "stopped"
        return f"<DokployEmulator {where}>"

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> DokployEmulator:
        """Serve in a daemon thread (on a free port when ``port`` is 0)."""
        if self._server is not None:
            return self
        server = EmulatorHTTPServer(self._app, self._requested_port)
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
        return self._state.primary_organization

    # -- behaviour switches --------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds every request waits before being handled (for benchmarks)."""
        return self._app.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._app.latency = float(seconds)

    @property
    def legacy_create(self) -> bool:
        """When true, ``project.create`` behaves like Dokploy < 0.25 (bare row, no env)."""
        return self._state.legacy_create

    @legacy_create.setter
    def legacy_create(self, value: bool) -> None:
        self._state.legacy_create = bool(value)

    @property
    def version(self) -> str:
        """What ``settings.getDokployVersion`` answers (default ``v0.30.2``)."""
        return self._state.version

    @version.setter
    def version(self, value: str) -> None:
        self._state.version = value

    # -- keys -------------------------------------------------------------------------------

    def add_api_key(self, key: str, organization_id: str | None = None) -> str:
        """Accept ``key`` as an owner of ``organization_id`` (a new organization by default)."""
        return self._app.add_api_key(key, organization_id)

    def rate_limit_after(self, n: int | None, api_key: str | None = None) -> None:
        """After ``n`` more calls the key (default: the main one) only gets 401 Unauthorized.

        ``n=None`` lifts the limit. Dokploy answers rate-limited keys with the same bare
        401 as a wrong key, never 429.
        """
        self._app.rate_limit_after(n, self._api_key if api_key is None else api_key)

    # -- faults -------------------------------------------------------------------------------

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
        self._app.add_fault(
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
        self._app.clear_faults()

    # -- request log ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far (keys masked as ``***``)."""
        return self._app.requests()

    def request_count(self, procedure: str | None = None, method: str | None = None) -> int:
        return self._app.request_count(procedure, method)

    def reset_requests(self) -> None:
        self._app.reset_requests()

    # -- out-of-band data access ------------------------------------------------------------------

    def add_service(self, environment_id: str, type: str = "application", name: str = "app") -> str:  # noqa: A002
        """Create a service record (``application``, ``compose``, ``postgres``...); returns its id."""
        return self._state.add_service(environment_id, type, name)

    def projects(self) -> list[dict[str, Any]]:
        """Copies of every project row (all organizations)."""
        return self._state.projects()

    def environments(self) -> list[dict[str, Any]]:
        """Copies of every environment row (all organizations)."""
        return self._state.environments()

    def get_project(self, project_id: str) -> dict[str, Any] | None:
        return self._state.get_project(project_id)

    def get_environment(self, environment_id: str) -> dict[str, Any] | None:
        return self._state.get_environment(environment_id)

    def set_project_fields(self, project_id: str, **fields: Any) -> dict[str, Any]:
        """Overwrite columns (camelCase) behind the API's back, e.g. to simulate drift."""
        return self._state.set_fields("project", project_id, fields)

    def set_environment_fields(self, environment_id: str, **fields: Any) -> dict[str, Any]:
        return self._state.set_fields("environment", environment_id, fields)

    def delete_project(self, project_id: str) -> dict[str, Any]:
        """Delete a project with its environments and services (KeyError if missing)."""
        return self._state.delete_project(project_id)

    def delete_environment(self, environment_id: str) -> dict[str, Any]:
        """Delete any environment (even a default one) and its services."""
        return self._state.delete_environment(environment_id)

    def create_project(self, name: str, **fields: Any) -> dict[str, Any]:
        """Create a project of the main organization plus its default environment."""
        return self._state.create_project(name, fields)

    def reset(self) -> None:
        """Forget all data, faults, rate limits and recorded requests (keys stay valid)."""
        self._state.reset()
        self._app.clear_faults()
        self._app.clear_rate_limits()
        self._app.reset_requests()
