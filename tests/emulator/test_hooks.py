"""Emulator-only hooks: faults, latency, request log, rate limits, keys, out-of-band data."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import httpx
import pytest

from dokploy_pulumi.testing import DokployEmulator, _server


def test_add_service_types_show_up_everywhere(api, emu, project) -> None:
    env_id = project["environment"]["environmentId"]
    ids = {
        t: emu.add_service(env_id, t, f"{t}-svc")
        for t in ("application", "compose", "libsql", "mariadb", "mongo", "mysql", "postgres", "redis")
    }
    one = api.get("/api/environment.one", params={"environmentId": env_id}).json()
    keys = {"application": ("applications", "applicationId"), "compose": ("compose", "composeId")}
    for type_, service_id in ids.items():
        array, id_key = keys.get(type_, (type_, f"{type_}Id"))
        assert [s[id_key] for s in one[array]] == [service_id]
    by_project = api.get(
        "/api/environment.byProjectId", params={"projectId": env_id and project["project"]["projectId"]}
    )
    assert by_project.json()[0]["compose"][0]["composeId"] == ids["compose"]
    with pytest.raises(ValueError):
        emu.add_service(env_id, "nginx")
    with pytest.raises(KeyError):
        emu.add_service("nope")


def test_fault_status_body_and_headers(api, emu) -> None:
    emu.inject_fault("project.create", status=503, body={"message": "down"}, headers={"Retry-After": "2"})
    response = api.post("/api/project.create", json={"name": "x"})
    assert response.status_code == 503
    assert response.json() == {"message": "down"}
    assert response.headers["retry-after"] == "2"
    assert emu.projects() == []  # not handled
    assert api.post("/api/project.create", json={"name": "x"}).status_code == 200  # times=1
    emu.inject_fault(status=502, body="<html>bad gateway</html>", content_type="text/html", times=2)
    assert api.get("/api/health").status_code == 502  # procedure=None matches anything
    second = api.get("/api/project.all")
    assert second.status_code == 502 and second.text == "<html>bad gateway</html>"
    assert api.get("/api/project.all").status_code == 200


def test_fault_matches_procedure_and_method(api, emu) -> None:
    emu.inject_fault("project.all", status=500, body={"message": "boom"}, method="POST")
    assert api.get("/api/project.all").status_code == 200  # method does not match
    emu.clear_faults()
    emu.inject_fault("project.one", status=500, body={"message": "boom"})
    assert api.get("/api/project.all").status_code == 200
    assert api.get("/api/project.one", params={"projectId": "x"}).status_code == 500


@pytest.fixture
def delays(emu: DokployEmulator, monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str | None, int | None]]:
    """The delays the emulator's request handler applies, recorded instead of slept.

    Each entry is (seconds, procedure of the request being delayed, its recorded status at that
    moment): the status is still None when the delay comes before the answer, as it must.
    """
    applied: list[tuple[float, str | None, int | None]] = []

    def sleep(seconds: float) -> None:
        last = emu.requests[-1]
        applied.append((seconds, last.procedure, last.status))

    monkeypatch.setattr(_server, "time", SimpleNamespace(sleep=sleep))
    return applied


def test_fault_latency_then_normal_handling(api, emu, delays) -> None:
    emu.inject_fault("project.all", latency=0.3)
    response = api.get("/api/project.all")
    assert response.status_code == 200 and response.json() == []
    assert delays == [(0.3, "project.all", None)]  # delayed before it was answered
    api.get("/api/project.all")
    assert delays == [(0.3, "project.all", None)]  # times=1: the next one is not delayed
    assert [r.status for r in emu.requests] == [200, 200]


def test_global_latency_attribute(api, emu, delays) -> None:
    emu.latency = 0.2
    api.get("/api/health")
    emu.inject_fault("project.all", latency=0.3)
    api.get("/api/project.all")  # a fault's latency adds to the global one
    emu.latency = 0.0
    api.get("/api/health")
    assert delays == [(0.2, "health", None), (0.5, "project.all", None)]


def test_drop_closes_without_handling(api, emu) -> None:
    emu.inject_fault("project.create", drop=True)
    with pytest.raises(httpx.TransportError):
        api.post("/api/project.create", json={"name": "x"})
    assert emu.projects() == []
    assert emu.requests[-1].status is None
    assert api.post("/api/project.create", json={"name": "x"}).status_code == 200


def test_drop_after_commit_changes_state_but_loses_the_answer(api, emu) -> None:
    emu.inject_fault("project.create", drop_after_commit=True)
    with pytest.raises(httpx.TransportError):
        api.post("/api/project.create", json={"name": "ghost"})
    assert [p["name"] for p in emu.projects()] == ["ghost"]
    assert len(emu.environments()) == 1
    assert emu.requests[-1].status is None and emu.requests[-1].procedure == "project.create"


def test_request_log_masks_keys(api, emu) -> None:
    api.post("/api/project.create", json={"name": "x"}, params={"debug": "1"})
    api.get("/api/project.search", params={"q": "x"})
    first, second = emu.requests
    assert (first.method, first.path, first.procedure, first.status) == (
        "POST",
        "/api/project.create",
        "project.create",
        200,
    )
    assert first.body == {"name": "x"} and first.query == {"debug": "1"}
    assert first.headers["x-api-key"] == "***"
    assert emu.api_key not in repr(emu.requests) and emu.api_key not in repr(emu)
    assert second.query == {"q": "x"} and second.body is None
    assert emu.request_count() == 2
    assert emu.request_count("project.create") == 1
    assert emu.request_count(method="GET") == 1
    assert emu.request_count("project.create", method="GET") == 0
    emu.reset_requests()
    assert emu.requests == [] and emu.request_count() == 0


def test_rate_limit_after(api, emu, make_client) -> None:
    emu.rate_limit_after(2)
    assert api.get("/api/project.all").status_code == 200
    assert api.get("/api/project.all").status_code == 200
    limited = api.get("/api/project.all")
    assert limited.status_code == 401 and limited.json() == {"message": "Unauthorized"}
    assert api.get("/api/health").status_code == 200  # no key involved
    org = emu.add_api_key("second")
    emu.rate_limit_after(0, api_key="second")
    assert make_client("second").get("/api/project.all").status_code == 401
    emu.rate_limit_after(None)
    assert api.get("/api/project.all").status_code == 200
    assert org != emu.organization_id


def test_add_api_key_to_same_or_new_organization(api, emu, make_client, project) -> None:
    same = emu.add_api_key("same-org", emu.organization_id)
    assert same == emu.organization_id
    pid = project["project"]["projectId"]
    assert make_client("same-org").get("/api/project.one", params={"projectId": pid}).status_code == 200
    new = emu.add_api_key("new-org")
    assert new != emu.organization_id
    created = make_client("new-org").post("/api/project.create", json={"name": "theirs"}).json()
    assert created["project"]["organizationId"] == new
    assert [p["name"] for p in api.get("/api/project.all").json()] == ["demo"]


def test_out_of_band_access(api, emu) -> None:
    row = emu.create_project("oob", description="made aside", env="Z=1")
    assert row["description"] == "made aside" and row["env"] == "Z=1"
    pid = row["projectId"]
    (env,) = [e for e in emu.environments() if e["projectId"] == pid]
    assert env["isDefault"] is True
    assert emu.get_project(pid) == row
    copy = emu.get_project(pid)
    copy["name"] = "mutated"  # copies: the emulator's row is untouched
    assert emu.get_project(pid)["name"] == "oob"
    emu.set_project_fields(pid, name="drifted", env="D=1")
    assert api.get("/api/project.one", params={"projectId": pid}).json()["name"] == "drifted"
    emu.set_environment_fields(env["environmentId"], description=None)
    assert emu.get_environment(env["environmentId"])["description"] is None
    emu.delete_environment(env["environmentId"])  # even the default one
    assert api.get("/api/environment.one", params={"environmentId": env["environmentId"]}).status_code == 404
    emu.delete_project(pid)
    assert emu.get_project(pid) is None
    assert api.get("/api/project.one", params={"projectId": pid}).status_code == 404
    with pytest.raises(KeyError):
        emu.delete_project(pid)
    with pytest.raises(KeyError):
        emu.set_project_fields("nope", name="x")


def test_reset(api, emu, project) -> None:
    emu.inject_fault("project.all", status=500)
    emu.reset()
    assert emu.projects() == [] and emu.environments() == [] and emu.requests == []
    assert api.get("/api/project.all").json() == []  # the fault is gone too


def test_ids_and_timestamps(api, emu) -> None:
    rows = [api.post("/api/project.create", json={"name": "x"}).json() for _ in range(20)]
    stamps = [r["project"]["createdAt"] for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == 20  # strictly increasing
    assert all(r["project"]["createdAt"] < r["environment"]["createdAt"] for r in rows)
    assert len({r["project"]["projectId"] for r in rows}) == 20


def test_concurrent_requests_are_safe(emu) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with httpx.Client(base_url=emu.url, headers={"x-api-key": emu.api_key}) as client:
                for _ in range(10):
                    assert client.post("/api/project.create", json={"name": "c"}).status_code == 200
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(emu.projects()) == 80 and len(emu.environments()) == 80
    assert emu.request_count("project.create") == 80


def test_stop_and_restart_keep_state() -> None:
    emu = DokployEmulator("k")
    emu.start()
    with httpx.Client(base_url=emu.url, headers={"x-api-key": "k"}) as client:
        client.post("/api/project.create", json={"name": "kept"})
        emu.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/api/project.all")
    with pytest.raises(RuntimeError):
        _ = emu.url
    emu.start()
    try:
        names = [p["name"] for p in httpx.get(f"{emu.url}/api/project.all", headers={"x-api-key": "k"}).json()]
        assert names == ["kept"]
    finally:
        emu.stop()


def test_version_attribute_switches_the_release(api, emu) -> None:
    assert emu.version == "v0.30.2" and emu.release.search
    emu.version = "v0.26.7"
    assert api.get("/api/settings.getDokployVersion").json() == "v0.26.7"
    assert api.get("/api/project.search").status_code == 404  # the behaviour follows
    emu.version = "v0.24.0"  # before environments: project.create answers the bare row
    assert api.get("/api/settings.getDokployVersion").json() == "v0.24.0"
    assert emu.legacy_create is True
    assert "projectId" in api.post("/api/project.create", json={"name": "old"}).json()
    emu.legacy_create = False  # an explicit choice wins over the version
    emu.version = "v0.24.1"
    assert emu.legacy_create is False
    with pytest.raises(ValueError):
        emu.version = "latest"


def test_in_flight_requests_are_already_recorded(api, emu) -> None:
    emu.inject_fault("project.create", latency=0.5)
    worker = threading.Thread(target=lambda: api.post("/api/project.create", json={"name": "slow"}))
    worker.start()
    deadline = time.monotonic() + 2
    while emu.request_count("project.create") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    (pending,) = emu.requests
    assert pending.status is None and emu.projects() == []
    worker.join()
    assert emu.requests[0].status == 200 and pending.status is None  # snapshots are copies
