"""What each Dokploy release's contract says where releases differ, for the conformance suite.

`Release` is the server under test (`target.release`); its properties name each difference, read
from the one release table (`dokploy_pulumi._releases`). The helpers build the answers that differ only in shape.

Where the table is uncertain (an unpinned difference, for a release between the last one seen
without it and the first one seen with it) the contract is "either": a property says None, and
the assertions that depend on it go through `Release.expect`, which accepts exactly the old or
the new behaviour, each checked in full. Outside those ranges (and so at v0.25.11, v0.26.7 and
v0.30.2) every property is a bool and `expect` asserts exactly one behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from dokploy_pulumi import DokployError
from dokploy_pulumi._releases import known_at, parse_version

__all__ = ["Outcome", "Release", "attempt", "equal", "expect_router_404", "router_404_body", "without_stack"]

BASE_SERVICE_ARRAYS = ("applications", "compose", "mariadb", "mongo", "mysql", "postgres", "redis")


@dataclass(frozen=True)
class Release:
    """What the server under test is, and what that means for the contract.

    Every property is a pinned difference of the one release table, `dokploy_pulumi._releases`,
    at the release that made it. The unpinned ones are asked through `known` / `expect`, which say
    "either" (None) inside their bounds. Three releases were checked against real servers:
    v0.25.11, v0.26.7 and v0.30.2; at each, every difference is decided.
    """

    version: str
    #: What the server was seen to do about an uncertain difference (first `expect` that decided
    #: it): one server behaves one way, so every later check of that difference asserts that way.
    settled: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def number(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    def known(self, difference: str) -> Optional[bool]:
        """True/False where the table (or an earlier check on this server) decides; None: either."""
        answer = known_at(self.version, difference)
        return self.settled.get(difference) if answer is None else answer

    def has(self, difference: str) -> bool:
        """A difference the table decides at this release (a pinned one; an error otherwise)."""
        answer = known_at(self.version, difference)
        if answer is None:
            raise AssertionError(f"the table cannot say whether {self.version} has {difference!r}: use expect()")
        return answer

    def expect(self, difference: str, *, new: Callable[[], object], old: Callable[[], object]) -> bool:
        """Check the behaviour this release has: `new` where it has `difference`, `old` where not.

        Where the table says either, the one of the two that holds (and it is remembered for this
        server); when neither does, the failure names both. The checks must not change the server
        (they look at answers already obtained, e.g. through `attempt`), since both may run.
        Returns which behaviour was asserted (True: the new one).
        """
        answer = self.known(difference)
        if answer is not None:
            (new if answer else old)()
            return answer
        misses: list[BaseException] = []
        for behaviour, check in ((True, new), (False, old)):
            try:
                check()
            except (Exception, pytest.fail.Exception) as miss:  # a check is pure: any failure is a miss
                misses.append(miss)
                continue
            self.settled[difference] = behaviour
            return behaviour
        raise AssertionError(
            f"{self.version} may behave either way on {difference!r}, and does neither: "
            f"new behaviour: {misses[0]!r}; old behaviour: {misses[1]!r}"
        )

    def with_service_arrays(self, check: Callable[[tuple[str, ...]], object]) -> tuple[str, ...]:
        """`check(arrays)` with the service arrays attached to environments (libsql's or not)."""
        with_libsql = (*BASE_SERVICE_ARRAYS, "libsql")
        has_libsql = self.expect("libsql", new=lambda: check(with_libsql), old=lambda: check(BASE_SERVICE_ARRAYS))
        return with_libsql if has_libsql else BASE_SERVICE_ARRAYS

    # -- the pinned differences: one behaviour at every release ----------------------------------
    # The unpinned ones have no property: their assertions go through `expect` (by the table's
    # name: error_data, zod4, checks_content_type, query_arrays, hand_written_schemas,
    # failed_query_errors, libsql, duplicate_copies_env, remove_refuses_services,
    # environment_one_shows_errors, all_for_permissions), so none can read "either" as False.
    @property
    def has_search(self) -> bool:
        """`project.search` / `environment.search`; older: the router's 404."""
        return self.has("search")

    @property
    def has_is_default(self) -> bool:
        """An `isDefault` column; before it the default is the environment named "production"."""
        return self.has("is_default")

    @property
    def has_tags(self) -> bool:
        """Project reads carry `projectTags`."""
        return self.has("tags")

    @property
    def slim_reads(self) -> bool:
        """Reads select columns: no `createdAt` in `environment.one`, short `environment.byProjectId`
        items and `project.all` environments, slim services; older: whole rows."""
        return self.has("slim_reads")

    @property
    def environment_keys(self) -> frozenset[str]:
        """The columns of an environment row."""
        keys = {"environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault"}
        return frozenset(keys if self.has_is_default else keys - {"isDefault"})


@dataclass(frozen=True)
class Outcome:
    """What one call did: its value, or the DokployError it raised (for checks that run twice)."""

    value: Any = None
    error: Optional[DokployError] = None


def attempt(call: Callable[[], Any]) -> Outcome:
    """Make the call once, keeping its value or its DokployError for `Release.expect`'s checks."""
    try:
        return Outcome(value=call())
    except DokployError as error:
        return Outcome(error=error)


def router_404_body(with_data: bool) -> dict[str, Any]:
    """The router's answer to an unknown procedure or a wrong method (`with_data`: error_data's shape)."""
    if with_data:
        return {
            "message": "Not found",
            "code": "NOT_FOUND",
            "data": {"code": "NOT_FOUND", "httpStatus": 404, "zodError": None},
        }
    return {"message": "Not found", "code": "NOT_FOUND"}


def expect_router_404(release: Release, body: Any) -> None:
    """`body` (without `data.stack`) is the router's 404 as this release words it."""
    release.expect(
        "error_data",
        new=lambda: equal(without_stack(body), router_404_body(True)),
        old=lambda: equal(without_stack(body), router_404_body(False)),
    )


def equal(got: Any, expected: Any) -> None:
    assert got == expected


def without_stack(body: Any) -> Any:
    """An error body without `data.stack` (dev-mode servers add it; production builds do not)."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return {**body, "data": {k: v for k, v in body["data"].items() if k != "stack"}}
    return body
