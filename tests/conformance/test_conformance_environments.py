"""environment.* procedures: the default environment's rules, dialects, gone objects, duplicate."""

from __future__ import annotations

import pytest
from _contract import attempt, equal, without_stack

from dokploy_pulumi import BadRequestError, InputValidationError, NotFoundError


@pytest.fixture
def project(make_project):
    return make_project("envs", description="holder", env="P=1")


# -- create ----------------------------------------------------------------------------------------


def test_create_returns_a_non_default_row(client, project, prefix):
    pid = project.project.project_id
    row = client.environment.create(pid, prefix + "staging", description="stage")
    assert row.name == prefix + "staging"
    assert row.description == "stage"
    assert row.project_id == pid
    assert row.is_default is False
    assert row.env == ""
    assert row.created_at
    assert row.environment_id != project.environment.environment_id


def test_create_refuses_the_name_production(client, project, release):
    with pytest.raises(BadRequestError) as info:
        client.environment.create(project.project.project_id, "production")
    assert info.value.status == 400
    assert not isinstance(info.value, (InputValidationError, NotFoundError))
    if release.has_is_default:
        assert info.value.server_message == "You cannot create a environment with the name 'production'"
    else:  # v0.25.x words it otherwise
        assert info.value.server_message == "Environment name cannot be production"


def test_only_the_exact_name_production_is_refused(client, project):
    # Lives in the prefixed project, so teardown removes it with the project.
    row = client.environment.create(project.project.project_id, "Production")
    assert row.name == "Production" and row.is_default is False


def test_create_on_unknown_project_is_not_found(client, missing_id, prefix, release):
    # The insert fails on the foreign key and the handler wraps the database's text into a 400;
    # the client then asks project.one, and only its 404 makes this NotFoundError.
    with pytest.raises(NotFoundError) as info:
        client.environment.create(missing_id, prefix + "orphan")
    assert info.value.status == 400
    message = info.value.server_message
    assert message.startswith("Error creating the environment: ")

    def failed_query() -> None:  # drizzle's "Failed query", with the statement and its parameters
        assert message.startswith('Error creating the environment: Failed query: insert into "environment" (')
        assert "foreign key" not in message and missing_id in message

    def postgres_words() -> None:
        assert message == (
            'Error creating the environment: insert or update on table "environment" violates foreign key '
            'constraint "environment_projectId_project_projectId_fk"'
        )

    release.expect("failed_query_errors", new=failed_query, old=postgres_words)
    assert f"project {missing_id} does not exist" in str(info.value)


def test_create_with_an_empty_project_id(client, prefix, release, raw):
    answer = raw.post("environment.create", json={"projectId": "", "name": prefix + "nowhere"})
    assert answer.status_code == 400
    body = without_stack(answer.json())

    def min_length() -> None:  # projectId: z.string().min(1)
        assert body["message"] == "Input validation failed" and body["issues"][0]["path"] == ["projectId"]

    def insert_fails() -> None:  # drizzle-zod's plain z.string(): the insert fails instead
        message = body["message"]
        release.expect(
            "failed_query_errors",  # the database's error, as the release words those
            new=lambda: equal(
                message.startswith('Error creating the environment: Failed query: insert into "environment"'), True
            ),
            old=lambda: equal("violates foreign key constraint" in message, True),
        )

    release.expect("hand_written_schemas", new=min_length, old=insert_fails)


def test_create_ignores_env(client, project, prefix):
    data = client.post(
        "environment.create",
        {"projectId": project.project.project_id, "name": prefix + "with-env", "env": "IGNORED=1"},
    )
    assert data["env"] == ""
    assert client.environment.one(data["environmentId"]).env == ""


def test_create_description_dialects(client, project, prefix, release):
    pid = project.project.project_id
    assert client.environment.create(pid, prefix + "absent").description is None
    empty = client.environment.create(pid, prefix + "empty", description="")
    assert empty.description in ("", None)
    names = ["production", prefix + "absent", prefix + "empty"]
    null = attempt(lambda: client.environment.create(pid, prefix + "null", description=None))
    # v0.30.2: refused; v0.26.7 (drizzle-zod): accepted, stored as null
    if not release.expect(
        "hand_written_schemas", new=lambda: _refused_field(null, "description"), old=lambda: _null_description(null)
    ):
        names.append(prefix + "null")
    assert [e.name for e in client.environment.by_project_id(pid)] == names


