"""Where the provider finds URL and key, several instances, rotation, and that no key is stored."""

from __future__ import annotations

import json

import pytest
from _backend import n

from dokploy_pulumi.testing import DokployEmulator
from dokploy_pulumi.testing.provider_server import ProviderServer

P = "__provider"


def _project(blob, **kw):
    return {P: blob, "name": n("app"), **kw}


def test_environment_variables_are_the_fallback(backend, clean_env, project_blob):
    env = {**clean_env, "DOKPLOY_URL": backend.url + "/api/", "DOKPLOY_API_KEY": backend.api_key}
    with ProviderServer(env=env) as srv:
        srv.configure({})
        inputs, failures = srv.check({}, _project(project_blob))
        assert failures == []
        id_, _outs = srv.create(inputs)
    assert backend.get_project(id_)["name"] == n("app")


def test_missing_credentials_fail_at_preview(clean_env, project_blob):
    with ProviderServer(env=clean_env) as srv:
        srv.configure({})
        _, failures = srv.check({}, _project(project_blob))
        assert failures and failures[0][0] == "connection" and "dokploy:url" in failures[0][1]
        srv_fail = srv.check(
            {}, _project(project_blob, connection={"url": "http://127.0.0.1:1", "api_key_env": "NOPE_KEY"})
        )[1]
        assert srv_fail == [("connection", "No Dokploy API key for http://127.0.0.1:1: set $NOPE_KEY.")]


def test_explicit_connection_reaches_a_second_instance(backend, clean_env, project_blob):
    # The second instance is always an emulator; the default one is the backend under test.
    with DokployEmulator(api_key="second-instance-key") as other, ProviderServer(env=clean_env) as srv:
        srv.configure(
            {
                "dokploy:url": backend.url,
                "dokploy:apiKey": backend.api_key,
                "dokploy-b:apiKey": other.api_key,
            }
        )
        conn = {"url": other.url, "api_key_config": "dokploy-b:apiKey"}
        inputs, failures = srv.check({}, _project(project_blob, connection=conn))
        assert failures == []
        id_, outs = srv.create(inputs)
        assert other.get_project(id_) is not None and backend.get_project(id_) is None
        text = json.dumps([inputs, outs])
        assert other.api_key not in text and backend.api_key not in text
        assert outs["connection"] == conn


def _created_in_another_process(backend, clean_env, project_blob):
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": backend.url, "dokploy:apiKey": backend.api_key})
        inputs, _ = srv.check({}, _project(project_blob))
        return srv.create(inputs)


def test_a_new_process_refreshes_and_destroys_from_stored_outputs(backend, clean_env, project_blob):
    id_, outs = _created_in_another_process(backend, clean_env, project_blob)
    # A new `pulumi refresh`/`destroy` is a new provider process configured with today's config:
    # the stored outputs (outs) are all it gets of the resource, and they hold no key.
    assert backend.api_key not in json.dumps(outs)
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": backend.url, "dokploy:apiKey": backend.api_key})
        rid, routs, _ = srv.read(id_, outs)
        assert rid == id_
        srv.delete(id_, routs)
    assert backend.get_project(id_) is None


@pytest.mark.hook("add_api_key")
def test_rotated_key_refreshes_and_destroys_without_up(backend, clean_env, project_blob):
    emu = backend
    id_, outs = _created_in_another_process(emu, clean_env, project_blob)
    new_key = "rotated-key-0123456789"
    emu.add_api_key(new_key, organization_id=outs["organization_id"])
    # A new `pulumi refresh`/`destroy` is a new provider process configured with today's config;
    # the stored outputs (outs) hold no key, so nothing stale is used.
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": emu.url, "dokploy:apiKey": new_key})
        rid, routs, _ = srv.read(id_, outs)
        assert rid == id_
        srv.delete(id_, routs)
    assert emu.get_project(id_) is None
    assert all(r.headers.get("x-api-key") in (None, "***") for r in emu.requests)
