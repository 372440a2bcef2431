"""What each Dokploy release's contract says where releases differ, for the conformance suite.

`Release` is the server under test (`target.release`); its properties name each difference, read
from the one release table (`dokploy_pulumi._releases`). The helpers build the answers that differ only in shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dokploy_pulumi._releases import has, parse_version

__all__ = ["Release", "router_404_body", "without_stack"]


@dataclass(frozen=True)
class Release:
    """What the server under test is, and what that means for the contract.

    Every property is a difference of the one release table, `dokploy_pulumi._releases`, at the
    release that made it (where it could not be pinned, the table says so and gives its bounds).
    Three releases were checked against real servers: v0.25.11, v0.26.7 and v0.30.2.
    """

    version: str

    @property
    def number(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    def has(self, difference: str) -> bool:
        return has(self.version, difference)

    # -- the procedures and columns it has --------------------------------------------------------
    @property
    def has_search(self) -> bool:
        """`project.search` / `environment.search`; older: the router's 404."""
        return self.has("search")

    @property
    def has_all_for_permissions(self) -> bool:
        return self.has("all_for_permissions")

    @property
    def has_is_default(self) -> bool:
        """An `isDefault` column; before it the default is the environment named "production"."""
        return self.has("is_default")

    @property
    def has_tags(self) -> bool:
        """Project reads carry `projectTags`."""
        return self.has("tags")

    @property
    def environment_keys(self) -> frozenset[str]:
        """The columns of an environment row."""
        keys = {"environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault"}
        return frozenset(keys if self.has_is_default else keys - {"isDefault"})

    @property
    def service_arrays(self) -> tuple[str, ...]:
        """The service arrays attached to environments."""
        base = ("applications", "compose", "mariadb", "mongo", "mysql", "postgres", "redis")
        return (*base, "libsql") if self.has("libsql") else base

    # -- how it answers ---------------------------------------------------------------------------
    @property
    def error_has_data(self) -> bool:
        """`{message, code, data{code, httpStatus, path?, zodError}, issues?}`; older: `{message, code, issues?}`."""
        return self.has("error_data")

    @property
    def zod(self) -> int:
        """The zod major version that words validation issues."""
        return 4 if self.has("zod4") else 3

    @property
    def checks_content_type(self) -> bool:
        """415 to a POST without `application/json`; older: whatever Next.js parsed is used."""
        return self.has("checks_content_type")

    @property
    def failed_query_errors(self) -> bool:
        """Database errors read drizzle's "Failed query: <sql>"; older: Postgres' own message."""
        return self.has("failed_query_errors")

    @property
    def hand_written_schemas(self) -> bool:
        """Hand-written input schemas; older: drizzle-zod's, which accept a null environment
        `description`, an empty `projectId` and let `environment.update` write `createdAt`."""
        return self.has("hand_written_schemas")

    @property
    def null_environment_description(self) -> bool:
        """drizzle-zod's schemas accept a null environment `description` (it clears)."""
        return not self.hand_written_schemas

    @property
    def query_arrays(self) -> bool:
        """A repeated query key reaches the schema as an array; older: the first value."""
        return self.has("query_arrays")

    @property
    def environment_one_shows_errors(self) -> bool:
        """`environment.one` answers another organization's environment with 403; older: 404."""
        return self.has("environment_one_shows_errors")

    @property
    def slim_reads(self) -> bool:
        """Reads select columns: no `createdAt` in `environment.one`, short `environment.byProjectId`
        items and `project.all` environments, slim services; older: whole rows."""
        return self.has("slim_reads")

    @property
    def duplicate_copies_env(self) -> bool:
        """`environment.duplicate` copies the source's `env`; older: ""."""
        return self.has("duplicate_copies_env")

    @property
    def remove_refuses_services(self) -> bool:
        """`environment.remove` refuses an environment with services; older: deletes them too."""
        return self.has("remove_refuses_services")


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
