"""environment.* procedures: shapes, the null/empty dialect, wrapping, organizations."""

from __future__ import annotations

from typing import Any

SERVICE_ARRAYS = {"applications", "compose", "libsql", "mariadb", "mongo", "mysql", "postgres", "redis"}
ENV_KEYS = {"environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault"}
PROJECT_KEYS = {"projectId", "name", "description", "createdAt", "organizationId", "env"}


def _env(api, project_id: str, name: str = "staging", **extra: Any) -> dict[str, Any]:
    response = api.post("/api/environment.create", json={"projectId": project_id, "name": name, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_create(api, project) -> None:
    pid = project["project"]["projectId"]
    env = _env(api, pid, "staging", description="Stage", env="IGNORED=1")
    assert set(env) == ENV_KEYS
    assert env["isDefault"] is False and env["projectId"] == pid
    assert env["env"] == ""  # env is silently ignored on create
    assert env["description"] == "Stage"
    assert _env(api, pid, "x")["description"] is None
    # the same name twice is fine; renaming later to "production" is not refused either
    assert _env(api, pid, "x")["name"] == "x"


def test_create_refusals(api, project) -> None:
    pid = project["project"]["projectId"]
    production = api.post("/api/environment.create", json={"projectId": pid, "name": "production"})
    assert production.status_code == 400
    assert production.json()["message"] == "You cannot create a environment with the name 'production'"
    assert api.post("/api/environment.create", json={"projectId": pid, "name": "Production"}).status_code == 200
    for payload, field in (
        ({"projectId": pid, "name": ""}, "name"),
        ({"projectId": pid}, "name"),
        ({"name": "x"}, "projectId"),
        ({"projectId": pid, "name": "x", "description": None}, "description"),
    ):
        response = api.post("/api/environment.create", json=payload)
        assert response.status_code == 400, payload
        assert response.json()["message"] == "Input validation failed"
        assert list(response.json()["data"]["zodError"]["fieldErrors"]) == [field]
    unknown = api.post("/api/environment.create", json={"projectId": "nope", "name": "x", "description": "d"})
    assert unknown.status_code == 400
    message = unknown.json()["message"]
    # v0.30.2's drizzle reports the failed statement and its parameters, not Postgres' words.
    head, params = message.split("\nparams: ")
    assert head == (
        'Error creating the environment: Failed query: insert into "environment" ("environmentId", "name", '
        '"description", "createdAt", "env", "projectId", "isDefault") values ($1, $2, $3, $4, default, $5, '
        'default) returning "environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault"'
    )
    new_id, name, description, created_at, project_id = params.split(",")
    assert (len(new_id), name, description, project_id) == (21, "x", "d", "nope") and created_at.endswith("Z")
    assert unknown.json()["data"]["path"] == "environment.create"


def test_one(api, emu, project) -> None:
    env_id = project["environment"]["environmentId"]
    app_id = emu.add_service(env_id, "application", "web")
    response = api.get("/api/environment.one", params={"environmentId": env_id})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == (ENV_KEYS - {"createdAt"}) | SERVICE_ARRAYS | {"project"}
    assert body["applications"][0]["applicationId"] == app_id
    assert set(body["project"]) == PROJECT_KEYS
    assert body["project"]["projectId"] == project["project"]["projectId"]
    missing = api.get("/api/environment.one", params={"environmentId": "nope"})
    assert missing.status_code == 404 and missing.json()["message"] == "Environment not found"


def test_other_organization_gets_403_or_wrapped_400(api, emu, make_client, project) -> None:
    env_id = project["environment"]["environmentId"]
    staging = _env(api, project["project"]["projectId"])
    emu.add_api_key("other-key")
    other = make_client("other-key")
    one = other.get("/api/environment.one", params={"environmentId": env_id})
    assert one.status_code == 403 and one.json()["code"] == "FORBIDDEN"
    remove = other.post("/api/environment.remove", json={"environmentId": staging["environmentId"]})
    assert remove.status_code == 403
    update = other.post("/api/environment.update", json={"environmentId": staging["environmentId"], "env": "X=1"})
    assert update.status_code == 400
    assert update.json()["message"].startswith("Error updating the environment: ")
    duplicate = other.post("/api/environment.duplicate", json={"environmentId": env_id, "name": "x"})
    assert duplicate.status_code == 400
    by_project = other.get("/api/environment.byProjectId", params={"projectId": project["project"]["projectId"]})
    assert by_project.status_code == 400
    assert other.get("/api/environment.search").json() == {"items": [], "total": 0}
    assert emu.get_environment(staging["environmentId"])["env"] == ""


def test_by_project_id(api, emu, project) -> None:
    pid = project["project"]["projectId"]
    staging = _env(api, pid, "staging")
    emu.add_service(staging["environmentId"], "mongo", "m")
    body = api.get("/api/environment.byProjectId", params={"projectId": pid}).json()
    assert [e["name"] for e in body] == ["production", "staging"]  # oldest first
    assert set(body[0]) == {"name", "description", "environmentId", "isDefault", "project"} | SERVICE_ARRAYS
    assert len(body[1]["mongo"]) == 1
    assert body[1]["project"]["projectId"] == pid
    unknown = api.get("/api/environment.byProjectId", params={"projectId": "nope"})
    assert unknown.status_code == 200 and unknown.json() == []
    assert api.get("/api/environment.byProjectId").status_code == 400


def test_search(api, project) -> None:
    pid = project["project"]["projectId"]
    other_pid = api.post("/api/project.create", json={"name": "other"}).json()["project"]["projectId"]
    staging = _env(api, pid, "staging", description="Stage 1")
    qa = _env(api, other_pid, "qa_env")

    def names(**params: Any) -> list[str]:
        response = api.get("/api/environment.search", params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert names() == ["qa_env", "staging", "production", "production"]  # newest first
    assert names(projectId=pid) == ["staging", "production"]
    assert names(q="STAGE") == ["staging"]
    assert names(q="production environment") == ["production", "production"]  # description
    assert names(name="a_e") == ["qa_env"]
    assert names(name="_") == names()
    assert names(description="1", projectId=pid) == ["staging"]
    body = api.get("/api/environment.search", params={"limit": 1, "offset": 1}).json()
    assert body["total"] == 4 and [i["environmentId"] for i in body["items"]] == [staging["environmentId"]]
    assert set(body["items"][0]) == ENV_KEYS
    assert qa["projectId"] == other_pid
    assert api.get("/api/environment.search", params={"limit": 101}).status_code == 400


def test_update(api, project) -> None:
    pid = project["project"]["projectId"]
    env = _env(api, pid, "staging", description="Stage")
    eid = env["environmentId"]
    renamed = api.post("/api/environment.update", json={"environmentId": eid, "name": "qa", "env": "A=1"})
    assert renamed.status_code == 200
    row = renamed.json()
    assert set(row) == ENV_KEYS
    assert row["name"] == "qa" and row["env"] == "A=1" and row["description"] == "Stage"
    assert api.post("/api/environment.update", json={"environmentId": eid, "env": "B=2"}).json()["env"] == "B=2"
    cleared = api.post("/api/environment.update", json={"environmentId": eid, "description": ""}).json()
    assert cleared["description"] == ""
    null = api.post("/api/environment.update", json={"environmentId": eid, "description": None})
    assert null.status_code == 400 and null.json()["message"] == "Input validation failed"
    to_production = api.post("/api/environment.update", json={"environmentId": eid, "name": "production"})
    assert to_production.status_code == 200  # nothing refuses it


def test_update_errors_are_wrapped(api, project) -> None:
    default_id = project["environment"]["environmentId"]
    missing = api.post("/api/environment.update", json={"environmentId": "nope", "env": "A=1"})
    assert missing.status_code == 400
    assert missing.json()["message"].startswith("Error updating the environment: ")
    assert "not found" in missing.json()["message"]
    rename = api.post("/api/environment.update", json={"environmentId": default_id, "name": "production"})
    assert rename.status_code == 400
    assert rename.json()["message"] == "Error updating the environment: You cannot rename the default environment"
    ok = api.post("/api/environment.update", json={"environmentId": default_id, "description": "Prod", "env": "K=v"})
    assert ok.status_code == 200 and ok.json()["env"] == "K=v"


def test_update_project_id_moves_the_environment(api, project) -> None:
    env = _env(api, project["project"]["projectId"])
    target = api.post("/api/project.create", json={"name": "target"}).json()["project"]["projectId"]
    moved = api.post("/api/environment.update", json={"environmentId": env["environmentId"], "projectId": target})
    assert moved.status_code == 200 and moved.json()["projectId"] == target
    names = [e["name"] for e in api.get("/api/environment.byProjectId", params={"projectId": target}).json()]
    assert names == ["staging", "production"]  # oldest first: staging predates target
    bad = api.post("/api/environment.update", json={"environmentId": env["environmentId"], "projectId": "nope"})
    assert bad.status_code == 400


def test_remove(api, emu, project) -> None:
    pid = project["project"]["projectId"]
    env = _env(api, pid)
    default = api.post("/api/environment.remove", json={"environmentId": project["environment"]["environmentId"]})
    assert default.status_code == 400
    assert default.json()["message"] == "You cannot delete the default environment"
    service = emu.add_service(env["environmentId"], "postgres", "db")
    busy = api.post("/api/environment.remove", json={"environmentId": env["environmentId"]})
    assert busy.status_code == 400
    assert busy.json()["message"] == "Cannot delete environment: it has active services. Delete all services first."
    assert service
    emu.set_environment_fields(env["environmentId"])  # no-op write
    empty = _env(api, pid, "empty")
    removed = api.post("/api/environment.remove", json={"environmentId": empty["environmentId"]})
    assert removed.status_code == 200 and removed.json() == empty
    gone = api.post("/api/environment.remove", json={"environmentId": empty["environmentId"]})
    assert gone.status_code == 404 and gone.json()["message"] == "Environment not found"


def test_duplicate(api, emu, project) -> None:
    pid = project["project"]["projectId"]
    source = _env(api, pid, "staging", description="Stage")
    api.post("/api/environment.update", json={"environmentId": source["environmentId"], "env": "S=1"})
    emu.add_service(source["environmentId"], "application", "web")
    response = api.post("/api/environment.duplicate", json={"environmentId": source["environmentId"], "name": "copy"})
    assert response.status_code == 200, response.text
    copy = response.json()
    assert set(copy) == ENV_KEYS
    assert copy["projectId"] == pid and copy["isDefault"] is False
    assert copy["env"] == "S=1" and copy["description"] == "Stage"  # empty description falls back
    one = api.get("/api/environment.one", params={"environmentId": copy["environmentId"]}).json()
    assert one["applications"] == []  # services are not copied
    own = api.post(
        "/api/environment.duplicate",
        json={"environmentId": source["environmentId"], "name": "copy2", "description": "Own"},
    ).json()
    assert own["description"] == "Own"
    missing = api.post("/api/environment.duplicate", json={"environmentId": "nope", "name": "x"})
    assert missing.status_code == 400
    assert missing.json()["message"] == "Error duplicating the environment: Environment not found"
    assert api.post("/api/environment.duplicate", json={"environmentId": "e", "name": ""}).status_code == 400
