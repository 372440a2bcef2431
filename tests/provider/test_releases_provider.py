"""What differs between Dokploy releases, through the SDK's provider server, on every release.

Against the emulator each test runs once per release the emulator was checked against real servers
for (v0.30.2, v0.26.7, v0.25.11); in the real tier, once against that server. The point is the
default environment: releases before v0.26.1 have no `isDefault` column, and the provider must
find the default (the environment named "production") there as on newer releases: adopting it,
looking it up, and not counting it as "an environment this stack does not manage" when the project
is destroyed. Also: an `env` the server answers as ciphertext is never taken as the value.
"""

from __future__ import annotations

import grpc
import httpx
import pytest
from _backend import AGAINST_REAL, n

from dokploy_pulumi import Connection, UndecryptableEnvError, get_default_environment, get_project
from dokploy_pulumi.testing import TESTED_VERSIONS

P = "__provider"


@pytest.fixture(params=["real"] if AGAINST_REAL else list(TESTED_VERSIONS))
def release_backend(request, backend):
    """`backend`, imitating each tested release in turn (the real server as it is)."""
    if not AGAINST_REAL:
        backend.version = request.param
    return backend


@pytest.fixture
def project(server, project_blob, release_backend):
    """A project made through the provider (as `pulumi up` makes it): (id, outputs)."""
    inputs, failures = server.check({}, {P: project_blob, "name": n("rel"), "description": None, "env": None})
    assert failures == []
    return server.create(inputs)


def _post(backend, procedure, body) -> httpx.Response:
    """A call made by hand, outside the provider (straight to a real server, not through its proxy)."""
    base = getattr(backend, "upstream", backend.url).rstrip("/")
    return httpx.post(f"{base}/api/{procedure}", json=body, headers={"x-api-key": backend.api_key}, timeout=120)


def _env_props(blob, project_id, **kw):
    base = {P: blob, "project_id": project_id, "name": "staging", "description": None, "env": None}
    base.update(kw)
    return base


def test_the_quickstart_lifecycle_finds_the_default_environment(
    server, project_blob, environment_blob, project, release_backend, monkeypatch
):
    pid, pouts = project
    default_id = pouts["default_environment_id"]
    assert default_id  # from project.create's answer
    # Read back through project.one: the same default, also where there is no isDefault column.
    assert server.read(pid, pouts)[1]["default_environment_id"] == default_id

    # Environment(name="production") adopts it: no create, no name sent.
    inputs, failures = server.check({}, _env_props(environment_blob, pid, name="production", env={"LOG_LEVEL": "warn"}))
    assert failures == []
    release_backend.reset_requests()
    id_, outs = server.create(inputs)
    assert id_ == default_id and outs["is_default"] is True
    sent = [r for r in release_backend.requests if r.method == "POST"]
    assert [r.procedure for r in sent] == ["environment.update"] and "name" not in sent[0].body
    assert release_backend.get_environment(id_)["env"].strip() == "LOG_LEVEL=warn"
    assert server.read(id_, outs)[1]["is_default"] is True

    # The look-up finds it.
    monkeypatch.setenv("RELEASES_TEST_KEY", release_backend.api_key)
    info = get_default_environment(pid, connection=Connection(release_backend.url, api_key_env="RELEASES_TEST_KEY"))
    assert info.id == default_id and info.name == "production" and info.is_default

    # destroy: the environment's defaults are restored (it cannot be removed), then the project
    # goes without force_destroy, because its default environment is not "another" environment.
    server.delete(id_, outs)
    row = release_backend.get_environment(id_)
    assert row is not None and row["env"] == "" and row["description"] == "Production environment"
    server.delete(pid, pouts)
    assert release_backend.get_project(pid) is None


def test_destroy_still_refuses_an_environment_it_does_not_manage(server, project, release_backend):
    pid, pouts = project
    assert _post(release_backend, "environment.create", {"projectId": pid, "name": n("other")}).status_code == 200
    with pytest.raises(grpc.RpcError) as info:
        server.delete(pid, pouts)
    message = info.value.details()
    assert "1 environment(s) this stack does not manage" in message and "'production'" not in message
    assert release_backend.get_project(pid) is not None


def test_renaming_to_production_is_explained(server, environment_blob, project, release_backend):
    """Only v0.25.x lets the default be renamed away (out of band, here); then giving the name back
    is refused by the server, and the provider says why instead of passing a bare 400 on."""
    pid, pouts = project
    default_id = pouts["default_environment_id"]
    inputs, _ = server.check({}, _env_props(environment_blob, pid, name="production"))
    id_, outs = server.create(inputs)
    renamed = _post(release_backend, "environment.update", {"environmentId": default_id, "name": n("old-prod")})
    if release_backend.release.is_default_column:
        assert renamed.status_code == 400  # v0.26.1 and later: the default cannot be renamed
        return
    assert renamed.status_code == 200
    read = server.read(id_, outs)[1]
    assert read["is_default"] is False and read["name"] == n("old-prod")  # no default any more
    news, _ = server.check(read, _env_props(environment_blob, pid, name="production"))
    with pytest.raises(grpc.RpcError) as info:
        server.update(id_, read, {**news, "name": "production"})
    message = info.value.details()
    assert "Dokploy refused to name environment" in message and "keep that name for the project's default" in message
    assert release_backend.get_environment(id_)["name"] == n("old-prod")


