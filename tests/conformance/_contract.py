"""What each Dokploy release's contract says where releases differ, for the conformance suite.

`Release` is the server under test (`target.release`); its properties name each difference and
say what the two checked releases do. The helpers build the answers that differ only in shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Release", "router_404_body", "without_stack"]


@dataclass(frozen=True)
class Release:
    """What the server under test is, and what that means for the contract.

    Two releases were checked against real servers: v0.30.2 and v0.26.7. `project.search` and
    `environment.search` exist since v0.28.0; every other difference below
    is only known at those two points, and is placed at v0.28.0 too until a release in between
    is checked.
    """

    version: str

    @property
    def number(self) -> tuple[int, int, int]:
        match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+).*", self.version)
        assert match, f"unexpected version {self.version!r}"
        return (int(match[1]), int(match[2]), int(match[3]))

    def at_least(self, version: str) -> bool:
        return self.number >= Release(version).number

    @property
    def modern(self) -> bool:
        return self.at_least("v0.28.0")

    # -- the procedures it has --------------------------------------------------------------------
    @property
    def has_search(self) -> bool:
        """`project.search` / `environment.search` (v0.28.0+); older: the router's 404."""
        return self.at_least("v0.28.0")

    @property
    def has_all_for_permissions(self) -> bool:
        """`project.allForPermissions`: in v0.30.2, not in v0.26.7."""
        return self.modern

    # -- how it answers ---------------------------------------------------------------------------
    @property
    def error_has_data(self) -> bool:
        """v0.30.2 errors: `{message, code, data{code, httpStatus, path?, zodError}, issues?}`;
        v0.26.7: `{message, code, issues?}`."""
        return self.modern

    @property
    def zod(self) -> int:
        """The zod major version that words validation issues (4 on v0.30.2, 3 on v0.26.7)."""
        return 4 if self.modern else 3

    @property
    def checks_content_type(self) -> bool:
        """v0.30.2 answers 415 to a POST without `application/json`; v0.26.7 uses whatever Next.js
        parsed (a form body is accepted, other text spread into junk keys)."""
        return self.modern

    @property
    def service_arrays(self) -> tuple[str, ...]:
        """The service arrays attached to environments (libsql exists on v0.30.2 only)."""
        base = ("applications", "compose", "mariadb", "mongo", "mysql", "postgres", "redis")
        return (*base, "libsql") if self.modern else base

    @property
    def slim_reads(self) -> bool:
        """v0.30.2's reads select columns (no `createdAt` in `environment.one`, short
        `environment.byProjectId` items and `project.all` environments, `projectTags`);
        v0.26.7 returns whole rows."""
        return self.modern

    @property
    def null_environment_description(self) -> bool:
        """v0.26.7's drizzle-zod schemas accept a null environment `description` (it clears);
        v0.30.2 refuses it (400)."""
        return not self.modern

    @property
    def duplicate_copies_env(self) -> bool:
        """`environment.duplicate` copies the source's `env` on v0.30.2; v0.26.7 leaves it ""."""
        return self.modern

    @property
    def remove_refuses_services(self) -> bool:
        """v0.30.2 refuses to remove an environment with services; v0.26.7 deletes them too."""
        return self.modern


def router_404_body(release: Release) -> dict[str, Any]:
    """The router's answer to an unknown procedure or a wrong method, as each release sends it."""
    if release.error_has_data:
        return {
            "message": "Not found",
            "code": "NOT_FOUND",
            "data": {"code": "NOT_FOUND", "httpStatus": 404, "zodError": None},
        }
    return {"message": "Not found", "code": "NOT_FOUND"}


def without_stack(body: Any) -> Any:
    """An error body without `data.stack` (dev-mode servers add it; production builds do not)."""
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        return {**body, "data": {k: v for k, v in body["data"].items() if k != "stack"}}
    return body
