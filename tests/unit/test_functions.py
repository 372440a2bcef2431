"""The look-up functions against the emulator: plain forms directly, `_output` forms under mocks."""

from __future__ import annotations

import asyncio
import json
import time

import pulumi
import pytest
from pulumi.resource import DependencyResource

from dokploy_pulumi import (
    AuthenticationError,
    Connection,
    CredentialError,
    DokployLookupError,
    EnvironmentInfo,
    InputValidationError,
    InternalServerError,
    ProjectInfo,
    SearchResult,
    get_default_environment,
    get_default_environment_output,
    get_environment,
    get_environment_output,
    get_project,
    get_project_output,
    list_environments,
    list_environments_output,
    list_projects,
    list_projects_output,
    search_environments,
    search_environments_output,
    search_projects,
    search_projects_output,
)

# -- fixtures ------------------------------------------------------------------------------------------


def project(emu, name, **fields):
    return emu.create_project(name, **fields)["projectId"]


def default_env(emu, project_id):
    return next(e for e in emu.environments() if e["projectId"] == project_id and e["isDefault"])


def procedures(emu):
    return [r.procedure for r in emu.requests]


# -- get_project -----------------------------------------------------------------------------------------


def test_get_project_by_id_is_one_request_and_returns_every_output(emu):
    pid = project(emu, "app", description="d", env="LOG_LEVEL=info\n")
    emu.reset_requests()
    info = get_project(project_id=pid)
    assert procedures(emu) == ["project.one"]
    row = emu.get_project(pid)
    assert info == ProjectInfo(
        id=pid,
        name="app",
        description="d",
        env={"LOG_LEVEL": "info"},
        created_at=row["createdAt"],
        organization_id=emu.organization_id,
        default_environment_id=default_env(emu, pid)["environmentId"],
    )
    assert "LOG_LEVEL" not in repr(info)  # env may be secret: never in a repr


def test_get_project_by_exact_name_is_case_sensitive(emu):
    target = project(emu, "app")
    for other in ("App", "APP", "my-app", "app ", "apps"):
        project(emu, other)
    emu.reset_requests()
    assert get_project(name="app").id == target
    assert procedures(emu) == ["project.search", "project.one"]
    assert emu.requests[0].query["limit"] == "100"
    assert get_project(name="App").name == "App"
    assert get_project(name="app ").name == "app "  # names are not trimmed


def test_get_project_name_with_like_metacharacters_matches_literally(emu):
    literal = {name: project(emu, name) for name in ("50%_off", "a\\b", "x_y")}
    project(emu, "50 percent off")
    project(emu, "xzy")
    for name, pid in literal.items():
        assert get_project(name=name).id == pid
    # The term is escaped, so the server's own LIKE match is already literal.
    emu.reset_requests()
    get_project(name="x_y")
    assert emu.requests[0].query["name"] == "x\\_y"


def test_get_project_pages_through_many_matches(emu):
    for i in range(230):
        project(emu, f"service-{i:03d}")
    wanted = project(emu, "service")
    for i in range(5):
        project(emu, f"late-service-{i}")
    emu.reset_requests()
    # "service" is a substring of all 236 names: three pages of 100, then the match's project.one.
    assert get_project(name="service").id == wanted
    assert [(r.procedure, r.query.get("offset")) for r in emu.requests] == [
        ("project.search", "0"),
        ("project.search", "100"),
        ("project.search", "200"),
        ("project.one", None),
    ]
    assert get_project(name="service-007").name == "service-007"


def test_get_project_not_found_lists_near_matches_with_ids(emu):
    near = project(emu, "Billing")
    with pytest.raises(DokployLookupError) as err:
        get_project(name="billing")
    exc = err.value
    assert isinstance(exc, LookupError)
    assert "get_project(name='billing')" in str(exc) and f"'Billing' ({near})" in str(exc)
    assert exc.candidates == [("Billing", near)] and exc.query == "get_project(name='billing')"
    with pytest.raises(DokployLookupError, match="no project has a name like that"):
        get_project(name="nothing-like-it")
    with pytest.raises(DokployLookupError, match="no project has the id 'nope'.*Project not found"):
        get_project(project_id="nope")


