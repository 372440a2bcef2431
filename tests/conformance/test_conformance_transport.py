"""Transport-level behaviour: URLs, health, version, auth, content types, methods, unknown keys."""

from __future__ import annotations

import re

import httpx
import pytest

from dokploy_pulumi import (
    AuthenticationError,
    DokployClient,
    InputValidationError,
    NotFoundError,
    UnknownProcedureError,
)
from dokploy_pulumi._client import normalize_url


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api/", "//", "/api//"])
def test_url_normalisation_reaches_the_api(target, new_client, suffix):
    c = new_client(target.url.rstrip("/") + suffix)
    assert c.base_url == normalize_url(target.url)
    assert c.base_url.endswith("/api/") and "/api/api" not in c.base_url
    assert c.health() is True
    assert re.fullmatch(r"v\d+\.\d+\.\d+\S*", c.version())


def test_health_needs_no_key(target, new_client):
    assert new_client(api_key="not-a-valid-key").health() is True
    answer = httpx.get(target.base + "health", timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}


def test_version_is_a_json_string(client, raw):
    version = client.version()
    assert re.fullmatch(r"v\d+\.\d+\.\d+\S*", version)
    answer = raw.get("settings.getDokployVersion")
    assert answer.status_code == 200
    assert isinstance(answer.json(), str) and answer.json() == version


def test_version_needs_the_key(target):
    answer = httpx.get(target.base + "settings.getDokployVersion", timeout=30)
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize("procedure", ["project.all", "project.search", "environment.search"])
def test_wrong_key_is_a_bare_401(new_client, procedure):
    bad_key = "dpc-wrong-key-" + "q" * 24
    c = new_client(api_key=bad_key)
    with pytest.raises(AuthenticationError) as info:
        c.get(procedure, None)
    exc = info.value
    assert exc.status == 401
    assert exc.body == {"message": "Unauthorized"}  # bare: no tRPC code, no data
    assert exc.server_message == "Unauthorized"
    assert procedure in str(exc)
    assert exc.probably_rate_limited is False
    for text in (str(exc), repr(exc)):
        assert bad_key not in text


def test_missing_key_and_bearer_are_401(target):
    assert httpx.get(target.base + "project.all", timeout=30).status_code == 401
    bearer = httpx.get(
        target.base + "project.all", headers={"authorization": f"Bearer {target.api_key}"}, timeout=30
    )
    assert bearer.status_code == 401
    assert bearer.json() == {"message": "Unauthorized"}


def test_wrong_method_or_unknown_procedure_is_the_routers_404(client):
    # The router's answer (no `data.path`): never taken for "the object does not exist".
    for call in (
        lambda: client.get("project.create", {"name": "never"}),
        lambda: client.post("project.all", {}),
        lambda: client.get("project.noSuchProcedure", None),
    ):
        with pytest.raises(UnknownProcedureError) as info:
            call()
        assert not isinstance(info.value, NotFoundError)
        assert info.value.status == 404
        assert info.value.body["code"] == "NOT_FOUND" and info.value.body["message"] == "Not found"


def test_post_without_json_content_type_is_415(raw, prefix):
    answer = raw.post(
        "project.create", content=f'{{"name": "{prefix}never-415"}}', headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 415
    body = answer.json()
    assert body["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert body["data"]["httpStatus"] == 415


def test_invalid_json_is_a_plain_400(raw, prefix):
    answer = raw.post(
        "project.create", content=f'{{"name": "{prefix}never-json"', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.text == "Invalid JSON"


def test_unknown_json_keys_are_dropped(client, prefix, track):
    data = client.post("project.create", {"name": prefix + "unknown-keys", "bogusKey": 1, "another": "x"})
    track(data["project"]["projectId"])
    assert "bogusKey" not in data["project"] and "another" not in data["project"]
    assert data["project"]["name"] == prefix + "unknown-keys"


def test_empty_query_value_counts_as_missing(client):
    with pytest.raises(InputValidationError) as info:
        client.get("project.one", {"projectId": ""})
    assert "projectId" in info.value.field_errors


def test_query_numbers_are_coerced_from_strings(client, make_project, prefix):
    make_project("coerce-a")
    make_project("coerce-b")
    page = client.get("project.search", {"name": prefix + "coerce-", "limit": "1", "offset": "1"})
    assert page["total"] == 2
    assert [p["name"] for p in page["items"]] == [prefix + "coerce-a"]


def test_success_is_the_bare_value_without_envelope(raw, make_project):
    created = make_project("bare")
    answer = raw.get("project.one", params={"projectId": created.project.project_id})
    assert answer.status_code == 200
    body = answer.json()
    assert body["projectId"] == created.project.project_id
    assert "result" not in body and "data" not in body


def test_client_sends_the_key_header_only(target):
    # A client built from the URL with /api and a trailing slash still authenticates.
    with DokployClient(target.url.rstrip("/") + "/api/", target.api_key, backoff=0.01) as c:
        assert c.project.search(limit=1).total >= 0
