"""Transport-level behaviour: URLs, health, version, auth, content types, methods, error shapes."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import httpx
import pytest
from _backend import REAL_TIMEOUT
from _contract import equal, expect_router_404, without_stack

from dokploy_pulumi import (
    AuthenticationError,
    DokployClient,
    EndpointNotFoundError,
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
    answer = httpx.get(target.base + "health", timeout=REAL_TIMEOUT)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}


def test_version_is_a_json_string(client, raw, release):
    version = client.version()
    assert re.fullmatch(r"v\d+\.\d+\.\d+\S*", version)
    assert version == release.version
    answer = raw.get("settings.getDokployVersion")
    assert answer.status_code == 200
    assert isinstance(answer.json(), str) and answer.json() == version


def test_version_needs_the_key(target):
    answer = httpx.get(target.base + "settings.getDokployVersion", timeout=REAL_TIMEOUT)
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize("procedure", ["project.all", "project.search", "environment.search"])
def test_wrong_key_is_a_bare_401(new_client, procedure):
    # The key is checked before routing, so even a procedure the release lacks answers 401.
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
    assert httpx.get(target.base + "project.all", timeout=REAL_TIMEOUT).status_code == 401
    bearer = httpx.get(
        target.base + "project.all", headers={"authorization": f"Bearer {target.api_key}"}, timeout=REAL_TIMEOUT
    )
    assert bearer.status_code == 401
    assert bearer.json() == {"message": "Unauthorized"}


def test_wrong_method_or_unknown_procedure_is_the_routers_404(client, release):
    # The router's answer (no `data.path` on v0.30.2, no `data` at all on v0.26.7): never taken
    # for "the object does not exist".
    for call in (
        lambda: client.get("project.create", {"name": "never"}),
        lambda: client.post("project.all", {}),
        lambda: client.get("project.noSuchProcedure", None),
    ):
        with pytest.raises(UnknownProcedureError) as info:
            call()
        assert not isinstance(info.value, NotFoundError)
        assert info.value.status == 404
        expect_router_404(release, info.value.body)


def test_a_path_outside_the_api_is_a_html_404_not_a_gone_object(target, new_client, missing_id):
    # Dokploy served at /, the client told /dokploy: every call lands on one of Next.js' pages.
    answer = httpx.get(
        target.url.rstrip("/") + "/dokploy/api/project.one", params={"projectId": missing_id}, timeout=REAL_TIMEOUT
    )
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    wrong = new_client(target.url.rstrip("/") + "/dokploy")
    with pytest.raises(EndpointNotFoundError) as info:
        wrong.project.one(missing_id)
    assert not isinstance(info.value, (NotFoundError, UnknownProcedureError))


def test_a_procedures_own_errors_name_it_where_the_release_can(raw, missing_id, release):
    body = without_stack(raw.get("project.one", params={"projectId": missing_id}).json())
    # Without `data`, only the message tells it from the router's "Not found".
    _expect_project_not_found(release, body)


def _expect_project_not_found(release, body):
    """`body` is project.one's own 404 in the release's error shape."""
    plain = {"message": "Project not found", "code": "NOT_FOUND"}
    data = {"code": "NOT_FOUND", "httpStatus": 404, "path": "project.one", "zodError": None}
    release.expect("error_data", new=lambda: equal(body, {**plain, "data": data}), old=lambda: equal(body, plain))


def test_head_is_the_routers_warmup_answer(raw):
    answer = raw.head("project.all")
    assert answer.status_code == 204
    assert answer.content == b""


def test_post_without_json_content_type(raw, prefix, release, client):
    name = prefix + "never-415"
    answer = raw.post("project.create", content=f'{{"name": "{name}"}}', headers={"content-type": "text/plain"})
    body = without_stack(answer.json())

    def refused_415() -> None:
        assert answer.status_code == 415
        assert body["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert body["message"] == 'Unsupported content-type "text/plain'  # sic: no closing quote
        assert body["data"]["httpStatus"] == 415 and body["data"]["path"] == "project.create"

    def spread_text() -> None:
        # Next.js read the body as text and `{...text}` spreads it by character: no `name`.
        assert answer.status_code == 400
        assert body["message"] == "Input validation failed"
        assert [issue["path"] for issue in body["issues"]] == [["name"]]

    release.expect("checks_content_type", new=refused_415, old=spread_text)
    assert not [p for p in client.project.all() if p.name == name]


def test_a_form_body(raw, prefix, release, track):
    answer = raw.post("project.create", data={"name": prefix + "form"})
    if answer.status_code == 200:
        track(answer.json()["project"]["projectId"])

    def refused_415() -> None:
        assert answer.status_code == 415
        assert answer.json()["message"] == 'Unsupported content-type "application/x-www-form-urlencoded'

    def form_taken() -> None:  # Next.js parsed the form and trpc-openapi 0.0.4 takes it as the input
        assert answer.status_code == 200, answer.text
        assert answer.json()["project"]["name"] == prefix + "form"

    release.expect("checks_content_type", new=refused_415, old=form_taken)


def test_invalid_json_is_a_plain_400(raw, prefix):
    answer = raw.post(
        "project.create", content=f'{{"name": "{prefix}never-json"', headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.text == "Invalid JSON"
    assert "content-type" not in answer.headers


def test_invalid_json_is_refused_before_the_key_is_checked(target):
    answer = httpx.post(
        target.base + "project.create",
        content=b"{nope",
        headers={"content-type": "application/json"},
        timeout=REAL_TIMEOUT,
    )
    assert answer.status_code == 400 and answer.text == "Invalid JSON"


def test_unknown_json_keys_are_dropped(client, prefix, track):
    data = client.post("project.create", {"name": prefix + "unknown-keys", "bogusKey": 1, "projectId": "forced"})
    track(data["project"]["projectId"])
    assert "bogusKey" not in data["project"]
    assert data["project"]["projectId"] != "forced"
    assert data["project"]["name"] == prefix + "unknown-keys"


def test_empty_query_value_counts_as_missing(client):
    with pytest.raises(InputValidationError) as info:
        client.get("project.one", {"projectId": ""})
    assert "projectId" in info.value.field_errors


def test_a_repeated_query_key(raw, missing_id, release):
    answer = raw.get(f"project.one?projectId={missing_id}&projectId=other")

    def array_refused() -> None:  # trpc-openapi 0.0.18 passes the array, which the string schema refuses
        assert answer.status_code == 400
        message = answer.json()["issues"][0]["message"]
        release.expect(  # worded by the release's zod
            "zod4",
            new=lambda: equal(message, "Invalid input: expected string, received array"),
            old=lambda: equal(message, "Expected string, received array"),
        )

    def first_value() -> None:  # 0.0.4 keeps the first value
        assert answer.status_code == 404
        _expect_project_not_found(release, without_stack(answer.json()))

    release.expect("query_arrays", new=array_refused, old=first_value)


def test_query_numbers_are_coerced_from_strings(client, make_project, prefix, release):
    if not release.has_search:
        # The only numeric inputs are search's paging, which this release does not have.
        with pytest.raises(UnknownProcedureError):
            client.get("project.search", {"name": prefix + "coerce-", "limit": "1", "offset": "1"})
        return
    make_project("coerce-a")
    make_project("coerce-b")
    page = client.get("project.search", {"name": prefix + "coerce-", "limit": "1", "offset": "1"})
    assert page["total"] == 2
    assert [p["name"] for p in page["items"]] == [prefix + "coerce-a"]


def test_validation_issues_are_worded_by_the_releases_zod(raw, release):
    answer = raw.post("project.create", json={"name": "", "env": None})
    assert answer.status_code == 400
    body = without_stack(answer.json())
    assert body["message"] == "Input validation failed" and body["code"] == "BAD_REQUEST"
    too_small, null_env = body["issues"]
    missing = without_stack(raw.post("project.create", json={}).json())["issues"][0]

    def zod4() -> None:
        assert too_small == {
            "origin": "string",
            "code": "too_small",
            "minimum": 1,
            "inclusive": True,
            "path": ["name"],
            "message": "Too small: expected string to have >=1 characters",
        }
        assert null_env == {
            "expected": "string",
            "code": "invalid_type",
            "path": ["env"],
            "message": "Invalid input: expected string, received null",
        }
        assert missing["message"] == "Invalid input: expected string, received undefined"

    def zod3() -> None:
        assert too_small == {
            "code": "too_small",
            "minimum": 1,
            "type": "string",
            "inclusive": True,
            "exact": False,
            "message": "String must contain at least 1 character(s)",
            "path": ["name"],
        }
        assert null_env == {
            "code": "invalid_type",
            "expected": "string",
            "received": "null",
            "path": ["env"],
            "message": "Expected string, received null",
        }
        assert missing["message"] == "Required"

    def with_data() -> None:
        assert body["data"]["path"] == "project.create"
        assert body["data"]["zodError"] == {
            "formErrors": [],
            "fieldErrors": {"name": [too_small["message"]], "env": [null_env["message"]]},
        }

    release.expect("zod4", new=zod4, old=zod3)
    release.expect("error_data", new=with_data, old=lambda: equal("data" in body, False))


def test_where_issues_carry_received(raw, release):
    plain = raw.post("project.create", json={"name": 5}).json()["issues"][0]
    # The numbers are search's paging (reads only; none before search exists).
    nan = raw.get("project.search", params={"limit": "abc"}).json() if release.has_search else None
    infinite = raw.get("project.search", params={"limit": "Infinity"}).json() if release.has_search else None

    def zod3() -> None:  # zod 3: every invalid_type issue says what it received
        assert plain["received"] == "number" and plain["message"] == "Expected string, received number"

    def zod4() -> None:  # zod 4: only z.number() adds `received`, and only for NaN and +-Infinity
        assert "received" not in plain and plain["message"] == "Invalid input: expected string, received number"
        if nan is None or infinite is None:
            return
        assert nan["issues"][0] == {
            "expected": "number",
            "code": "invalid_type",
            "received": "NaN",
            "path": ["limit"],
            "message": "Invalid input: expected number, received NaN",
        }
        assert infinite["issues"][0]["received"] == "Infinity"
        assert infinite["issues"][0]["message"] == "Invalid input: expected number, received number"

    release.expect("zod4", new=zod4, old=zod3)


def test_every_answer_has_a_date_header(target, raw, missing_id):
    answers = [
        raw.get("settings.getDokployVersion"),  # 200
        raw.get("project.one", params={"projectId": missing_id}),  # the procedure's 404
        raw.get("project.noSuchProcedure"),  # the router's 404
        raw.post("project.create", json={}),  # 400 validation
        raw.post("project.create", content=b"{", headers={"content-type": "application/json"}),  # Invalid JSON
        httpx.get(target.base + "project.all", timeout=REAL_TIMEOUT),  # 401
    ]
    for answer in answers:
        date = parsedate_to_datetime(answer.headers["date"])
        assert date.tzinfo is not None and date.microsecond == 0  # whole seconds, like Node


def test_success_is_the_bare_value_without_envelope(raw, make_project):
    created = make_project("bare")
    answer = raw.get("project.one", params={"projectId": created.project.project_id})
    assert answer.status_code == 200
    body = answer.json()
    assert body["projectId"] == created.project.project_id
    assert "result" not in body and "data" not in body


def test_client_sends_the_key_header_only(target):
    # A client built from the URL with /api and a trailing slash still authenticates.
    with DokployClient(target.url.rstrip("/") + "/api/", target.api_key, backoff=0.01, timeout=REAL_TIMEOUT) as c:
        assert c.project.all() is not None