def test_get_project_ambiguous_name_lists_every_match(emu):
    first, second = project(emu, "api"), project(emu, "api")
    project(emu, "api-gateway")
    with pytest.raises(DokployLookupError) as err:
        get_project(name="api")
    message = str(err.value)
    assert "2 projects are named exactly that" in message and "by project_id" in message
    assert f"'api' ({first})" in message and f"'api' ({second})" in message
    assert sorted(err.value.candidates) == sorted([("api", first), ("api", second)])


def test_get_project_server_errors_propagate_with_the_reason(emu):
    project(emu, "app")
    emu.inject_fault(
        "project.search", status=500, body={"message": "database is down", "code": "INTERNAL_SERVER_ERROR"}
    )
    with pytest.raises(InternalServerError, match="project.search.*database is down"):
        get_project(name="app")
    emu.inject_fault("project.one", status=401, body={"message": "Unauthorized"})
    with pytest.raises(AuthenticationError):
        get_project(project_id="whatever")


def test_get_project_arguments(emu):
    with pytest.raises(ValueError, match="exactly one of project_id or name"):
        get_project()
    with pytest.raises(ValueError, match="got project_id, name"):
        get_project(project_id="x", name="y")


# -- credentials -----------------------------------------------------------------------------------------


def test_missing_credentials_are_a_clear_error(dokploy_emulator, monkeypatch):
    for key in ("DOKPLOY_URL", "DOKPLOY_API_KEY", "PULUMI_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(CredentialError, match="dokploy:url"):
        get_project(project_id="x")


def test_explicit_connection_and_stack_config(dokploy_emulator, monkeypatch):
    emu = dokploy_emulator
    for key in ("DOKPLOY_URL", "DOKPLOY_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    pid = project(emu, "app")
    monkeypatch.setenv("MY_DOKPLOY_KEY", emu.api_key)
    assert get_project(project_id=pid, connection=Connection(emu.url, api_key_env="MY_DOKPLOY_KEY")).id == pid
    # The language host hands a program its stack config in PULUMI_CONFIG; pulumi.Config reads it.
    monkeypatch.setenv(
        "PULUMI_CONFIG",
        json.dumps({"dokploy:url": emu.url + "/api/", "dokploy:apiKey": emu.api_key, "eu:apiKey": emu.api_key}),
    )
    assert get_project(project_id=pid).id == pid
    assert get_project(project_id=pid, connection=Connection(emu.url, api_key_config="eu:apiKey")).id == pid
    assert all(r.headers.get("x-api-key") in (None, "***") for r in emu.requests)


# -- get_environment / get_default_environment ------------------------------------------------------------


def test_get_environment_by_id_fills_created_at(emu, api):
    pid = project(emu, "app")
    made = api.environment.create(pid, "staging", description="pre")
    api.environment.update(made.environment_id, env="DEBUG=1\n")
    emu.reset_requests()
    info = get_environment(made.environment_id)
    # environment.one has no createdAt; one search inside its project supplies it.
    assert procedures(emu) == ["environment.one", "environment.search"]
    assert info == EnvironmentInfo(
        id=made.environment_id,
        project_id=pid,
        name="staging",
        description="pre",
        env={"DEBUG": "1"},
        is_default=False,
        created_at=made.created_at,
    )
    assert get_environment(made.environment_id, project_id=pid).id == made.environment_id
    with pytest.raises(DokployLookupError, match="belongs to project"):
        get_environment(made.environment_id, project_id="another")


def test_get_environment_by_project_and_name(emu, api):
    pid, other = project(emu, "app"), project(emu, "other")
    made = api.environment.create(pid, "staging")
    api.environment.create(pid, "Staging")
    api.environment.create(other, "staging")
    emu.reset_requests()
    info = get_environment(project_id=pid, name="staging")
    assert procedures(emu) == ["environment.search"]
    assert emu.requests[0].query["projectId"] == pid
    assert info.id == made.environment_id and info.project_id == pid and info.created_at == made.created_at


def test_get_environment_not_found(emu, api):
    pid = project(emu, "app")
    made = api.environment.create(pid, "staging")
    with pytest.raises(DokployLookupError) as err:
        get_environment(project_id=pid, name="Staging")
    message = str(err.value)
    # Candidates: what the project holds, with ids.
    assert f"'staging' ({made.environment_id})" in message
    assert f"'production' ({default_env(emu, pid)['environmentId']})" in message
    with pytest.raises(DokployLookupError, match="no project has the id 'missing'"):
        get_environment(project_id="missing", name="staging")
    with pytest.raises(DokployLookupError, match="no environment has the id 'nope'"):
        get_environment("nope")


def test_get_environment_ambiguous(emu, api):
    pid = project(emu, "app")
    a, b = api.environment.create(pid, "qa"), api.environment.create(pid, "qa")
    with pytest.raises(DokployLookupError) as err:
        get_environment(project_id=pid, name="qa")
    assert f"'qa' ({a.environment_id})" in str(err.value) and f"'qa' ({b.environment_id})" in str(err.value)
    assert "by environment_id" in str(err.value)


def test_get_environment_server_error_and_arguments(emu):
    pid = project(emu, "app")
    emu.inject_fault("environment.search", status=500, body={"message": "boom", "code": "INTERNAL_SERVER_ERROR"})
    with pytest.raises(InternalServerError, match="boom"):
        get_environment(project_id=pid, name="production")
    with pytest.raises(ValueError):
        get_environment(project_id=pid)
    with pytest.raises(ValueError):
        get_environment("id", name="x")


def test_get_default_environment(emu, api):
    pid = project(emu, "app")
    default = default_env(emu, pid)
    emu.reset_requests()
    info = get_default_environment(pid)
    assert procedures(emu) == ["project.one"]
    assert info.id == default["environmentId"] and info.is_default and info.name == "production"
    assert info.created_at == default["createdAt"] and info.project_id == pid
    with pytest.raises(DokployLookupError, match="no project has the id 'nope'"):
        get_default_environment("nope")
    # A project without its default environment (interrupted project.create): say what it holds.
    other = api.environment.create(pid, "staging")
    emu.delete_environment(default["environmentId"])
    with pytest.raises(DokployLookupError, match="has no default environment") as err:
        get_default_environment(pid)
    assert err.value.candidates == [("staging", other.environment_id)]
    emu.inject_fault("project.one", status=500, body={"message": "boom", "code": "INTERNAL_SERVER_ERROR"})
    with pytest.raises(InternalServerError):
        get_default_environment(pid)


# -- list / search -----------------------------------------------------------------------------------------


def test_list_projects_pages_and_fills_default_environments(emu):
    assert list_projects() == []
    ids = [project(emu, f"p{i}") for i in range(150)]
    emu.reset_requests()
    found = list_projects()
    assert [p.id for p in found] == list(reversed(ids))  # newest first, each once
    assert procedures(emu) == ["project.search"] * 2 + ["environment.search"] * 2
    assert all(p.default_environment_id == default_env(emu, p.id)["environmentId"] for p in found[:3])
    emu.inject_fault("environment.search", status=500, body={"message": "boom", "code": "INTERNAL_SERVER_ERROR"})
    with pytest.raises(InternalServerError):
        list_projects()


def test_list_environments(emu, api):
    pid = project(emu, "app")
    for i in range(120):
        api.environment.create(pid, f"review-{i}")
    project(emu, "other")
    emu.reset_requests()
    envs = list_environments(pid)
    assert len(envs) == 121 and {e.project_id for e in envs} == {pid}
    assert procedures(emu) == ["environment.search", "environment.search"]
    with pytest.raises(DokployLookupError, match="list_environments.*no project has the id 'nope'"):
        list_environments("nope")
    emu.inject_fault("environment.search", status=500, body={"message": "boom", "code": "INTERNAL_SERVER_ERROR"})
    with pytest.raises(InternalServerError):
        list_environments(pid)


def test_search_projects_is_one_page_with_the_servers_semantics(emu):
    for name in ("web-1", "web-2", "Web-3", "api"):
        project(emu, name, description="frontend" if name != "api" else None)
    emu.reset_requests()
    page = search_projects(name="web", limit=2)
    assert isinstance(page, SearchResult) and page.total == 3 and len(page.items) == 2
    assert procedures(emu) == ["project.search"]
    assert [p.name for p in page.items] == ["Web-3", "web-2"] and page.items[0].default_environment_id is None
    assert search_projects(q="front", offset=2).total == 3 and len(search_projects(q="front", offset=2).items) == 1
    assert search_projects(name="w_b").total == 3  # wildcards are the server's
    assert search_projects(name="nothing").items == []
    with pytest.raises(InputValidationError, match="limit"):
        search_projects(limit=500)


def test_search_environments(emu, api):
    pid, other = project(emu, "app"), project(emu, "other")
    api.environment.create(pid, "staging", description="pre")
    api.environment.create(other, "staging")
    page = search_environments(name="staging")
    assert page.total == 2
    page = search_environments(name="staging", project_id=pid)
    assert page.total == 1 and page.items[0].description == "pre" and page.items[0].created_at
    assert search_environments(project_id="nope") == SearchResult([], 0)
    emu.inject_fault("environment.search", status=500, body={"message": "down", "code": "INTERNAL_SERVER_ERROR"})
    with pytest.raises(InternalServerError, match="environment.search.*down"):
        search_environments(name="x", connection=Connection(emu.url, api_key_env="DOKPLOY_API_KEY"))


# -- the _output forms, under Pulumi's mocks ----------------------------------------------------------------


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args):
        return {}


@pytest.fixture
def mocks(emu):
    # Earlier tests may have run asyncio.run(), which leaves no current event loop behind.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(Mocks(), preview=False)
    return emu


def _secret(output):
    return pulumi.Output.from_input(output.is_secret())


@pulumi.runtime.test
def test_get_project_output_takes_inputs_and_makes_env_secret(mocks):
    emu = mocks
    pid = project(emu, "app", env="TOKEN=s3cr3t\n")
    name = pulumi.Output.from_input("app")
    result = get_project_output(name=name)

    def check(values):
        info, env, env_secret, name_secret = values
        assert isinstance(info, ProjectInfo) and info.id == pid and info.name == "app"
        assert isinstance(info.env, pulumi.Output)
        assert env == {"TOKEN": "s3cr3t"} and env_secret is True and name_secret is False

    return pulumi.Output.all(result, result.env, _secret(result.env), _secret(result.name)).apply(check)


@pulumi.runtime.test
def test_environment_outputs_make_env_secret(mocks, api):
    emu = mocks
    pid = project(emu, "app")
    staging = api.environment.create(pid, "staging")
    api.environment.update(staging.environment_id, env="A=1\n")
    by_id = get_environment_output(staging.environment_id)
    by_name = get_environment_output(project_id=pulumi.Output.from_input(pid), name="staging")
    default = get_default_environment_output(pulumi.Output.from_input(pid))

    def check(values):
        id_env, id_secret, name_id, default_name, default_secret = values
        assert id_env == {"A": "1"} and id_secret and default_secret
        assert name_id == staging.environment_id and default_name == "production"

    return pulumi.Output.all(by_id.env, _secret(by_id.env), by_name.id, default.name, _secret(default.env)).apply(check)


@pulumi.runtime.test
def test_list_and_search_outputs_make_each_env_secret(mocks):
    emu = mocks
    pid = project(emu, "app", env="K=v\n")
    project(emu, "other")
    projects = list_projects_output()
    envs = list_environments_output(pid)
    found = search_projects_output(name="app", limit=pulumi.Output.from_input(5))
    found_envs = search_environments_output(project_id=pid)

    def inner(values):
        projects, envs, found, found_envs = values
        assert [p.name for p in projects] == ["other", "app"] and len(envs) == 1
        assert found.total == 1 and found_envs.total == 1
        items = [*projects, *envs, *found.items, *found_envs.items]
        return pulumi.Output.all(*[i.env for i in items], *[_secret(i.env) for i in items]).apply(
            lambda vs: (vs[: len(items)], vs[len(items) :])
        )

    def check(pair):
        values, secrets = pair
        assert all(secrets) and {"K": "v"} in values

    return pulumi.Output.all(projects, envs, found, found_envs).apply(inner).apply(check)


@pulumi.runtime.test
def test_output_form_reads_stack_config(mocks, monkeypatch):
    emu = mocks
    pid = project(emu, "app")
    monkeypatch.delenv("DOKPLOY_URL")
    monkeypatch.delenv("DOKPLOY_API_KEY")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"dokploy:url": emu.url, "dokploy:apiKey": emu.api_key}))
    return get_project_output(project_id=pid).id.apply(lambda id_: assert_equal(id_, pid))


