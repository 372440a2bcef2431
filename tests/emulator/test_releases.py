"""The v0.26.7 mode: every difference from v0.30.2 that was seen on the real servers, as raw HTTP.

Each test names the release flag it covers (``dokploy_pulumi.testing._releases.Release``). The
default mode (v0.30.2) is what the other modules of this directory test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dokploy_pulumi.testing import DokployEmulator

ENV_KEYS = {"environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault"}
PROJECT_KEYS = {"projectId", "name", "description", "createdAt", "organizationId", "env"}
OLD_ARRAYS = {"applications", "compose", "mariadb", "mongo", "mysql", "postgres", "redis"}
FK = 'insert or update on table "environment" violates foreign key constraint "environment_projectId_project_projectId_fk"'


@pytest.fixture
def old() -> Iterator[DokployEmulator]:
    with DokployEmulator("k", version="v0.26.7") as emu:
        yield emu


@pytest.fixture
def api(old: DokployEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=old.url + "/api/", headers={"x-api-key": "k"}, timeout=5) as client:
        yield client


@pytest.fixture
def made(api: httpx.Client) -> dict[str, Any]:
    answer = api.post("project.create", json={"name": "demo", "env": "P=1"})
    assert answer.status_code == 200
    return answer.json()


def test_version_and_missing_procedures(api: httpx.Client) -> None:  # search, all_for_permissions
    assert api.get("settings.getDokployVersion").json() == "v0.26.7"
    for path in ("project.search", "environment.search", "project.allForPermissions", "project.nothing"):
        answer = api.get(path)
        assert answer.status_code == 404
        assert answer.json() == {"message": "Not found", "code": "NOT_FOUND"}  # error_data: none


def test_error_bodies_have_no_data(api: httpx.Client) -> None:  # error_data
    assert api.get("project.one", params={"projectId": "nope"}).json() == {
        "message": "Project not found",
        "code": "NOT_FOUND",
    }


def test_validation_issues_are_zod3(api: httpx.Client) -> None:  # zod
    body = api.post("project.create", json={"name": "", "env": None, "description": 5}).json()
    assert body == {
        "message": "Input validation failed",
        "code": "BAD_REQUEST",
        "issues": [
            {
                "code": "too_small",
                "minimum": 1,
                "type": "string",
                "inclusive": True,
                "exact": False,
                "message": "String must contain at least 1 character(s)",
                "path": ["name"],
            },
            {
                "code": "invalid_type",
                "expected": "string",
                "received": "number",
                "path": ["description"],
                "message": "Expected string, received number",
            },
            {
                "code": "invalid_type",
                "expected": "string",
                "received": "null",
                "path": ["env"],
                "message": "Expected string, received null",
            },
        ],
    }
    assert api.post("project.create", json={}).json()["issues"][0]["message"] == "Required"


def test_duplicate_service_types_have_no_libsql(api: httpx.Client, made: dict[str, Any]) -> None:  # libsql
    env_id = made["environment"]["environmentId"]
    for bad in ("libsql", "nginx"):
        issue = api.post(
            "project.duplicate",
            json={"sourceEnvironmentId": env_id, "name": "x", "selectedServices": [{"id": "a", "type": bad}]},
        ).json()["issues"][0]
        assert issue == {
            "received": bad,
            "code": "invalid_enum_value",
            "options": ["application", "postgres", "mariadb", "mongo", "mysql", "redis", "compose"],
            "path": ["selectedServices", 0, "type"],
            "message": "Invalid enum value. Expected 'application' | 'postgres' | 'mariadb' | 'mongo' | 'mysql' | "
            f"'redis' | 'compose', received '{bad}'",
        }


def test_add_service_refuses_libsql(old: DokployEmulator, made: dict[str, Any]) -> None:  # libsql
    with pytest.raises(ValueError):
        old.add_service(made["environment"]["environmentId"], "libsql")


def test_no_content_type_check(api: httpx.Client, old: DokployEmulator) -> None:  # checks_content_type
    text = api.post("project.create", content=b'{"name":"t"}', headers={"content-type": "text/plain"})
    assert text.status_code == 400  # the text was spread by character: no `name`
    assert [i["path"] for i in text.json()["issues"]] == [["name"]]
    form = api.post("project.create", data={"name": "form"})
    assert form.status_code == 200 and form.json()["project"]["name"] == "form"
    assert [p["name"] for p in old.projects()] == ["form"]


def test_repeated_query_key_keeps_the_first(api: httpx.Client, made: dict[str, Any]) -> None:  # query_arrays
    pid = made["project"]["projectId"]
    assert api.get(f"project.one?projectId={pid}&projectId=other").json()["projectId"] == pid


def test_database_errors_are_postgres_words(api: httpx.Client, made: dict[str, Any]) -> None:  # failed_query_errors
    answer = api.post("environment.create", json={"projectId": "nope", "name": "x"})
    assert answer.status_code == 400
    assert answer.json() == {"message": f"Error creating the environment: {FK}", "code": "BAD_REQUEST"}
    staging = api.post("environment.create", json={"projectId": made["project"]["projectId"], "name": "s"}).json()
    moved = api.post("environment.update", json={"environmentId": staging["environmentId"], "projectId": "nope"})
    assert moved.json()["message"] == f"Error updating the environment: {FK}"
    bad_org = api.post("project.update", json={"projectId": made["project"]["projectId"], "organizationId": "x"})
    assert bad_org.status_code == 500
    assert bad_org.json()["message"].endswith(
        'violates foreign key constraint "project_organizationId_organization_id_fk"'
    )


def test_reads_return_whole_rows(api: httpx.Client, old: DokployEmulator, made: dict[str, Any]) -> None:  # slim_reads
    pid, env_id = made["project"]["projectId"], made["environment"]["environmentId"]
    app_id = old.add_service(env_id, "application", "web")
    one = api.get("environment.one", params={"environmentId": env_id}).json()
    assert set(one) == ENV_KEYS | OLD_ARRAYS | {"project"}
    assert one["applications"][0]["applicationId"] == app_id and one["applications"][0]["deployments"] == []
    (item,) = api.get("environment.byProjectId", params={"projectId": pid}).json()
    assert set(item) == ENV_KEYS | OLD_ARRAYS | {"project"}
    detail = api.get("project.one", params={"projectId": pid}).json()
    assert set(detail) == PROJECT_KEYS | {"environments"}  # no projectTags
    assert set(detail["environments"][0]) == ENV_KEYS | OLD_ARRAYS
    (row,) = api.get("project.all").json()
    assert set(row) == PROJECT_KEYS | {"environments"}
    assert set(row["environments"][0]) == ENV_KEYS | OLD_ARRAYS
    assert row["environments"][0]["applications"][0]["domains"] == []


def test_environment_duplicate_does_not_copy_env(
    api: httpx.Client, made: dict[str, Any]
) -> None:  # duplicate_copies_env
    env_id = made["environment"]["environmentId"]
    api.post("environment.update", json={"environmentId": env_id, "env": "K=v"})
    copy = api.post("environment.duplicate", json={"environmentId": env_id, "name": "copy"}).json()
    assert copy["env"] == "" and copy["description"] == "Production environment"


def test_remove_cascades_to_services(
    api: httpx.Client, old: DokployEmulator, made: dict[str, Any]
) -> None:  # remove_refuses_services
    staging = api.post("environment.create", json={"projectId": made["project"]["projectId"], "name": "s"}).json()
    old.add_service(staging["environmentId"], "postgres", "db")
    removed = api.post("environment.remove", json={"environmentId": staging["environmentId"]})
    assert removed.status_code == 200 and removed.json() == staging


def test_environment_one_hides_every_error(
    api: httpx.Client, old: DokployEmulator, made: dict[str, Any]
) -> None:  # environment_one_hides_errors
    old.add_api_key("other")
    other = httpx.get(
        old.url + "/api/environment.one",
        params={"environmentId": made["environment"]["environmentId"]},
        headers={"x-api-key": "other"},
    )
    assert other.status_code == 404
    assert other.json() == {"message": "Environment not found", "code": "NOT_FOUND"}


def test_drizzle_zod_schemas(api: httpx.Client, made: dict[str, Any]) -> None:  # drizzle_zod_schemas
    pid = made["project"]["projectId"]
    env = api.post("environment.create", json={"projectId": pid, "name": "n", "description": None})
    assert env.status_code == 200 and env.json()["description"] is None
    env_id = env.json()["environmentId"]
    updated = api.post(
        "environment.update",
        json={"environmentId": env_id, "description": None, "createdAt": "2020-01-01T00:00:00.000Z"},
    )
    assert updated.json()["createdAt"] == "2020-01-01T00:00:00.000Z"
    empty = api.post("environment.create", json={"projectId": "", "name": "n"})
    assert empty.json()["message"] == f"Error creating the environment: {FK}"
    copy = api.post("environment.duplicate", json={"environmentId": env_id, "name": "c", "description": None})
    assert copy.status_code == 200


def test_cli_serves_the_chosen_release() -> None:
    from dokploy_pulumi.testing.__main__ import _parser

    args = _parser().parse_args(["serve", "--version", "v0.26.7", "--clock-offset", "-5"])
    assert args.version == "v0.26.7" and args.clock_offset == -5.0