@pytest.mark.hook("store_undecryptable_env")
def test_ciphertext_env_is_refused_on_read_lookup_and_adoption(
    server, environment_blob, project, release_backend, monkeypatch
):
    pid, pouts = project
    if not release_backend.release.env_encrypted:
        with pytest.raises(ValueError, match="does not encrypt env at rest"):
            release_backend.store_undecryptable_env("project", pid)
        return
    ciphertext = release_backend.store_undecryptable_env("project", pid)
    with pytest.raises(grpc.RpcError) as info:
        server.read(pid, pouts)
    message = info.value.details()
    assert f"Dokploy could not decrypt the env of project {n('rel')!r} ({pid})" in message
    assert ciphertext[7:] not in message
    monkeypatch.setenv("RELEASES_TEST_KEY", release_backend.api_key)
    with pytest.raises(UndecryptableEnvError) as looked_up:  # the look-ups refuse it too
        get_project(project_id=pid, connection=Connection(release_backend.url, api_key_env="RELEASES_TEST_KEY"))
    assert looked_up.value.kind == "project" and looked_up.value.object_id == pid
    release_backend.store_undecryptable_env("environment", pouts["default_environment_id"])
    inputs, _ = server.check({}, _env_props(environment_blob, pid, name="production"))
    release_backend.reset_requests()
    with pytest.raises(grpc.RpcError) as info:
        server.create(inputs)  # adopting compares the env: it is never taken as the value
    assert "Dokploy could not decrypt the env of environment 'production'" in info.value.details()
    assert [r.method for r in release_backend.requests] == ["GET"]  # nothing was written


def test_user_env_that_merely_starts_with_enc_v1_is_read_as_written(server, project, release_backend):
    """Dokploy stores a written env that already starts with "enc:v1:" as it is (encryptValue skips
    what looks encrypted) and answers it back unchanged, on every release (v0.30.2 checked: written
    'enc:v1:foo=bar\\nA=1\\n', read the same). Text that is not ciphertext's shape (base64 of iv,
    tag and data) is the user's own: it must be read as their env, not refused as undecryptable."""
    pid, pouts = project
    text = "enc:v1:foo=bar\nA=1\n"  # dotenv reads A=1 (the first line is no assignment)
    assert _post(release_backend, "project.update", {"projectId": pid, "env": text}).status_code == 200
    assert release_backend.get_project(pid)["env"] == text
    outs = server.read(pid, pouts)[1]
    assert outs["env"] == {"A": "1"}


def test_a_second_production_made_by_duplicating_is_not_taken_for_the_default(
    server, environment_blob, project, release_backend
):
    """v0.25.x refuses the name "production" in environment.create/update but not in
    environment.duplicate (checked on the real v0.25.11): a project can hold two environments of
    that name, both unremovable there. Only the one project.create made (the oldest) is the default;
    the other is someone's environment, which destroy must refuse to delete with the project, and
    which adoption must not take."""
    pid, pouts = project
    default_id = pouts["default_environment_id"]
    made = _post(release_backend, "environment.duplicate", {"environmentId": default_id, "name": "production"})
    assert made.status_code == 200, made.text
    dup_id = made.json()["environmentId"]

    assert server.read(pid, pouts)[1]["default_environment_id"] == default_id
    inputs, _ = server.check({}, _env_props(environment_blob, pid, name="production"))
    id_, outs = server.create(inputs)
    assert id_ == default_id and outs["is_default"] is True
    server.delete(id_, outs)

    with pytest.raises(grpc.RpcError) as info:
        server.delete(pid, pouts)
    message = info.value.details()
    assert "1 environment(s) this stack does not manage" in message and dup_id in message
    assert release_backend.get_project(pid) is not None and release_backend.get_environment(dup_id) is not None
    # Clean up by hand (v0.25.x removes no environment named "production": rename it first).
    assert _post(release_backend, "environment.update", {"environmentId": dup_id, "name": n("gone")}).status_code == 200
    assert _post(release_backend, "environment.remove", {"environmentId": dup_id}).status_code == 200
    server.delete(pid, pouts)


def test_an_adopted_default_renamed_away_by_hand_is_not_removed_on_destroy(server, environment_blob, release_backend):
    """v0.25.x lets the default environment be renamed away (by hand); after a refresh it no longer
    reads as the default. It is still the environment the stack adopted, not one it created: the
    destroy of the Environment must leave it in its project (here a project the stack does not
    manage), not remove it."""
    made = _post(release_backend, "project.create", {"name": n("foreign")})
    assert made.status_code == 200
    pid = made.json()["project"]["projectId"]
    default_id = made.json()["environment"]["environmentId"]
    try:
        inputs, _ = server.check({}, _env_props(environment_blob, pid, name="production", env={"A": "1"}))
        id_, outs = server.create(inputs)
        assert id_ == default_id and outs["is_default"] is True
        renamed = _post(release_backend, "environment.update", {"environmentId": default_id, "name": n("old-prod")})
        if renamed.status_code != 200:
            assert release_backend.release.is_default_column  # v0.26.1 and later refuse it
            return
        read = server.read(id_, outs)[1]  # pulumi refresh
        server.delete(id_, read)  # pulumi destroy
        assert release_backend.get_environment(default_id) is not None  # still in the foreign project
    finally:
        _post(release_backend, "project.remove", {"projectId": pid})
