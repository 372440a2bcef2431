"""Concurrency: one configured provider instance, four engine threads, 200 resources (40 against a
real Dokploy, whose dev-mode server answers about one request a second: the same interleaving, in
a fifth of the time).

The engine calls a dynamic provider from up to 4 threads of its gRPC server at once, and every
resource with the same `__provider` blob shares one configured instance (one client, one connection
pool, one set of managed ids). Here 4 client threads drive the SDK's real provider server: 50
projects and 150 environments (10 and 30 on a real server) are created, read and deleted concurrently, and every answer and every
object on the server (emulator or real Dokploy) must be exactly the one asked for: no error, no
mix-up, no duplicate.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from _backend import AGAINST_REAL, n

P = "__provider"
PROJECTS, ENVS_PER_PROJECT, THREADS = (10 if AGAINST_REAL else 50), 3, 4


class Overlap:
    """Records how many calls were in flight at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = self.peak = 0
        self.threads: set[str] = set()

    def __enter__(self) -> Overlap:
        with self._lock:
            self.current += 1
            self.peak = max(self.peak, self.current)
            self.threads.add(threading.current_thread().name)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.current -= 1


class ServerInFlight:
    """Watches the emulator's request log: the most requests received and not yet answered at once."""

    def __init__(self, emu: Any) -> None:
        self._emu = emu
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, sum(1 for r in self._emu.requests if r.status is None))
            self._done.wait(0.001)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


# About 800 requests on the emulator, 160 on a real Dokploy (about one a second in dev mode on 2 cores).
@pytest.mark.timeout(900 if AGAINST_REAL else 300)
def test_four_threads_create_read_and_delete_200_resources(server, project_blob, environment_blob, backend):
    emu = backend
    if not AGAINST_REAL:
        emu.latency = 0.005  # every request takes a little time, so calls really overlap (a real one does)
    overlap = Overlap()

    def call(fn, *args):
        with overlap:
            return fn(*args)

    def make_project_and_envs(i: int) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        """One project, then its environments: the 4 threads interleave project and env creates."""
        made = []
        props = {P: project_blob, "name": n(f"proj-{i:02d}"), "description": f"project {i}", "env": {"IDX": str(i)}}
        inputs, failures = call(server.check, {}, props)
        assert failures == []
        pid, outs = call(server.create, inputs)
        made.append(("Project", pid, props, outs))
        for j in range(ENVS_PER_PROJECT):
            eprops = {
                P: environment_blob,
                "project_id": pid,
                "name": f"env-{i:02d}-{j}",
                "description": f"env {i}/{j}",
                "env": {"P": str(i), "E": str(j)},
            }
            einputs, failures = call(server.check, {}, eprops)
            assert failures == []
            eid, eouts = call(server.create, einputs)
            made.append(("Environment", eid, eprops, eouts))
        return made

    in_flight = ServerInFlight(emu) if not AGAINST_REAL else None
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="engine") as pool:
        created = [r for batch in pool.map(make_project_and_envs, range(PROJECTS)) for r in batch]
    if in_flight is not None:
        in_flight.stop()

    total = PROJECTS * (1 + ENVS_PER_PROJECT)
    assert len(created) == total == (40 if AGAINST_REAL else 200)
    ids = [id_ for _kind, id_, _props, _outs in created]
    assert len(set(ids)) == total and all(ids)
    assert overlap.peak >= 2 and len(overlap.threads) == THREADS  # it really ran concurrently

    # Each answer is the one for its own request: outputs match inputs, never another resource's.
    for kind, _id, props, outs in created:
        assert outs["name"] == props["name"] and outs["env"] == props["env"]
        assert outs["description"] == props["description"]
        if kind == "Environment":
            assert outs["project_id"] == props["project_id"] and outs["is_default"] is False

    # The server holds each object exactly once, with the right name, project and env.
    projects = {p["projectId"]: p for p in emu.projects()}
    envs = {e["environmentId"]: e for e in emu.environments() if not e["isDefault"]}
    assert len(projects) == PROJECTS and len(envs) == PROJECTS * ENVS_PER_PROJECT
    assert sorted(p["name"] for p in projects.values()) == sorted(n(f"proj-{i:02d}") for i in range(PROJECTS))
    for kind, id_, props, _outs in created:
        row = projects[id_] if kind == "Project" else envs[id_]
        assert row["name"] == props["name"]
        lines = sorted(line for line in row["env"].splitlines() if line)
        assert lines == sorted(f"{k}={v}" for k, v in props["env"].items())
        if kind == "Environment":
            assert row["projectId"] == props["project_id"]
    defaults = [e for e in emu.environments() if e["isDefault"]]
    assert sorted(e["projectId"] for e in defaults) == sorted(projects)  # one default env each
    # Every mutation was sent exactly once: one create per resource, one env update per environment.
    assert emu.request_count("project.create") == PROJECTS
    assert emu.request_count("environment.create") == PROJECTS * ENVS_PER_PROJECT
    assert emu.request_count("environment.update") == PROJECTS * ENVS_PER_PROJECT
    assert emu.request_count("project.search") == emu.request_count("environment.search") == 0

    # Concurrent reads each return their own object.
    def read(entry):
        _kind, id_, _props, outs = entry
        rid, routs, _inputs = call(server.read, id_, outs)
        return entry, rid, routs

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for (_kind, id_, props, _outs), rid, routs in pool.map(read, created):
            assert rid == id_ and routs["name"] == props["name"] and routs["env"] == props["env"]

    # Delete everything concurrently: environments first (as the engine would, dependents first).
    def delete(entry):
        _kind, id_, _props, outs = entry
        call(server.delete, id_, outs)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(delete, [e for e in created if e[0] == "Environment"]))
        assert [e for e in emu.environments() if not e["isDefault"]] == []
        list(pool.map(delete, [e for e in created if e[0] == "Project"]))
    assert emu.projects() == [] and emu.environments() == []
    assert emu.request_count("environment.remove") == PROJECTS * ENVS_PER_PROJECT
    assert emu.request_count("project.remove") == PROJECTS
    assert "Traceback" not in server.stderr_text()
    if in_flight is not None:
        # The provider's own locks and connection pool did not serialise the requests: the emulator
        # held several of them at once (each sleeps its 5 ms latency before it is answered).
        assert in_flight.peak >= 2, in_flight.peak
