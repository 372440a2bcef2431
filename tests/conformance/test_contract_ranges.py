"""The contract's "either" is real: inside an unpinned difference's range the conformance checks
accept the behaviour the emulator does not place there, and outside it they refuse it.

Each case builds its own emulator whose release profile has one unpinned difference flipped (the
emulator must place each difference at one release; a real server in the range may have it or
not) and runs conformance tests that depend on that difference, as they are, against it. Inside
the range (v0.27.0 with the new behaviour, v0.30.1 with the old one) they pass; at the releases
the table decides (v0.26.7 with the new one, v0.30.2 with the old one) they fail.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import test_conformance_environments as environments
import test_conformance_permissions as permissions
import test_conformance_transport as transport
from _contract import Release

from dokploy_pulumi import DokployClient
from dokploy_pulumi._releases import difference, known_at
from dokploy_pulumi.testing import DokployEmulator
from dokploy_pulumi.testing import Release as Profile

pytestmark = pytest.mark.hook  # its own emulators, with a flipped profile: nothing to run against a real server

KEY = "dkp-contract-ranges-secret-key-0123456789"


@dataclasses.dataclass
class Server:
    emulator: DokployEmulator
    client: DokployClient
    raw: httpx.Client
    prefix: str
    others: list[DokployClient] = dataclasses.field(default_factory=list)

    def other(self) -> DokployClient:
        """A client whose key belongs to a second organization (closed when the check ends)."""
        key = "dpr-other-org-" + secrets.token_hex(8)
        self.emulator.add_api_key(key)
        self.others.append(DokployClient(self.emulator.url, key, timeout=60.0, max_retries=0))
        return self.others[-1]

    def project(self) -> Any:
        return self.client.project.create(self.prefix + "envs", description="holder", env="P=1")


def _missing_id() -> str:
    return "zz" + secrets.token_hex(10)[:19]


# (the table's difference, the emulator profile's field and its value when the difference is had,
#  the conformance tests that depend on it, called with the fixtures they take)
Check = Callable[[Server, Release], None]
CASES: list[tuple[str, str, bool, list[Check]]] = [
    (
        "duplicate_copies_env",
        "duplicate_copies_env",
        True,
        [lambda s, r: environments.test_duplicate_makes_a_row_in_the_same_project(s.client, s.project(), s.prefix, r)],
    ),
    (
        "failed_query_errors",
        "failed_query_errors",
        True,
        [lambda s, r: environments.test_create_on_unknown_project_is_not_found(s.client, _missing_id(), s.prefix, r)],
    ),
    (
        "hand_written_schemas",
        "drizzle_zod_schemas",
        False,
        [
            lambda s, r: environments.test_update_of_created_at(s.client, s.project(), s.prefix, r),
            lambda s, r: environments.test_create_description_dialects(s.client, s.project(), s.prefix, r),
            lambda s, r: environments.test_duplicate_with_a_null_description(s.client, s.project(), s.prefix, r),
            lambda s, r: environments.test_create_with_an_empty_project_id(s.client, s.prefix, r, s.raw),
        ],
    ),
    (
        "error_data",
        "error_data",
        True,
        [lambda s, r: transport.test_a_procedures_own_errors_name_it_where_the_release_can(s.raw, _missing_id(), r)],
    ),
    (
        "query_arrays",
        "query_arrays",
        True,
        [lambda s, r: transport.test_a_repeated_query_key(s.raw, _missing_id(), r)],
    ),
    (
        "environment_one_shows_errors",
        "environment_one_hides_errors",
        False,
        [
            lambda s, r: permissions.test_another_organizations_environment(
                s.client, s.other(), lambda suffix: s.client.project.create(s.prefix + suffix), s.prefix, r
            )
        ],
    ),
    (
        "checks_content_type",
        "checks_content_type",
        True,
        [lambda s, r: transport.test_a_form_body(s.raw, s.prefix, r, lambda project_id: project_id)],
    ),
]


def _run(version: str, field: str, value: bool, check: Check) -> Release:
    """Run `check` against an emulator of `version` whose `field` is `value`; the contract it used."""
    with DokployEmulator(api_key=KEY, version=version) as emu:
        # The emulator has no public way to change one flag: its profile is the table's placement.
        emu._router.release = dataclasses.replace(Profile.of(version), **{field: value})
        client = DokployClient(emu.url, emu.api_key, timeout=60.0, max_retries=2, backoff=0.01, max_backoff=0.1)
        with client, httpx.Client(base_url=emu.url + "/api/", headers={"x-api-key": emu.api_key}) as raw:
            contract = Release(version)
            server = Server(emu, client, raw, f"dpr-{secrets.token_hex(3)}-")
            try:
                check(server, contract)
            finally:
                for other in server.others:
                    other.close()
            return contract


def _cases() -> list[Any]:
    return [
        pytest.param(name, field, had, check, id=f"{name}-{i}")
        for name, field, had, checks in CASES
        for i, check in enumerate(checks)
    ]


#: What a failed check raises: an assertion, or pytest.raises' Failed.
MISS = (AssertionError, pytest.fail.Exception)


@pytest.mark.parametrize(("name", "field", "had", "check"), _cases())
def test_inside_the_range_either_behaviour_passes(name: str, field: str, had: bool, check: Check) -> None:
    assert not difference(name).pinned
    # v0.27.0: the emulator places the old behaviour there; given the new one, the checks pass.
    assert getattr(Profile.of("v0.27.0"), field) is not had and known_at("v0.27.0", name) is None
    assert _run("v0.27.0", field, had, check).settled[name] is True
    # v0.30.1: placed new; given the old one, the checks pass too.
    assert getattr(Profile.of("v0.30.1"), field) is had and known_at("v0.30.1", name) is None
    assert _run("v0.30.1", field, not had, check).settled[name] is False
    # As placed, v0.29.13 behaves the old way, and that is what the checks saw.
    assert _run("v0.29.13", field, getattr(Profile.of("v0.29.13"), field), check).settled[name] is False


@pytest.mark.parametrize(("name", "field", "had", "check"), _cases())
def test_outside_the_range_only_the_tables_behaviour_passes(name: str, field: str, had: bool, check: Check) -> None:
    diff = difference(name)
    # v0.26.7 is the last release seen without it: the new behaviour there is refused ...
    assert diff.seen_without == "v0.26.7" and known_at("v0.26.7", name) is False
    with pytest.raises(MISS):
        _run("v0.26.7", field, had, check)
    # ... and v0.30.2, the first seen with it, refuses the old one.
    assert diff.seen_with == "v0.30.2" and known_at("v0.30.2", name) is True
    with pytest.raises(MISS):
        _run("v0.30.2", field, not had, check)
    # Unflipped, both pass, and nothing is "settled": the table decided.
    assert _run("v0.26.7", field, not had, check).settled == {}
    assert _run("v0.30.2", field, had, check).settled == {}