def assert_equal(a, b):
    assert a == b


def test_output_form_errors_fail_the_program(mocks):
    project(mocks, "app")
    project(mocks, "app")

    @pulumi.runtime.test
    def program():
        return get_project_output(name="app").id

    with pytest.raises(DokployLookupError, match="2 projects are named exactly that"):
        program()


def test_unknown_inputs_in_preview_make_no_request(emu):
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(Mocks(), preview=True)
    project(emu, "app")
    emu.reset_requests()

    @pulumi.runtime.test
    def program():
        # An Output the engine has not resolved yet (e.g. the id of a Project still to be created).
        unknown = pulumi.Output.from_input("app").apply(lambda _: pulumi.Output(set(), _done(None), _done(False)))
        result = get_project_output(name=unknown)
        known = get_project_output(name="app")

        async def check():
            assert not await result.id.is_known()
            assert await known.id.is_known()  # known inputs are looked up at preview too

        return pulumi.Output.from_input(check())

    program()
    assert procedures(emu) == ["project.search", "project.one"]


def _done(value):
    fut = asyncio.get_event_loop().create_future()
    fut.set_result(value)
    return fut


# -- opts: depends_on ---------------------------------------------------------------------------------------


class _Thing(pulumi.CustomResource):
    """A resource whose (mocked) create makes a Dokploy project, as a `Project` would."""

    def __init__(self, name: str, project_name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Thing", name, {"projectName": project_name}, opts)


class _CreatingMocks(Mocks):
    def __init__(self, emu, unknown_id: bool = False):
        self.emu, self.unknown_id = emu, unknown_id

    def new_resource(self, args):
        if args.typ != "test:index:Thing":  # a component: nothing to create
            return [None, {}]
        if self.unknown_id:  # a preview of a create: the id is not known yet
            return [None, dict(args.inputs)]
        made = self.emu.create_project(args.inputs["projectName"])
        return [made["projectId"], dict(args.inputs)]


def _set_mocks(mocks: pulumi.runtime.Mocks, preview: bool) -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(mocks, preview=preview)


def test_depends_on_waits_for_the_resource_that_creates_the_object(emu):
    _set_mocks(_CreatingMocks(emu), preview=False)
    found: dict[str, object] = {}

    @pulumi.runtime.test
    def program():
        thing = _Thing("made", "made-by-the-stack")
        opts = pulumi.InvokeOutputOptions(depends_on=[thing])
        by_name = get_project_output(name="made-by-the-stack", opts=opts)
        listed = list_projects_output(opts=pulumi.InvokeOutputOptions(depends_on=thing))  # one resource, no list

        async def check():
            found["thing_id"] = await thing.id.future()
            found["by_name"] = await by_name.id.future()
            found["listed"] = [p.name for p in await listed.future() or []]
            # Whatever uses the result depends on the resource, as with an invoke's depends_on.
            found["deps"] = thing in await by_name.resources()

        return pulumi.Output.from_input(check())

    program()
    assert found["by_name"] == found["thing_id"]
    assert found["listed"] == ["made-by-the-stack"]
    assert found["deps"] is True


def test_depends_on_a_resource_being_created_in_preview_is_unknown_and_asks_nothing(emu):
    _set_mocks(_CreatingMocks(emu, unknown_id=True), preview=True)
    project(emu, "app")
    emu.reset_requests()
    known: dict[str, bool] = {}

    @pulumi.runtime.test
    def program():
        thing = _Thing("pending", "not-yet")
        waiting = get_project_output(name="app", opts=pulumi.InvokeOutputOptions(depends_on=[thing]))
        plain = get_project_output(name="app", opts=pulumi.InvokeOptions())  # no depends_on: runs now

        async def check():
            known["waiting"] = await waiting.id.is_known()
            known["plain"] = await plain.id.is_known()

        return pulumi.Output.from_input(check())

    program()
    assert known == {"waiting": False, "plain": True}
    assert procedures(emu) == ["project.search", "project.one"]  # the plain one's only


def test_parent_and_provider_options_are_accepted_and_change_nothing(emu):
    _set_mocks(_CreatingMocks(emu), preview=False)
    pid = project(emu, "app")
    seen: dict[str, object] = {}

    @pulumi.runtime.test
    def program():
        parent = _Thing("parent", "parent-project")
        out = get_project_output(project_id=pid, opts=pulumi.InvokeOutputOptions(parent=parent, version="9.9.9"))

        async def check():
            seen["id"] = await out.id.future()
            seen["deps"] = await out.resources()  # parent is no dependency (as for an invoke)

        return pulumi.Output.from_input(check())

    program()
    assert seen == {"id": pid, "deps": set()}
    assert get_project(project_id=pid, opts=pulumi.InvokeOptions(version="9.9.9")).id == pid


class _Stack(pulumi.ComponentResource):
    """A component whose child creates the project (as a user's component wrapping a `Project`)."""

    def __init__(self, name: str, project_name: str) -> None:
        super().__init__("test:index:Stack", name)
        self.thing = _Thing(f"{name}-thing", project_name, pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class _SlowCreatingMocks(_CreatingMocks):
    def new_resource(self, args):
        # The child's create takes a while: a look-up that does not wait for it runs first.
        if args.typ == "test:index:Thing":
            time.sleep(0.3)
        return super().new_resource(args)


def test_depends_on_a_component_waits_for_its_children(emu):
    # Pulumi's depends_on a (local) ComponentResource means "on its children": the component's own
    # registration is done long before they are.
    _set_mocks(_SlowCreatingMocks(emu), preview=False)
    found: dict[str, object] = {}

    @pulumi.runtime.test
    def program():
        stack = _Stack("comp", "made-by-a-child")
        by_name = get_project_output(name="made-by-a-child", opts=pulumi.InvokeOutputOptions(depends_on=[stack]))

        async def check():
            found["by_name"] = await by_name.id.future()
            found["thing_id"] = await stack.thing.id.future()
            found["deps"] = stack.thing in await by_name.resources()

        return pulumi.Output.from_input(check())

    program()
    assert found["by_name"] == found["thing_id"]
    assert found["deps"] is True


def test_depends_on_a_component_whose_child_is_created_in_preview_is_unknown(emu):
    _set_mocks(_CreatingMocks(emu, unknown_id=True), preview=True)
    project(emu, "app")
    emu.reset_requests()
    known: dict[str, bool] = {}

    @pulumi.runtime.test
    def program():
        stack = _Stack("comp", "not-yet")
        waiting = get_project_output(name="app", opts=pulumi.InvokeOutputOptions(depends_on=stack))

        async def check():
            known["waiting"] = await waiting.id.is_known()

        return pulumi.Output.from_input(check())

    program()
    assert known == {"waiting": False}
    assert procedures(emu) == []


def test_depends_on_a_dependency_resource_runs_the_look_up(emu):
    # pulumi.DependencyResource (a resource known by its urn only) has no id: its urn says it is done.
    _set_mocks(Mocks(), preview=False)
    pid = project(emu, "app")
    found: dict[str, object] = {}

    @pulumi.runtime.test
    def program():
        known = DependencyResource("urn:pulumi:stack::project::test:index:Thing::made")
        out = get_project_output(project_id=pid, opts=pulumi.InvokeOutputOptions(depends_on=[known]))

        async def check():
            found["id"] = await out.id.future()

        return pulumi.Output.from_input(check())

    program()
    assert found == {"id": pid}
