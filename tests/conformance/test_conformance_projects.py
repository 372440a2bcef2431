"""project.* procedures: shapes, the default environment, dialects, gone objects, cascade, duplicate."""

from __future__ import annotations

from datetime import datetime

import pytest
from _contract import attempt, equal, without_stack

from dokploy_pulumi import (
    BadRequestError,
    InputValidationError,
    NotFoundError,
    UnknownProcedureError,
)
from dokploy_pulumi._client import OMIT

PROJECT_KEYS = {"projectId", "name", "description", "createdAt", "organizationId", "env"}


def _is_iso(text: str) -> bool:
    return isinstance(text, str) and datetime.fromisoformat(text.replace("Z", "+00:00")) is not None


# -- create ---------------------------------------------------------------------------------------


def test_create_returns_project_and_default_environment(client, make_project, prefix):
    result = make_project("create", description="first", env="A=1\nB=two")
    project, env = result.project, result.environment
    assert project.name == prefix + "create"
    assert project.description == "first"
    assert project.env == "A=1\nB=two"
    assert project.organization_id
    assert _is_iso(project.created_at)
    assert env is not None
    assert env.name == "production"
    assert env.description == "Production environment"
    assert env.env == ""
    assert env.is_default is True
    assert env.project_id == project.project_id
    assert _is_iso(env.created_at)


def test_create_raw_shape(client, prefix, track, release):
    data = client.post("project.create", {"name": prefix + "raw-shape"})
    track(data["project"]["projectId"])
    assert set(data) == {"project", "environment"}
    assert set(data["project"]) >= PROJECT_KEYS
    assert set(data["environment"]) >= release.environment_keys
    assert "updatedAt" not in data["project"] and "updatedAt" not in data["environment"]


def test_default_environment_is_visible_through_reads(client, make_project):
    result = make_project("default-env")
    detail = client.project.one(result.project.project_id)
    assert [e.environment_id for e in detail.environments] == [result.environment.environment_id]
    default = detail.default_environment()
    assert default is not None and default.name == "production" and default.is_default


@pytest.mark.hook
def test_legacy_create_answers_the_bare_row(prefix):
    from dokploy_pulumi import DokployClient
    from dokploy_pulumi.testing import DokployEmulator

    with DokployEmulator(api_key="legacy-key", legacy_create=True) as legacy:
        with DokployClient(legacy.url, legacy.api_key, backoff=0.01) as c:
            raw = c.post("project.create", {"name": prefix + "legacy"})
            assert "projectId" in raw and "project" not in raw  # the bare row
            result = c.project.create(prefix + "legacy-2", description="old")
            assert result.environment is None
            assert result.project.name == prefix + "legacy-2"
            assert result.project.description == "old"
            assert c.project.one(result.project.project_id).environments == []


def test_names_are_not_unique_and_not_trimmed(client, make_project, prefix):
    a = make_project("same ")
    b = make_project("same ")
    assert a.project.project_id != b.project.project_id
    assert client.project.one(a.project.project_id).name == prefix + "same "


def test_create_requires_a_name(client):
    with pytest.raises(InputValidationError) as info:
        client.project.create("")
    assert "name" in info.value.field_errors
    with pytest.raises(InputValidationError) as info:
        client.post("project.create", {})
    assert "name" in info.value.field_errors


# -- dialects: description and env ---------------------------------------------------------------


def test_create_description_dialects(client, make_project):
    absent = make_project("d-absent")
    assert absent.project.description is None
    null = make_project("d-null", description=None)
    assert null.project.description is None
    empty = make_project("d-empty", description="")
    assert empty.project.description in ("", None)
    for result in (absent, null, empty):
        assert client.project.one(result.project.project_id).description in ("", None)


def test_create_env_dialects(client, make_project, prefix):
    assert make_project("e-absent").project.env == ""
    assert make_project("e-empty", env="").project.env == ""
    with pytest.raises(InputValidationError) as info:
        client.project.create(prefix + "e-null", env=None)
    assert "env" in info.value.field_errors
    assert client.project.search(name=prefix + "e-null").total == 0


