"""The public resource classes under Pulumi's own mocks: tokens, props, secrets, and the blob."""

from __future__ import annotations

import base64

import pulumi
import pytest

from dokploy_pulumi import Connection, Environment, EnvironmentArgs, Project, ProjectArgs

API_KEY = "dkp_mock_secret_key_value_123"
SECRET_SIG, SECRET_VAL = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append(args)
        outs = dict(args.inputs)
        outs.pop("__provider", None)
        return [f"{args.name}-id", outs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@pytest.fixture
def mocks(monkeypatch):
    # A key in the environment must never reach the resource's inputs or its pickled provider.
    monkeypatch.setenv("DOKPLOY_API_KEY", API_KEY)
    m = Mocks()
    pulumi.runtime.set_mocks(m, preview=False)
    yield m


def _await(output: pulumi.Output):
    return output.future()


@pulumi.runtime.test
def test_type_tokens_props_and_secret_env(mocks):
    app = Project("app", name="My SaaS", description="d", env={"LOG_LEVEL": "info"})
    staging = Environment("staging", project_id=app.id, name="staging", env="DEBUG=1\n")

    def check(values):
        env_is_secret, staging_env_secret, name_is_secret = values
        by_name = {r.name: r for r in mocks.created}
        assert by_name["app"].typ == "pulumi-python:dynamic/dokploy:Project"
        assert by_name["staging"].typ == "pulumi-python:dynamic/dokploy:Environment"
        inputs = by_name["app"].inputs
        assert inputs["name"] == "My SaaS" and inputs["description"] == "d"
        # env is sent to the engine as a secret input, so state encrypts it even in inputs.
        assert inputs["env"] == {SECRET_SIG: SECRET_VAL, "value": {"LOG_LEVEL": "info"}}
        assert by_name["staging"].inputs["project_id"] == "app-id"
        assert env_is_secret and staging_env_secret
        assert not name_is_secret  # nothing else is needlessly secret
        for r in mocks.created:
            blob = r.inputs["__provider"]
            raw = base64.b64decode(blob)
            assert API_KEY not in blob and API_KEY.encode() not in raw
            assert len(blob) < 200  # pickled by reference: a tiny blob
            assert b"dokploy_pulumi.providers" in raw

    return pulumi.Output.all(
        pulumi.Output.from_input(app.env.is_secret()),
        pulumi.Output.from_input(staging.env.is_secret()),
        pulumi.Output.from_input(app.name.is_secret()),
    ).apply(check)


@pulumi.runtime.test
def test_args_class_and_connection_hold_no_secret(mocks):
    conn = Connection(url="http://127.0.0.1:3000", api_key_env="OTHER_DOKPLOY_KEY")
    p = Project("p2", ProjectArgs(name="x", connection=conn, force_destroy=True))

    def check(_):
        args = next(r for r in mocks.created if r.name == "p2")
        assert args.inputs["connection"] == {"url": "http://127.0.0.1:3000", "api_key_env": "OTHER_DOKPLOY_KEY"}
        assert args.inputs["force_destroy"] is True
        assert API_KEY not in repr(args.inputs)

    return p.id.apply(check)


def test_args_and_kwargs_are_exclusive():
    with pytest.raises(TypeError, match="either"):
        Project("bad", ProjectArgs(name="x"), name="y")
    with pytest.raises(TypeError, match="unexpected arguments: nmae"):
        Environment("bad", nmae="x", project_id="p")
    assert EnvironmentArgs(project_id="p", name="n").description is None
