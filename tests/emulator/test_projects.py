"""project.* procedures: shapes, dialects, ordering, search, cascade, duplicate."""

from __future__ import annotations

import re

import pytest

SERVICE_ARRAYS = {"applications", "compose", "libsql", "mariadb", "mongo", "mysql", "postgres", "redis"}
PROJECT_KEYS = {"projectId", "name", "description", "createdAt", "organizationId", "env"}
ENV_KEYS = {"environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault"}
ID = re.compile(r"^[A-Za-z0-9_-]{21}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_create_returns_project_and_default_environment(api, emu) -> None:
    response = api.post("/api/project.create", json={"name": "demo", "description": None, "env": "A=1\nB=2"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"project", "environment"}
    project, env = body["project"], body["environment"]
    assert set(project) == PROJECT_KEYS
    assert ID.match(project["projectId"]) and ISO.match(project["createdAt"])
    assert project["name"] == "demo" and project["description"] is None and project["env"] == "A=1\nB=2"
    assert project["organizationId"] == emu.organization_id
    assert set(env) == ENV_KEYS
    assert env == {
        **env,
        "name": "production",
        "description": "Production environment",
        "env": "",
        "isDefault": True,
        "projectId": project["projectId"],
    }
    assert ID.match(env["environmentId"])


def test_create_dialects(api) -> None:
    absent = api.post("/api/project.create", json={"name": "a"}).json()["project"]
    assert absent["description"] is None and absent["env"] == ""
    assert api.post("/api/project.create", json={"name": "b", "env": None}).status_code == 400
    assert api.post("/api/project.create", json={"name": "c", "description": ""}).json()["project"]["description"] == ""
    missing = api.post("/api/project.create", json={})
    assert missing.status_code == 400
    assert missing.json()["issues"][0]["path"] == ["name"]
    # names are not trimmed nor unique
    first = api.post("/api/project.create", json={"name": " dup "}).json()["project"]
    second = api.post("/api/project.create", json={"name": " dup "}).json()["project"]
    assert first["name"] == second["name"] == " dup " and first["projectId"] != second["projectId"]


def test_legacy_create_returns_bare_row_without_environment(emu, api) -> None:
    emu.legacy_create = True
    body = api.post("/api/project.create", json={"name": "old"}).json()
    assert set(body) == PROJECT_KEYS
    assert emu.environments() == []
    assert api.get("/api/project.one", params={"projectId": body["projectId"]}).json()["environments"] == []
    emu.legacy_create = False
    assert "environment" in api.post("/api/project.create", json={"name": "new"}).json()


def test_legacy_create_constructor_flag() -> None:
    import httpx

    from dokploy_pulumi.testing import DokployEmulator

    with DokployEmulator("k", legacy_create=True) as emu:
        assert emu.legacy_create is True
        body = httpx.post(f"{emu.url}/api/project.create", json={"name": "x"}, headers={"x-api-key": "k"}).json()
        assert "projectId" in body and "environment" not in body


def test_one_returns_environments_with_services_and_tags(api, emu, project) -> None:
    env_id = project["environment"]["environmentId"]
    app_id = emu.add_service(env_id, "application", "web")
    pg_id = emu.add_service(env_id, "postgres", "db")
    body = api.get("/api/project.one", params={"projectId": project["project"]["projectId"]}).json()
    assert set(body) == PROJECT_KEYS | {"environments", "projectTags"}
    assert body["projectTags"] == []
    (env,) = body["environments"]
    assert set(env) == ENV_KEYS | SERVICE_ARRAYS
    assert [a["applicationId"] for a in env["applications"]] == [app_id]
    assert env["applications"][0]["name"] == "web"
    assert [p["postgresId"] for p in env["postgres"]] == [pg_id]
    assert env["compose"] == [] and env["redis"] == []


def test_one_errors(api, make_client, emu, project) -> None:
    missing = api.get("/api/project.one", params={"projectId": "nope"})
    assert missing.status_code == 404 and missing.json()["message"] == "Project not found"
    emu.add_api_key("other-key")
    other = make_client("other-key").get("/api/project.one", params={"projectId": project["project"]["projectId"]})
    assert other.status_code == 401 and other.json()["code"] == "UNAUTHORIZED"


def test_all_newest_first_with_short_environments(api, emu) -> None:
    ids = [api.post("/api/project.create", json={"name": f"p{i}"}).json()["project"]["projectId"] for i in range(3)]
    emu.add_api_key("other-key")
    emu.create_project("mine-too")
    body = api.get("/api/project.all").json()
    assert [p["projectId"] for p in body[1:]] == ids[::-1]
    row = body[-1]
    assert set(row) == PROJECT_KEYS | {"environments", "projectTags"}
    (env,) = row["environments"]
    assert set(env) == {"name", "environmentId", "isDefault"} | SERVICE_ARRAYS
    emu.add_service(env["environmentId"], "application", "web")
    emu.add_service(env["environmentId"], "redis", "cache")
    env = api.get("/api/project.all").json()[-1]["environments"][0]
    assert set(env["applications"][0]) == {"applicationId", "name", "applicationStatus"}
    assert set(env["redis"][0]) == {"redisId"}


def test_all_for_permissions(api, project) -> None:
    body = api.get("/api/project.allForPermissions").json()
    assert len(body) == 1
    assert set(body[0]) == {"projectId", "name", "environments"}
    assert body[0]["environments"][0]["environmentId"] == project["environment"]["environmentId"]


def test_other_organizations_are_invisible(api, emu, make_client, project) -> None:
    emu.add_api_key("other-key")
    other = make_client("other-key")
    assert other.get("/api/project.all").json() == []
    assert other.get("/api/project.search").json() == {"items": [], "total": 0}
    assert other.get("/api/project.allForPermissions").json() == []
    pid = project["project"]["projectId"]
    assert other.post("/api/project.update", json={"projectId": pid, "name": "x"}).status_code == 401
    assert other.post("/api/project.remove", json={"projectId": pid}).status_code == 401
    assert emu.get_project(pid)["name"] == "demo"


def _create(api, name: str, description: str | None = None) -> str:
    body = api.post("/api/project.create", json={"name": name, "description": description}).json()
    return body["project"]["projectId"]


def test_search_semantics(api) -> None:
    alpha = _create(api, "Alpha", "first one")
    beta = _create(api, "beta_2", "100% sure")
    gamma = _create(api, "gamma", None)

    def ids(**params: object) -> list[str]:
        response = api.get("/api/project.search", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] >= len(body["items"])
        return [item["projectId"] for item in body["items"]]

    assert ids() == [gamma, beta, alpha]  # newest first
    assert ids(q="  ALPHA ") == [alpha]  # trimmed, case-insensitive
    assert ids(q="ONE") == [alpha]  # q matches description too
    assert ids(name="a") == [gamma, beta, alpha]
    assert ids(description="sure") == [beta]
    assert ids(description="o") == [alpha]  # a null description never matches
    assert ids(q="a_2") == [beta]
    assert ids(q="_") == [gamma, beta, alpha]  # `_` is a wildcard, not escaped
    assert ids(q="%") == [gamma, beta, alpha]  # `%` too
    assert ids(q="a%a") == [gamma, alpha]  # "Alpha", "gamma"
    assert ids(description="0\\% s") == [beta]  # Postgres' default LIKE escape is a backslash
    assert ids(name="g%a") == [gamma]
    assert ids(q="   ") == [gamma, beta, alpha]  # blank after trim = no filter
    item = api.get("/api/project.search", params={"q": "Alpha"}).json()["items"][0]
    assert set(item) == PROJECT_KEYS


def test_search_pagination_and_limits(api) -> None:
    created = [_create(api, f"p{i}") for i in range(5)]
    page = api.get("/api/project.search", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [i["projectId"] for i in page["items"]] == created[::-1][1:3]
    assert len(api.get("/api/project.search").json()["items"]) == 5  # default limit 20
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        response = api.get("/api/project.search", params=params)
        assert response.status_code == 400, params
        assert response.json()["message"] == "Input validation failed"
        assert list(response.json()["data"]["zodError"]["fieldErrors"]) == list(params)
    assert api.get("/api/project.search", params={"limit": 100, "offset": 0}).status_code == 200


def test_update(api, emu, project) -> None:
    pid = project["project"]["projectId"]
    response = api.post("/api/project.update", json={"projectId": pid, "name": "renamed", "env": "X=1"})
    assert response.status_code == 200
    row = response.json()
    assert set(row) == PROJECT_KEYS
    assert row["name"] == "renamed" and row["env"] == "X=1" and row["description"] == "Demo"
    cleared = api.post("/api/project.update", json={"projectId": pid, "description": None}).json()
    assert cleared["description"] is None and cleared["name"] == "renamed"
    assert api.post("/api/project.update", json={"projectId": pid, "env": None}).status_code == 400
    assert api.post("/api/project.update", json={"projectId": pid, "name": ""}).status_code == 400
    # it also writes createdAt (never send it: this only mimics the server)
    written = api.post("/api/project.update", json={"projectId": pid, "createdAt": "2020-01-01T00:00:00.000Z"})
    assert written.json()["createdAt"] == "2020-01-01T00:00:00.000Z"
    missing = api.post("/api/project.update", json={"projectId": "nope", "name": "x"})
    assert missing.status_code == 404 and missing.json()["message"] == "Project not found"


def test_update_writes_organization_id(api, emu, make_client, project) -> None:
    pid = project["project"]["projectId"]
    other_org = emu.add_api_key("other-key")
    moved = api.post("/api/project.update", json={"projectId": pid, "organizationId": other_org})
    assert moved.status_code == 200 and moved.json()["organizationId"] == other_org
    assert api.get("/api/project.one", params={"projectId": pid}).status_code == 401
    assert make_client("other-key").get("/api/project.one", params={"projectId": pid}).status_code == 200


def test_remove_cascades(api, emu, project) -> None:
    pid = project["project"]["projectId"]
    env_id = project["environment"]["environmentId"]
    extra = api.post("/api/environment.create", json={"projectId": pid, "name": "staging"}).json()
    emu.add_service(env_id, "compose", "stack")
    emu.add_service(extra["environmentId"], "mysql", "db")
    response = api.post("/api/project.remove", json={"projectId": pid})
    assert response.status_code == 200
    assert response.json() == emu_row(project["project"])
    assert emu.projects() == [] and emu.environments() == []
    assert api.get("/api/environment.one", params={"environmentId": env_id}).status_code == 404
    again = api.post("/api/project.remove", json={"projectId": pid})
    assert again.status_code == 404 and again.json()["message"] == "Project not found"


def emu_row(row: dict) -> dict:
    return {k: row[k] for k in PROJECT_KEYS}


def test_duplicate_default_mode(api, emu, project) -> None:
    env_id = project["environment"]["environmentId"]
    app_id = emu.add_service(env_id, "application", "web")
    emu.add_service(env_id, "redis", "cache")  # not selected: not copied
    response = api.post(
        "/api/project.duplicate",
        json={
            "sourceEnvironmentId": env_id,
            "name": "copy",
            "description": "dup",
            "selectedServices": [{"id": app_id, "type": "application"}],
        },
    )
    assert response.status_code == 200, response.text
    new_env = response.json()
    assert set(new_env) == ENV_KEYS
    assert new_env["name"] == "production" and new_env["isDefault"] is True
    new_project = emu.get_project(new_env["projectId"])
    assert new_project["name"] == "copy" and new_project["description"] == "dup"
    assert new_project["env"] == ""  # the source project's env is not copied
    one = api.get("/api/project.one", params={"projectId": new_env["projectId"]}).json()
    (env,) = one["environments"]
    assert [a["name"] for a in env["applications"]] == ["web"]
    assert env["applications"][0]["applicationId"] != app_id
    assert env["redis"] == []


def test_duplicate_without_services(api, emu, project) -> None:
    env_id = project["environment"]["environmentId"]
    app_id = emu.add_service(env_id)
    body = {"sourceEnvironmentId": env_id, "name": ""}  # name may be empty
    plain = api.post("/api/project.duplicate", json=body).json()  # no selectedServices: nothing copied
    excluded = api.post(
        "/api/project.duplicate",
        json={**body, "includeServices": False, "selectedServices": [{"id": app_id, "type": "application"}]},
    ).json()
    for env in (plain, excluded):
        one = api.get("/api/environment.one", params={"environmentId": env["environmentId"]}).json()
        assert one["applications"] == []
    assert emu.get_project(plain["projectId"])["name"] == ""


def test_duplicate_same_project(api, emu, project) -> None:
    env_id = project["environment"]["environmentId"]
    app_id = emu.add_service(env_id, "application", "web")
    response = api.post(
        "/api/project.duplicate",
        json={
            "sourceEnvironmentId": env_id,
            "name": "ignored",
            "duplicateInSameProject": True,
            "selectedServices": [{"id": app_id, "type": "application"}],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["environmentId"] == env_id
    assert [a["name"] for a in body["applications"]] == ["web"]  # read before copying
    assert len(emu.projects()) == 1
    one = api.get("/api/environment.one", params={"environmentId": env_id}).json()
    assert sorted(a["name"] for a in one["applications"]) == ["web", "web (copy)"]


def test_duplicate_errors_are_wrapped(api, emu, make_client, project) -> None:
    env_id = project["environment"]["environmentId"]
    missing = api.post(
        "/api/project.duplicate", json={"sourceEnvironmentId": "nope", "name": "x", "duplicateInSameProject": True}
    )
    assert missing.status_code == 400
    assert missing.json()["message"] == "Error duplicating the project: Environment not found"
    bad_service = api.post(
        "/api/project.duplicate",
        json={"sourceEnvironmentId": env_id, "name": "x", "selectedServices": [{"id": "nope", "type": "postgres"}]},
    )
    assert bad_service.status_code == 400
    assert bad_service.json()["message"] == "Error duplicating the project: Postgres not found"
    emu.add_api_key("other-key")
    other = make_client("other-key").post(
        "/api/project.duplicate", json={"sourceEnvironmentId": env_id, "name": "x", "duplicateInSameProject": True}
    )
    assert other.status_code == 400 and other.json()["message"].startswith("Error duplicating the project: ")


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"sourceEnvironmentId": "e"}, "name"),
        ({"name": "x"}, "sourceEnvironmentId"),
        ({"sourceEnvironmentId": "e", "name": "x", "description": None}, "description"),
        (
            {"sourceEnvironmentId": "e", "name": "x", "selectedServices": [{"id": "a", "type": "nginx"}]},
            "selectedServices",
        ),
    ],
)
def test_duplicate_validation(api, payload, field) -> None:
    response = api.post("/api/project.duplicate", json=payload)
    assert response.status_code == 400
    assert response.json()["message"] == "Input validation failed"
    assert list(response.json()["data"]["zodError"]["fieldErrors"]) == [field]