def _refused_field(outcome, field):
    assert isinstance(outcome.error, InputValidationError) and field in outcome.error.field_errors


def _null_description(outcome):
    assert outcome.error is None and outcome.value.description is None


def test_names_are_not_unique(client, project, prefix):
    pid = project.project.project_id
    a = client.environment.create(pid, prefix + "twin")
    b = client.environment.create(pid, prefix + "twin")
    assert a.environment_id != b.environment_id


def test_create_requires_name_and_project(client, project):
    with pytest.raises(InputValidationError) as info:
        client.environment.create(project.project.project_id, "")
    assert "name" in info.value.field_errors
    with pytest.raises(InputValidationError) as info:
        client.post("environment.create", {"name": "x"})
    assert "projectId" in info.value.field_errors


# -- the default environment ------------------------------------------------------------------------


def test_default_environment_cannot_be_removed(client, project, release):
    env_id = project.environment.environment_id
    with pytest.raises(BadRequestError) as info:
        client.environment.remove(env_id)
    assert info.value.status == 400
    if release.has_is_default:
        assert info.value.server_message == "You cannot delete the default environment"
    else:  # v0.25.x: refused by its name
        assert info.value.server_message == "You cannot delete the production environment"
    assert client.environment.one(env_id).is_default is True


@pytest.mark.parametrize("name", ["production", "renamed"])
def test_default_environment_cannot_be_renamed_even_to_its_name(client, project, name, prefix, release):
    env_id = project.environment.environment_id
    if not release.has_is_default and name == "renamed":
        # v0.25.x refuses only the new name "production": renaming the default away is accepted,
        # and then the project has no default any more (it goes by that name).
        renamed = client.environment.update(env_id, name=prefix + name)
        assert renamed.name == prefix + name and renamed.is_default is False
        assert client.project.one(project.project.project_id).default_environment() is None
        return
    with pytest.raises(BadRequestError) as info:
        client.environment.update(env_id, name=name if name == "production" else prefix + name)
    assert info.value.status == 400
    if release.has_is_default:
        assert info.value.server_message == "Error updating the environment: You cannot rename the default environment"
    else:
        assert info.value.server_message == "Error updating the environment: Environment name cannot be production"
    assert client.environment.one(env_id).name == "production"


def test_default_environment_description_and_env_can_change(client, project):
    env_id = project.environment.environment_id
    row = client.environment.update(env_id, description="main", env="A=1")
    assert row.description == "main" and row.env == "A=1" and row.is_default is True
    one = client.environment.one(env_id)
    assert one.description == "main" and one.env == "A=1"


def test_a_non_default_environment_may_be_renamed_to_production(client, project, prefix, release):
    row = client.environment.create(project.project.project_id, prefix + "to-prod")
    if not release.has_is_default:  # v0.25.x: the name belongs to the default environment
        with pytest.raises(BadRequestError) as info:
            client.environment.update(row.environment_id, name="production")
        assert info.value.server_message == "Error updating the environment: Environment name cannot be production"
        assert client.environment.one(row.environment_id).name == prefix + "to-prod"
        return
    renamed = client.environment.update(row.environment_id, name="production")
    assert renamed.name == "production" and renamed.is_default is False
    client.environment.remove(row.environment_id)  # still removable: it is not the default


# -- update dialects ------------------------------------------------------------------------------


def test_update_description_dialects(client, project, prefix, release):
    env_id = client.environment.create(project.project.project_id, prefix + "ud", description="keep").environment_id
    assert client.environment.update(env_id, env="X=1").description == "keep"  # absent: unchanged
    null = attempt(lambda: client.environment.update(env_id, description=None))
    stored = client.environment.one(env_id).description
    # v0.30.2: null is refused; v0.26.7 (drizzle-zod): null clears
    release.expect(
        "hand_written_schemas",
        new=lambda: (_refused_field(null, "description"), equal(stored, "keep")),
        old=lambda: (_null_description(null), equal(stored, None)),
    )
    assert client.environment.update(env_id, description="").description in ("", None)  # "" clears
    assert client.environment.one(env_id).description in ("", None)