def test_update_description_dialects(client, make_project):
    pid = make_project("ud", description="keep").project.project_id
    assert client.project.update(pid, env="X=1").description == "keep"  # absent: unchanged
    assert client.project.one(pid).description == "keep"
    assert client.project.update(pid, description=None).description is None  # null clears
    assert client.project.one(pid).description is None
    client.project.update(pid, description="again")
    assert client.project.update(pid, description="").description in ("", None)  # "" accepted
    assert client.project.one(pid).description in ("", None)


def test_update_env_dialects(client, make_project):
    pid = make_project("ue", env="A=1").project.project_id
    assert client.project.update(pid, description="x").env == "A=1"  # absent: unchanged
    with pytest.raises(InputValidationError) as info:
        client.project.update(pid, env=None)
    assert "env" in info.value.field_errors
    assert client.project.one(pid).env == "A=1"
    assert client.project.update(pid, env="B=2\nC=3").env == "B=2\nC=3"  # replaced whole
    assert client.project.one(pid).env == "B=2\nC=3"
    assert client.project.update(pid, env="").env == ""
    assert client.project.one(pid).env == ""


def test_update_name(client, make_project, prefix):
    pid = make_project("rename").project.project_id
    row = client.project.update(pid, name=prefix + "renamed")
    assert row.name == prefix + "renamed"
    assert client.project.one(pid).name == prefix + "renamed"
    with pytest.raises(InputValidationError):
        client.project.update(pid, name="")


# -- reads -----------------------------------------------------------------------------------------


def test_one_has_environments_with_service_arrays(client, make_project, release):
    result = make_project("one")
    data = client.get("project.one", {"projectId": result.project.project_id})
    assert set(data) >= PROJECT_KEYS
    # projectTags: attached since tags exist.
    assert ("projectTags" in data) is release.has_tags
    (env,) = data["environments"]
    assert set(env) >= release.environment_keys  # whole environment rows on every release

    def service_arrays(arrays: tuple[str, ...]) -> None:
        assert set(env) - release.environment_keys == set(arrays)
        for array in arrays:
            assert env[array] == []

    release.with_service_arrays(service_arrays)


def test_all_lists_rows_newest_first_with_their_environments(client, make_project, prefix, release):
    first = make_project("all-1", env="K=v")
    second = make_project("all-2")
    rows = [p for p in client.project.all() if p.name.startswith(prefix + "all-")]
    assert [p.project_id for p in rows] == [second.project.project_id, first.project.project_id]
    assert rows[1].env == "K=v"
    (env,) = rows[1].environments
    assert env.environment_id == first.environment.environment_id
    assert env.name == "production" and env.is_default is True


def test_all_environment_shape(client, make_project, release):
    pid = make_project("all-shape").project.project_id
    (row,) = [p for p in client.get("project.all", None) if p["projectId"] == pid]
    assert set(row) >= PROJECT_KEYS
    assert ("projectTags" in row) is release.has_tags
    (env,) = row["environments"]
    # v0.30.2 selects three columns and short service arrays; v0.26.7 sends whole environment rows
    columns = {"name", "environmentId", "isDefault"} if release.slim_reads else release.environment_keys
    release.with_service_arrays(lambda arrays: equal(set(env), columns | set(arrays)))
    if not release.slim_reads:
        assert env["createdAt"] and env["projectId"] == pid and env["env"] == ""


def test_all_for_permissions(client, make_project, release):
    result = make_project("perm")
    rows = attempt(client.project.all_for_permissions)

    def listed() -> None:
        assert rows.error is None
        (mine,) = [p for p in rows.value if p["projectId"] == result.project.project_id]
        assert set(mine) == {"projectId", "name", "environments"}
        assert mine["name"] == result.project.name
        assert [e["environmentId"] for e in mine["environments"]] == [result.environment.environment_id]

    def no_procedure() -> None:
        assert isinstance(rows.error, UnknownProcedureError)

    release.expect("all_for_permissions", new=listed, old=no_procedure)


