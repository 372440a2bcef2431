"""Every difference between Dokploy releases that the project/environment API shows, in one table.

Each `Difference` names the first release that has it (`since`). The client, the resources, the
emulator (`testing/_releases.py`) and the conformance suite (`tests/conformance/_contract.py`) all
read their version numbers from here; none keeps a copy. This module imports neither pulumi nor
httpx: the emulator imports it.

Where a release was read in Dokploy's source (the tagged tarballs of v0.25.11, v0.26.7 and v0.30.2)
or named in Dokploy's release notes (`../shared/dokploy-api.md`, Releases), `pinned` is True.
Otherwise the difference is only known to lie between the last release seen without it
(`seen_without`) and the first seen with it, and `since` is a placement inside those bounds, said
in `note`: a server after `seen_without` and before `seen_with` may behave either way on that
point (`known_at` says None there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "DEFAULT_ENVIRONMENT_DESCRIPTION",
    "DEFAULT_ENVIRONMENT_NAME",
    "DEFAULT_ENVIRONMENT_SINCE",
    "DIFFERENCES",
    "NO_DEFAULT_REASONS",
    "OLDEST_SUPPORTED",
    "Difference",
    "difference",
    "has",
    "known_at",
    "parse_version",
    "since",
]

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+.].*)?")


def parse_version(version: str) -> tuple[int, int, int]:
    """``"v0.30.2"`` -> ``(0, 30, 2)``; a ValueError names anything else."""
    match = _VERSION.fullmatch(version.strip()) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"not a Dokploy version: {version!r} (expected e.g. 'v0.30.2')")
    return (int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class Difference:
    """One change in what the API does, and the release that made it."""

    name: str
    #: The first release that behaves this way.
    since: str
    #: What changed (and, for the emulator, where in Dokploy's source).
    what: str
    #: True when `since` was read in Dokploy's source or release notes; False when it is a
    #: placement between `seen_without` and the first release seen with it (see `note`).
    pinned: bool = True
    #: The newest release known to behave the old way (for unpinned differences).
    seen_without: str = ""
    #: The oldest release known to behave the new way (for unpinned differences).
    seen_with: str = ""
    note: str = ""

    def known_at(self, version: str) -> Optional[bool]:
        """Whether release ``version`` behaves this way: True or False where that is known, None
        where it is not (an unpinned difference, after `seen_without` and before `seen_with`).

        `has` answers with the placement everywhere (the emulator must pick one); the conformance
        suite asks this, so that a server in the uncertain range may behave either way.
        """
        number = parse_version(version)
        if self.pinned or number >= parse_version(self.seen_with):
            return number >= parse_version(self.since)
        if number <= parse_version(self.seen_without):
            return False
        return None


# The framework upgrade (tRPC 10 -> 11, @dokploy/trpc-openapi 0.0.4 -> 0.0.18, zod 3 -> 4,
# drizzle-zod's derived input schemas -> hand-written ones, drizzle-orm's "Failed query" wrapping)
# is in v0.30.2 and not in v0.26.7. No release in between was available to read, so it is placed at
# v0.30.0, where Dokploy's release notes first describe the `data` error shape (dokploy-api.md).
_FRAMEWORK = "v0.30.0"
_FRAMEWORK_NOTE = (
    "seen in v0.30.2's source and not in v0.26.7's; no release in between was read, so it is "
    "placed at v0.30.0 with the framework upgrade (tRPC 11, trpc-openapi 0.0.18, zod 4) whose "
    "error shape the release notes place at v0.30.x"
)

DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "environments",
        "v0.25.0",
        "environments exist; project.create returns {project, environment} and makes 'production' "
        "(before: the bare project row and no environments)",
    ),
    Difference(
        "is_default",
        "v0.26.1",
        "environments carry an isDefault column (schema/environment.ts). Before it, the default "
        "environment is the one named 'production': environment.remove refuses that name ('You cannot "
        "delete the production environment'), environment.create/update refuse the new name "
        "'production' ('Environment name cannot be production'), and renaming 'production' away is not "
        "refused. From it on the rules go by isDefault: the default cannot be removed or renamed, and "
        "any environment may be named 'production'",
    ),
    Difference("search", "v0.28.3", "project.search and environment.search (before: the router's 404)"),
    Difference(
        "env_write_permission",
        "v0.28.7",
        "writing project/environment env needs projectEnvVars.write / environmentEnvVars.write (owners "
        "and admins have them)",
    ),
    Difference(
        "all_for_permissions",
        "v0.28.7",
        "project.allForPermissions (in v0.30.2's routers/project.ts, not in v0.26.7's)",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note="placed with the env-write permissions of v0.28.7, whose permission editor lists it",
    ),
    Difference(
        "tags",
        "v0.29.0",
        "tag.* procedures; project reads carry projectTags [{id, projectId, tagId, tag}]. A tag name used "
        "twice in an organization fails a unique index, which tag.create/update answer as CONFLICT only "
        "where the error's text names the index: with failed_query_errors (v0.30.2) it is a 400 "
        "'Error creating tag: Failed query: ...' (seen on the real server)",
    ),
    Difference(
        "no_redis",
        "v0.29.9",
        "the deployment queue is in memory: Redis is needed up to v0.29.8 only (no API change)",
    ),
    Difference(
        "env_encrypted",
        "v0.29.12",
        "project and environment env are encrypted at rest (AES-256-GCM, 'enc:v1:'); a value the server "
        "cannot decrypt is answered as its ciphertext with status 200 (schema/utils.ts encryptedText)",
    ),
    Difference(
        "slim_reads",
        "v0.29.14",
        "reads select columns: services nested in project.one / environment.byProjectId are slim (no "
        "env); environment.one has no createdAt; environment.byProjectId items and project.all's "
        "environments are short (services/environment.ts, services/project.ts)",
        note="the slim services are pinned by the release notes; the row columns are selected in the "
        "same queries in v0.30.2 (whole rows in v0.26.7) and are placed with them",
    ),
    Difference(
        "error_data",
        _FRAMEWORK,
        "error bodies carry data {code, httpStatus, path?, zodError, stack?} (tRPC 11 through "
        "trpc-openapi 0.0.18); before: {message, code, issues?}",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note=_FRAMEWORK_NOTE,
    ),
    Difference(
        "zod4",
        _FRAMEWORK,
        "zod 4 words the validation issues (zod 3 before)",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note=_FRAMEWORK_NOTE,
    ),
    Difference(
        "checks_content_type",
        _FRAMEWORK,
        "a POST without application/json is refused with 415 (trpc-openapi 0.0.18); before, what "
        "Next.js parsed is used as it is (a form body is accepted, other text spread by index)",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note=_FRAMEWORK_NOTE,
    ),
    Difference(
        "query_arrays",
        _FRAMEWORK,
        "a repeated query key reaches the schema as an array (trpc-openapi 0.0.18); before, the first value",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note=_FRAMEWORK_NOTE,
    ),
    Difference(
        "hand_written_schemas",
        _FRAMEWORK,
        "hand-written input schemas: environment.create/update/duplicate refuse a null description, "
        "environment.create an empty projectId, and environment.update no longer writes createdAt "
        "(before: drizzle-zod's createInsertSchema allowed all three)",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note=_FRAMEWORK_NOTE,
    ),
    Difference(
        "failed_query_errors",
        _FRAMEWORK,
        "database errors read 'Failed query: <sql>\\nparams: <values>' (drizzle-orm's wrapping); "
        "before, Postgres' own message ('... violates foreign key constraint ...')",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note=_FRAMEWORK_NOTE,
    ),
    Difference(
        "libsql",
        _FRAMEWORK,
        "libsql services: a libsql array on every environment, a selectedServices type of project.duplicate",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note="in v0.30.2's schema, not in v0.26.7's; placed with the framework upgrade",
    ),
    Difference(
        "duplicate_copies_env",
        _FRAMEWORK,
        "environment.duplicate copies the source's env (services/environment.ts duplicateEnvironment); before: ''",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note="in v0.30.2's source, not in v0.26.7's; placed with the framework upgrade",
    ),
    Difference(
        "remove_refuses_services",
        _FRAMEWORK,
        "environment.remove refuses an environment with services; before, the database cascades to them",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note="in v0.30.2's source, not in v0.26.7's; placed with the framework upgrade",
    ),
    Difference(
        "environment_one_shows_errors",
        _FRAMEWORK,
        "environment.one answers another organization's environment with 403; before, one catch-all "
        "answered every failure as 404 'Environment not found'",
        pinned=False,
        seen_without="v0.26.7",
        seen_with="v0.30.2",
        note="in v0.30.2's source, not in v0.26.7's; placed with the framework upgrade",
    ),
)

_BY_NAME = {d.name: d for d in DIFFERENCES}

#: The oldest release dokploy-pulumi supports (the first with environments).
OLDEST_SUPPORTED = _BY_NAME["environments"].since
#: The first release with an isDefault column; before it the default environment goes by name.
DEFAULT_ENVIRONMENT_SINCE = _BY_NAME["is_default"].since
#: The name of the environment `project.create` makes (createProductionEnvironment); before
#: DEFAULT_ENVIRONMENT_SINCE it is what makes an environment the default. Here, not in `_models`,
#: because the emulator and the program side follow the same rule and must not import pydantic.
DEFAULT_ENVIRONMENT_NAME = "production"
#: Its description as `project.create` writes it; the provider writes it back when it lets go of one.
DEFAULT_ENVIRONMENT_DESCRIPTION = "Production environment"
#: Why a project can have no default environment (for errors that find none).
NO_DEFAULT_REASONS = (
    f"servers before {OLDEST_SUPPORTED} have no environments, a project.create may have been interrupted, "
    f"and before {DEFAULT_ENVIRONMENT_SINCE} (no isDefault column) the default is the environment named "
    f"{DEFAULT_ENVIRONMENT_NAME!r}, so renaming it leaves none"
)


def difference(name: str) -> Difference:
    """The difference called ``name`` (a KeyError names an unknown one)."""
    return _BY_NAME[name]


def since(name: str) -> str:
    """The release that introduced difference ``name``."""
    return _BY_NAME[name].since


def has(version: str, name: str) -> bool:
    """Whether release ``version`` behaves as difference ``name`` describes."""
    return parse_version(version) >= parse_version(_BY_NAME[name].since)


def known_at(version: str, name: str) -> Optional[bool]:
    """What release ``version`` is known to do about difference ``name``: None where the table
    cannot say (see `Difference.known_at`)."""
    return _BY_NAME[name].known_at(version)