def test_update_of_created_at(client, project, prefix, release):
    env_id = client.environment.create(project.project.project_id, prefix + "uca").environment_id
    when = "2020-01-01T00:00:00.000Z"
    update = attempt(lambda: client.post("environment.update", {"environmentId": env_id, "createdAt": when}))

    def dropped() -> None:  # not in the schema: dropped, which leaves nothing to set
        assert isinstance(update.error, BadRequestError)
        assert update.error.server_message == "Error updating the environment: No values to set"

    def written() -> None:  # drizzle-zod's schema lets it through, and it is written
        assert update.error is None and update.value["createdAt"] == when

    release.expect("hand_written_schemas", new=dropped, old=written)


def test_update_env_dialects(client, project, prefix):
    env_id = client.environment.create(project.project.project_id, prefix + "ue").environment_id
    assert client.environment.update(env_id, env="A=1\nB=2").env == "A=1\nB=2"
    assert client.environment.update(env_id, description="d").env == "A=1\nB=2"  # absent: unchanged
    with pytest.raises(InputValidationError) as info:
        client.environment.update(env_id, env=None)
    assert "env" in info.value.field_errors
    assert client.environment.update(env_id, env="C=3").env == "C=3"  # replaced whole
    assert client.environment.update(env_id, env="").env == ""
    assert client.environment.one(env_id).env == ""


def test_update_name_and_move(client, project, make_project, prefix):
    env_id = client.environment.create(project.project.project_id, prefix + "mover").environment_id
    assert client.environment.update(env_id, name=prefix + "moved").name == prefix + "moved"
    other = make_project("envs-other")
    # The client never sends projectId (it has no such parameter); the server writes it unchecked.
    moved = client.post("environment.update", {"environmentId": env_id, "projectId": other.project.project_id})
    assert moved["projectId"] == other.project.project_id
    assert env_id in [e.environment_id for e in client.environment.by_project_id(other.project.project_id)]


def test_update_missing_is_not_found_wrapped_as_400(client, missing_id):
    with pytest.raises(NotFoundError) as info:
        client.environment.update(missing_id, description="x")
    assert info.value.status == 400
    assert "Error updating the environment" in str(info.value)


# -- reads ------------------------------------------------------------------------------------------


def test_one_carries_services_and_the_project(client, project, release):
    env_id = project.environment.environment_id
    data = client.get("environment.one", {"environmentId": env_id})
    # v0.30.2 selects columns, without createdAt; v0.26.7 sends the whole row.
    assert ("createdAt" in data) is not release.slim_reads
    keys = release.environment_keys - ({"createdAt"} if release.slim_reads else set())

    def shape(arrays: tuple[str, ...]) -> None:
        assert set(data) == keys | set(arrays) | {"project"}
        for array in arrays:
            assert data[array] == []

    release.with_service_arrays(shape)
    assert data["environmentId"] == env_id and data.get("isDefault", "no column") is (
        True if release.has_is_default else "no column"
    )
    assert data["env"] == ""
    assert data["project"]["projectId"] == project.project.project_id
    assert data["project"]["env"] == "P=1"
    one = client.environment.one(env_id)
    assert (one.created_at is None) is release.slim_reads
    assert one.project is not None and one.project.name == project.project.name


def test_one_and_remove_on_missing_are_404(client, missing_id):
    for call in (lambda: client.environment.one(missing_id), lambda: client.environment.remove(missing_id)):
        with pytest.raises(NotFoundError) as info:
            call()
        assert info.value.status == 404
        assert "Environment not found" in str(info.value)


def test_by_project_id_is_oldest_first(client, project, prefix, release):
    pid = project.project.project_id
    a = client.environment.create(pid, prefix + "b-first")
    b = client.environment.create(pid, prefix + "a-second")
    items = client.get("environment.byProjectId", {"projectId": pid})
    assert [i["environmentId"] for i in items] == [
        project.environment.environment_id,
        a.environment_id,
        b.environment_id,
    ]
    # v0.30.2: four columns, services and the project; v0.26.7: whole rows
    columns = {"name", "description", "environmentId", "isDefault"} if release.slim_reads else release.environment_keys

    def shape(arrays: tuple[str, ...]) -> None:
        for item in items:
            assert set(item) == columns | {"project", *arrays}

    release.with_service_arrays(shape)
    for item in items:
        if not release.slim_reads:
            assert item["projectId"] == pid
        assert item["project"]["projectId"] == pid
    typed = client.environment.by_project_id(pid)
    assert [e.is_default for e in typed] == [True, False, False]


