"""Transport rules: routes, methods, auth, content types, input dialects, error shapes."""

from __future__ import annotations

import httpx

from dokploy_pulumi.testing import DokployEmulator


def test_health_needs_no_key(make_client) -> None:
    response = make_client().get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_paths_outside_the_api_are_next_pages(make_client) -> None:
    # A wrong base URL (Dokploy served at /, the client told /dokploy) meets Next.js' HTML 404,
    # before any key is checked; a trailing slash is redirected away first.
    for path in ("/dokploy/api/project.one", "/api", "/apix/project.all"):
        response = make_client().get(path, params={"projectId": "x"})
        assert response.status_code == 404 and response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text.startswith("<!DOCTYPE html>")
    moved = make_client().get("/api/project.one/", params={"projectId": "a b"})
    assert moved.status_code == 308 and moved.headers["location"] == "/api/project.one?projectId=a+b"


def test_head_is_a_204_warmup(api) -> None:
    response = api.head("/api/project.all")
    assert response.status_code == 204 and response.content == b""
    assert response.headers["content-type"] == "application/json"


def test_version_is_a_json_string_and_needs_a_key(api, make_client) -> None:
    response = api.get("/api/settings.getDokployVersion")
    assert response.status_code == 200
    assert response.json() == "v0.30.2"
    assert make_client().get("/api/settings.getDokployVersion").status_code == 401


def test_missing_wrong_or_bearer_key_is_a_bare_401(emu, make_client) -> None:
    for client in (
        make_client(),
        make_client("wrong"),
        make_client(None, headers={"Authorization": f"Bearer {emu.api_key}"}),
    ):
        response = client.get("/api/project.all")
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
    # auth comes before routing: an unknown procedure without a key is still 401
    assert make_client().get("/api/nope.nothing").status_code == 401


def test_unknown_procedure_and_wrong_method_are_404(api) -> None:
    for response in (
        api.get("/api/project.nothing"),
        api.get("/api/project.create"),
        api.post("/api/project.all", json={}),
        api.put("/api/project.update", json={}),
        api.get("/api/settings.other"),
    ):
        assert response.status_code == 404
        body = response.json()
        assert body["message"] == "Not found"
        assert body["code"] == "NOT_FOUND"
        assert body["data"]["code"] == "NOT_FOUND"
        assert body["data"]["httpStatus"] == 404


def test_post_without_json_content_type_is_415(api) -> None:
    response = api.post("/api/project.create", content=b'{"name":"x"}', headers={"content-type": "text/plain"})
    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert body["data"] == {
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "httpStatus": 415,
        "path": "project.create",
        "zodError": None,
    }
    missing = api.post("/api/project.create", content=b'{"name":"x"}')
    assert missing.status_code == 415
    assert missing.json()["message"] == "Missing content-type header"


def test_invalid_json_is_plain_text_400(api, emu) -> None:
    response = api.post("/api/project.create", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.text == "Invalid JSON"
    assert "content-type" not in response.headers  # Next.js sends it without one
    assert emu.projects() == []


def test_unknown_json_keys_are_dropped(api) -> None:
    response = api.post("/api/project.create", json={"name": "x", "bogus": 1, "projectId": "forced"})
    assert response.status_code == 200
    assert response.json()["project"]["projectId"] != "forced"
    assert "bogus" not in response.json()["project"]


def test_get_empty_value_counts_as_missing(api) -> None:
    response = api.get("/api/project.one", params={"projectId": ""})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Input validation failed"
    assert body["issues"][0]["path"] == ["projectId"]
    assert body["data"]["zodError"] == {
        "formErrors": [],
        "fieldErrors": {"projectId": ["Invalid input: expected string, received undefined"]},
    }
    # an empty limit falls back to the default instead of failing
    assert api.get("/api/project.search", params={"limit": ""}).status_code == 200


def test_numbers_are_coerced_from_strings(api) -> None:
    for index in range(3):
        api.post("/api/project.create", json={"name": f"p{index}"})
    response = api.get("/api/project.search", params={"limit": "2", "offset": "1"})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 2
    bad = api.get("/api/project.search", params={"limit": "abc"})
    assert bad.status_code == 400
    assert bad.json()["issues"][0]["path"] == ["limit"]


def test_validation_error_shape(api) -> None:
    response = api.post("/api/project.create", json={"name": "", "env": None})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "code", "data", "issues"}
    assert body["message"] == "Input validation failed"
    assert body["code"] == "BAD_REQUEST"
    assert body["data"]["code"] == "BAD_REQUEST"
    assert body["data"]["httpStatus"] == 400
    assert body["data"]["path"] == "project.create"
    assert [issue["path"] for issue in body["issues"]] == [["name"], ["env"]]
    assert all({"code", "message", "path"} <= set(issue) for issue in body["issues"])
    assert set(body["data"]["zodError"]["fieldErrors"]) == {"name", "env"}
    assert body["data"]["zodError"]["formErrors"] == []


def test_handler_error_shape(api) -> None:
    response = api.get("/api/project.one", params={"projectId": "missing"})
    assert response.status_code == 404
    assert response.json() == {
        "message": "Project not found",
        "code": "NOT_FOUND",
        "data": {"code": "NOT_FOUND", "httpStatus": 404, "path": "project.one", "zodError": None},
    }


def test_url_has_no_trailing_slash(emu: DokployEmulator) -> None:
    assert emu.url.startswith("http://127.0.0.1:")
    assert not emu.url.endswith("/")
    assert httpx.get(emu.url + "/api/health").status_code == 200


def test_invalid_json_is_checked_before_auth(make_client) -> None:
    # Next.js parses the body before Dokploy's handler looks at the key.
    response = make_client().post("/api/project.create", content=b"[1,", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.text == "Invalid JSON"


def test_empty_or_non_object_json_bodies(api) -> None:
    empty = api.post("/api/project.create", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 400  # parsed as {} -> name is required
    assert empty.json()["issues"][0]["path"] == ["name"]
    array = api.post("/api/project.create", json=["x"])  # spread by index: still no `name`
    assert array.status_code == 400 and array.json()["message"] == "Input validation failed"
    charset = api.post(
        "/api/project.create", content=b'{"name":"x"}', headers={"content-type": "application/json; charset=utf-8"}
    )
    assert charset.status_code == 200


def test_booleans_are_coerced_like_javascript(api, emu, project) -> None:
    env_id = project["environment"]["environmentId"]
    app_id = emu.add_service(env_id)
    selected = [{"id": app_id, "type": "application"}]
    off = api.post(
        "/api/project.duplicate",
        json={"sourceEnvironmentId": env_id, "name": "a", "includeServices": 0, "selectedServices": selected},
    ).json()
    on = api.post(
        "/api/project.duplicate",
        json={"sourceEnvironmentId": env_id, "name": "b", "includeServices": "false", "selectedServices": selected},
    ).json()  # Boolean("false") is true in JavaScript
    counts = [
        len(api.get("/api/environment.one", params={"environmentId": e["environmentId"]}).json()["applications"])
        for e in (off, on)
    ]
    assert counts == [0, 1]


def test_repeated_query_parameter_is_an_array(api) -> None:
    response = api.get("/api/project.one?projectId=a&projectId=b")
    assert response.status_code == 400
    assert response.json()["issues"][0]["message"] == "Invalid input: expected string, received array"