# -- gone objects ---------------------------------------------------------------------------------


def test_one_update_remove_on_missing_project_are_404(client, missing_id):
    for call in (
        lambda: client.project.one(missing_id),
        lambda: client.project.update(missing_id, description="x"),
        lambda: client.project.remove(missing_id),
    ):
        with pytest.raises(NotFoundError) as info:
            call()
        assert info.value.status == 404
        assert "Project not found" in str(info.value)


def test_remove_returns_the_row_and_cascades(client, make_project, prefix):
    result = make_project("cascade", description="bye")
    pid = result.project.project_id
    extra = client.environment.create(pid, prefix + "extra")
    removed = client.project.remove(pid)
    assert removed.project_id == pid and removed.name == prefix + "cascade"
    with pytest.raises(NotFoundError):
        client.project.one(pid)
    for env_id in (result.environment.environment_id, extra.environment_id):
        with pytest.raises(NotFoundError) as info:
            client.environment.one(env_id)
        assert info.value.status == 404
    assert client.environment.by_project_id(pid) == []
    assert client.environment.search(project_id=pid).total == 0
    with pytest.raises(NotFoundError) as info:  # removing again: 404 too
        client.project.remove(pid)
    assert info.value.status == 404


@pytest.mark.hook
def test_remove_cascades_through_services(client, make_project, emulator):
    result = make_project("cascade-svc")
    env_id = result.environment.environment_id
    emulator.add_service(env_id, "application", "web")
    emulator.add_service(env_id, "postgres", "db")
    client.project.remove(result.project.project_id)  # nothing refuses it
    with pytest.raises(NotFoundError):
        client.environment.one(env_id)


# -- duplicate --------------------------------------------------------------------------------------


def test_duplicate_creates_a_new_project(client, make_project, prefix, track):
    source = make_project("dup-src", description="src", env="SECRET=1")
    row = client.project.duplicate(source.environment.environment_id, prefix + "dup-new", description="copy")
    new_pid = track(row.project_id)
    assert new_pid != source.project.project_id
    assert row.name == "production" and row.is_default is True
    assert row.description == "Production environment"
    new = client.project.one(new_pid)
    assert new.name == prefix + "dup-new"
    assert new.description == "copy"
    assert new.env == ""  # the source project's env is NOT copied
    assert [e.environment_id for e in new.environments] == [row.environment_id]
    assert new.services() == []  # no selectedServices: nothing copied
    # the source is untouched
    assert len(client.project.one(source.project.project_id).environments) == 1


def test_duplicate_name_may_be_empty(client, make_project, track):
    source = make_project("dup-empty")
    row = client.project.duplicate(source.environment.environment_id, "")
    track(row.project_id)
    assert client.project.one(row.project_id).name == ""


def test_duplicate_rejects_null_description(client, make_project, prefix):
    source = make_project("dup-null")
    with pytest.raises(InputValidationError) as info:
        client.project.duplicate(source.environment.environment_id, prefix + "dup-null-2", description=None)
    assert "description" in info.value.field_errors


def test_duplicate_in_same_project_returns_the_source_environment(client, make_project, prefix):
    source = make_project("dup-same")
    env_id = source.environment.environment_id
    row = client.project.duplicate(
        env_id, prefix + "dup-same-ignored", description="ignored", duplicate_in_same_project=True
    )
    assert row.environment_id == env_id
    assert row.project_id == source.project.project_id
    assert client.project.search(name=prefix + "dup-same-ignored").total == 0


def test_duplicate_in_same_project_of_a_missing_environment_is_400(client, missing_id, prefix):
    with pytest.raises((BadRequestError, NotFoundError)) as info:
        client.project.duplicate(missing_id, prefix + "never", duplicate_in_same_project=True)
    assert info.value.status == 400
    assert "Error duplicating the project" in str(info.value)