def test_by_project_id_of_unknown_project_is_empty(client, missing_id):
    assert client.environment.by_project_id(missing_id) == []


def test_remove_returns_the_deleted_row(client, project, prefix):
    row = client.environment.create(project.project.project_id, prefix + "gone")
    removed = client.environment.remove(row.environment_id)
    assert removed.environment_id == row.environment_id and removed.name == prefix + "gone"
    with pytest.raises(NotFoundError) as info:
        client.environment.one(row.environment_id)
    assert info.value.status == 404
    with pytest.raises(NotFoundError):
        client.environment.remove(row.environment_id)


@pytest.mark.hook
def test_remove_while_services_exist(client, project, prefix, emulator, release):
    row = client.environment.create(project.project.project_id, prefix + "busy")
    service = emulator.add_service(row.environment_id, "compose", "stack")
    removal = attempt(lambda: client.environment.remove(row.environment_id))
    left = [s.id for _, s in client.project.one(project.project.project_id).services()]

    def refused() -> None:
        assert isinstance(removal.error, BadRequestError) and removal.error.status == 400
        assert "Cannot delete environment: it has active services" in str(removal.error)
        assert service in left

    def cascaded() -> None:  # v0.26.7: removed, and the database cascades to its services
        assert removal.error is None and removal.value.environment_id == row.environment_id
        assert service not in left

    if release.expect("remove_refuses_services", new=refused, old=cascaded):
        assert client.environment.one(row.environment_id).compose[0]["name"] == "stack"


# -- duplicate ----------------------------------------------------------------------------------------


def test_duplicate_makes_a_row_in_the_same_project(client, project, prefix, release):
    src = client.environment.create(project.project.project_id, prefix + "dsrc", description="source desc")
    client.environment.update(src.environment_id, env="K=v\nL=w")
    copy = client.environment.duplicate(src.environment_id, prefix + "dcopy", description="own desc")
    assert copy.environment_id != src.environment_id
    assert copy.project_id == project.project.project_id
    assert copy.name == prefix + "dcopy"
    assert copy.description == "own desc"
    assert copy.is_default is False
    # v0.30.2 copies the source's env; v0.26.7 does not.
    release.expect("duplicate_copies_env", new=lambda: equal(copy.env, "K=v\nL=w"), old=lambda: equal(copy.env, ""))
    assert client.environment.one(copy.environment_id).env == copy.env


@pytest.mark.parametrize("description", ["", None], ids=["empty", "absent"])
def test_duplicate_description_falls_back_to_the_source(client, project, prefix, description):
    src = client.environment.create(project.project.project_id, prefix + "fb-src", description="from source")
    kwargs = {} if description is None else {"description": description}
    copy = client.environment.duplicate(src.environment_id, prefix + "fb-copy", **kwargs)
    assert copy.description == "from source"


def test_duplicate_with_a_null_description(client, project, prefix, release):
    src = client.environment.create(project.project.project_id, prefix + "dn-src", description="from source")
    copy = attempt(lambda: client.environment.duplicate(src.environment_id, prefix + "dn-copy", description=None))

    def from_source() -> None:  # v0.26.7: accepted, then `null || source's`
        assert copy.error is None and copy.value.description == "from source"

    release.expect("hand_written_schemas", new=lambda: _refused_field(copy, "description"), old=from_source)


def test_duplicate_of_the_default_environment_is_not_default(client, project, prefix):
    copy = client.environment.duplicate(project.environment.environment_id, prefix + "not-default")
    assert copy.is_default is False
    assert copy.description == "Production environment"


def test_duplicate_missing_is_not_found_wrapped_as_400(client, missing_id, prefix):
    with pytest.raises(NotFoundError) as info:
        client.environment.duplicate(missing_id, prefix + "never")
    assert info.value.status == 400


def test_duplicate_requires_a_name(client, project):
    with pytest.raises(InputValidationError) as info:
        client.environment.duplicate(project.environment.environment_id, "")
    assert "name" in info.value.field_errors


@pytest.mark.hook
def test_duplicate_does_not_copy_services(client, project, prefix, emulator):
    src = client.environment.create(project.project.project_id, prefix + "svc-src")
    emulator.add_service(src.environment_id, "application", "web")
    copy = client.environment.duplicate(src.environment_id, prefix + "svc-copy")
    assert client.environment.one(copy.environment_id).services() == []
    assert len(client.environment.one(src.environment_id).services()) == 1
