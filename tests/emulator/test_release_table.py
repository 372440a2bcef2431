"""The release table (`dokploy_pulumi._releases`) and the emulator modes it gives, as raw HTTP.

v0.25.11 is the third release checked against a real server (its name rules for the default
environment, read in its source: routers/environment.ts, services/environment.ts). Releases in
between the checked ones take each difference from the release that made it.
"""

from __future__ import annotations

import httpx
import pytest

from dokploy_pulumi import _releases
from dokploy_pulumi.testing import DokployEmulator, Release


@pytest.fixture
def v025(emu: DokployEmulator) -> DokployEmulator:
    emu.version = "v0.25.11"
    return emu


def test_every_flag_comes_from_the_table() -> None:
    # Each difference switches at its `since`, and not one release before it.
    for diff in _releases.DIFFERENCES:
        major, minor, patch = _releases.parse_version(diff.since)
        before = f"v{major}.{minor}.{patch - 1}" if patch else f"v{major}.{minor - 1}.99"
        assert _releases.has(diff.since, diff.name) and not _releases.has(before, diff.name)
        assert diff.pinned or (diff.seen_without and diff.seen_with and diff.note), diff.name
    assert Release.of("v0.28.2").search is False and Release.of("v0.28.3").search is True
    assert Release.of("v0.28.9").tags is False and Release.of("v0.29.0").tags is True
    assert Release.of("v0.29.11").env_encrypted is False and Release.of("v0.29.12").env_encrypted is True
    assert Release.of("v0.29.13").slim_reads is False and Release.of("v0.29.14").slim_reads is True
    assert Release.of("v0.26.0").is_default_column is False and Release.of("v0.26.1").is_default_column is True


def _versions() -> list[str]:
    return [f"v0.{minor}.{patch}" for minor in range(24, 32) for patch in range(0, 16)]


def test_known_at_is_the_placement_where_the_table_is_sure_and_none_in_between() -> None:
    for diff in _releases.DIFFERENCES:
        for version in _versions():
            known = _releases.known_at(version, diff.name)
            assert known == diff.known_at(version)
            if diff.pinned:
                assert known is _releases.has(version, diff.name), (diff.name, version)
                continue
            number = _releases.parse_version(version)
            assert _releases.parse_version(diff.seen_without) < _releases.parse_version(diff.since)
            assert _releases.parse_version(diff.since) <= _releases.parse_version(diff.seen_with)
            if number <= _releases.parse_version(diff.seen_without):
                assert known is False, (diff.name, version)
            elif number >= _releases.parse_version(diff.seen_with):
                assert known is True, (diff.name, version)
            else:
                assert known is None, (diff.name, version)
    framework = _releases.difference("error_data")
    assert [framework.known_at(v) for v in ("v0.26.7", "v0.26.8", "v0.29.13", "v0.30.1", "v0.30.2")] == [
        False,
        None,
        None,
        None,
        True,
    ]


def test_the_checked_releases_are_sure_of_every_difference() -> None:
    # The conformance suite asserts exactly one behaviour everywhere at these.
    from dokploy_pulumi.testing import TESTED_VERSIONS

    for version in TESTED_VERSIONS:
        for diff in _releases.DIFFERENCES:
            assert _releases.known_at(version, diff.name) is _releases.has(version, diff.name), (version, diff.name)


def test_v025_rows_have_no_is_default(v025: DokployEmulator, api: httpx.Client) -> None:
    made = api.post("/api/project.create", json={"name": "demo"}).json()
    assert "isDefault" not in made["environment"] and made["environment"]["name"] == "production"
    pid = made["project"]["projectId"]
    assert all(
        "isDefault" not in e for e in api.get("/api/project.one", params={"projectId": pid}).json()["environments"]
    )
    assert all("isDefault" not in e for p in api.get("/api/project.all").json() for e in p["environments"])
    staging = api.post("/api/environment.create", json={"projectId": pid, "name": "staging"}).json()
    assert "isDefault" not in staging


def test_v025_rules_go_by_the_name_production(v025: DokployEmulator, api: httpx.Client) -> None:
    made = api.post("/api/project.create", json={"name": "demo"}).json()
    pid, default_id = made["project"]["projectId"], made["environment"]["environmentId"]
    create = api.post("/api/environment.create", json={"projectId": pid, "name": "production"})
    assert create.status_code == 400 and create.json()["message"] == "Environment name cannot be production"
    removed = api.post("/api/environment.remove", json={"environmentId": default_id})
    assert removed.status_code == 400 and removed.json()["message"] == "You cannot delete the production environment"
    same = api.post("/api/environment.update", json={"environmentId": default_id, "name": "production"})
    assert same.json()["message"] == "Error updating the environment: Environment name cannot be production"
    # Renaming the default away is accepted; then nothing is refused by name any more.
    renamed = api.post("/api/environment.update", json={"environmentId": default_id, "name": "old"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "old"
    assert api.post("/api/environment.remove", json={"environmentId": default_id}).status_code == 200


def test_undecryptable_env_hook(v025: DokployEmulator) -> None:
    project = v025.create_project("demo")
    with pytest.raises(ValueError, match="does not encrypt env at rest"):
        v025.store_undecryptable_env("project", project["projectId"])
    v025.version = "v0.29.12"
    ciphertext = v025.store_undecryptable_env("project", project["projectId"])
    assert ciphertext.startswith("enc:v1:")
    answer = httpx.get(
        v025.url + "/api/project.one", params={"projectId": project["projectId"]}, headers={"x-api-key": v025.api_key}
    )
    assert answer.status_code == 200 and answer.json()["env"] == ciphertext