@pytest.mark.hook
def test_duplicate_copies_selected_services(client, make_project, prefix, track, emulator):
    source = make_project("dup-svc")
    env_id = source.environment.environment_id
    app = emulator.add_service(env_id, "application", "web")
    emulator.add_service(env_id, "redis", "cache")  # not selected
    row = client.project.duplicate(
        env_id, prefix + "dup-svc-new", selected_services=[{"id": app, "type": "application"}]
    )
    track(row.project_id)
    copied = client.project.one(row.project_id).services()
    assert [(s.type, s.name) for _, s in copied] == [("application", "web")]
    assert copied[0][1].id != app
    row = client.project.duplicate(
        env_id, prefix + "dup-svc-none", include_services=False, selected_services=[{"id": app, "type": "application"}]
    )
    track(row.project_id)
    assert client.project.one(row.project_id).services() == []


@pytest.mark.hook
def test_duplicate_in_same_project_copies_with_suffix(client, make_project, prefix, emulator):
    source = make_project("dup-same-svc")
    env_id = source.environment.environment_id
    app = emulator.add_service(env_id, "application", "web")
    row = client.project.duplicate(
        env_id,
        prefix + "ignored",
        selected_services=[{"id": app, "type": "application"}],
        duplicate_in_same_project=True,
    )
    assert row.environment_id == env_id
    names = sorted(s.name for _, s in client.project.one(source.project.project_id).services())
    assert names == ["web", "web (copy)"]


def test_update_keeps_organization_and_created_at(client, make_project):
    result = make_project("no-org")
    pid = result.project.project_id
    before = client.project.one(pid)
    client.project.update(pid, description="touched")
    after = client.project.one(pid)
    assert after.organization_id == before.organization_id
    assert after.created_at == before.created_at


@pytest.mark.hook  # the request log
def test_update_never_sends_organization_or_created_at(client, make_project, emulator):
    pid = make_project("no-org-sent").project.project_id
    client.project.update(pid, description="touched")
    (req,) = [r for r in emulator.requests if r.procedure == "project.update" and r.body.get("projectId") == pid]
    assert set(req.body) == {"projectId", "description"}


def test_update_writes_created_at_when_sent(client, make_project):
    # Why the client never sends it: the server writes whatever it is given.
    pid = make_project("writes-created").project.project_id
    row = client.post("project.update", {"projectId": pid, "createdAt": "2020-01-01T00:00:00.000Z"})
    assert row["createdAt"] == "2020-01-01T00:00:00.000Z"
    assert client.project.one(pid).created_at == "2020-01-01T00:00:00.000Z"


@pytest.mark.hook  # the request log
def test_description_absent_from_create_is_not_sent(make_project, emulator):
    # OMIT means the key is absent from the JSON body, which the server reads as "absent".
    result = make_project("omit", description=OMIT, env=OMIT)
    (req,) = [
        r
        for r in emulator.requests
        if r.procedure == "project.create" and (r.body or {}).get("name") == result.project.name
    ]
    assert set(req.body) == {"name"}


def test_duplicate_refuses_an_unknown_service_type(client, make_project, prefix, release, raw):
    source = make_project("dup-type")
    body = {
        "sourceEnvironmentId": source.environment.environment_id,
        "name": prefix + "never",
        "selectedServices": [{"id": "x", "type": "nginx"}],
    }
    answer = raw.post("project.duplicate", json=body)
    assert answer.status_code == 400
    (issue,) = without_stack(answer.json())["issues"]
    assert issue["path"] == ["selectedServices", 0, "type"]

    def zod4() -> None:  # v0.30.2, whose enum has libsql
        assert issue["code"] == "invalid_value"
        assert issue["values"] == ["application", "compose", "libsql", "mariadb", "mongo", "mysql", "postgres", "redis"]

    def zod3() -> None:  # v0.26.7: no libsql before it existed
        assert issue["code"] == "invalid_enum_value" and issue["received"] == "nginx"
        assert issue["options"] == ["application", "postgres", "mariadb", "mongo", "mysql", "redis", "compose"]

    release.expect("zod4", new=zod4, old=zod3)
