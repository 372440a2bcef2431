"""Organizations and rate limits: what another organization's key, and a rate-limited key, get back.

A real server cannot be given a second organization or a rate limit on demand, so these use the
emulator's `add_api_key` / `rate_limit_after` hooks.
"""

from __future__ import annotations

import secrets

import pytest
from _contract import attempt

from dokploy_pulumi import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    UnknownProcedureError,
)

pytestmark = pytest.mark.hook


@pytest.fixture
def other(emulator, new_client):
    """A client whose key belongs to a second organization."""
    key = "dpc-other-org-" + secrets.token_hex(8)
    emulator.add_api_key(key)
    return new_client(api_key=key)


def test_another_organizations_project_is_401(client, other, make_project):
    pid = make_project("org-a").project.project_id
    for call in (
        lambda: other.project.one(pid),
        lambda: other.project.update(pid, description="x"),
        lambda: other.project.remove(pid),
    ):
        with pytest.raises(AuthenticationError) as info:
            call()
        assert info.value.status == 401
    assert client.project.one(pid).description is None  # untouched


def test_another_organizations_environment(client, other, make_project, prefix, release):
    result = make_project("org-b")
    env_id = client.environment.create(result.project.project_id, prefix + "private").environment_id
    one = attempt(lambda: other.environment.one(env_id))

    def forbidden() -> None:
        assert isinstance(one.error, PermissionDeniedError) and one.error.status == 403

    def looks_gone() -> None:
        # v0.26.7's environment.one turns every failure into "Environment not found": to a key of
        # another organization the environment looks gone (the client cannot tell).
        assert isinstance(one.error, NotFoundError)
        assert one.error.status == 404 and one.error.server_message == "Environment not found"

    release.expect("environment_one_shows_errors", new=forbidden, old=looks_gone)
    with pytest.raises(PermissionDeniedError) as info:
        other.environment.remove(env_id)
    assert info.value.status == 403
    for call in (
        lambda: other.environment.update(env_id, description="x"),
        lambda: other.environment.duplicate(env_id, prefix + "stolen"),
    ):
        with pytest.raises(BadRequestError) as info:
            call()
        assert info.value.status == 400
        assert not isinstance(info.value, NotFoundError)
    with pytest.raises(BadRequestError) as info:
        other.environment.by_project_id(result.project.project_id)
    assert info.value.server_message == "Error fetching environments: You are not allowed to access this environment"
    assert client.environment.one(env_id).description is None  # untouched


def test_lists_and_searches_are_per_organization(client, other, make_project, release):
    pid = make_project("org-c").project.project_id
    assert pid not in [p.project_id for p in other.project.all()]
    assert other.project.search(name=client.project.one(pid).name).total == 0
    listed = attempt(other.project.all_for_permissions)

    def not_listed() -> None:
        assert listed.error is None and pid not in [p["projectId"] for p in listed.value]

    def no_procedure() -> None:
        assert isinstance(listed.error, UnknownProcedureError)

    release.expect("all_for_permissions", new=not_listed, old=no_procedure)


def test_a_rate_limited_key_gets_the_bare_401(emulator, new_client):
    c = new_client()
    assert c.version()
    emulator.rate_limit_after(0)
    with pytest.raises(AuthenticationError) as info:
        c.version()
    assert info.value.body == {"message": "Unauthorized"}
    assert info.value.probably_rate_limited is True
    assert "rate-limited" in str(info.value)
    emulator.rate_limit_after(None)
    assert c.version()
