"""What differs between the Dokploy releases the emulator imitates, in one place.

Two releases were compared, answer by answer, with real servers built from their source:
v0.30.2 (tRPC 11, @dokploy/trpc-openapi 0.0.18, zod 4) and v0.26.7 (tRPC 10, trpc-openapi 0.0.4,
zod 3, drizzle-zod's ``createInsertSchema`` for the input schemas). Every flag below names one
difference and where it comes from in Dokploy's source. Any other version string takes the
profile of the tested release on its side of v0.28.0, the release that added ``project.search``
and ``environment.search``: the flags are only *known* at the two tested points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_VERSION", "TESTED_VERSIONS", "Release", "parse_version"]

DEFAULT_VERSION = "v0.30.2"
TESTED_VERSIONS = ("v0.30.2", "v0.26.7")

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+.].*)?")


def parse_version(version: str) -> tuple[int, int, int]:
    """``"v0.30.2"`` -> ``(0, 30, 2)``; a ValueError names anything else."""
    match = _VERSION.fullmatch(version.strip()) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"not a Dokploy version: {version!r} (expected e.g. 'v0.30.2')")
    return (int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class Release:
    """The behaviour of one Dokploy release, as far as the project/environment API shows it."""

    #: What ``settings.getDokployVersion`` answers.
    version: str
    #: Error bodies carry ``data: {code, httpStatus, path?, zodError, stack?}`` (tRPC 11's error
    #: shape through trpc-openapi 0.0.18); v0.26.7 sends ``{message, code, issues?}`` only.
    error_data: bool
    #: 4 or 3: the zod major version, which decides the fields and wording of validation issues.
    zod: int
    #: ``project.search`` / ``environment.search`` exist (added in v0.28.0).
    search: bool
    #: ``project.allForPermissions`` exists (absent from v0.26.7's routers/project.ts).
    all_for_permissions: bool
    #: libsql services exist: a ``libsql`` array on every environment and a ``selectedServices``
    #: type of ``project.duplicate`` (v0.30.2's schema/libsql.ts; v0.26.7 has none).
    libsql: bool
    #: A POST without ``application/json`` is refused with 415 (trpc-openapi 0.0.18's
    #: ``UNSUPPORTED_MEDIA_TYPE``). Without it (0.0.4) the body Next.js parsed is used as it is:
    #: a form body is accepted, any other text is spread by character index.
    checks_content_type: bool
    #: A repeated query key (``?a=1&a=2``) reaches the schema as an array (0.0.18); 0.0.4 keeps
    #: only the first value.
    query_arrays: bool
    #: Database errors read ``Failed query: <sql>\nparams: <values>`` (v0.30.2's drizzle wraps
    #: them); v0.26.7 passes Postgres' own message (``... violates foreign key constraint ...``).
    failed_query_errors: bool
    #: Reads select columns: ``environment.one`` has no ``createdAt``, ``environment.byProjectId``
    #: items and ``project.all``'s environments are short, services show a few columns, and
    #: ``projectTags`` is attached to projects. v0.26.7 returns whole rows and no ``projectTags``.
    slim_reads: bool
    #: ``environment.duplicate`` copies the source's ``env`` (v0.30.2's services/environment.ts
    #: ``duplicateEnvironment``; v0.26.7 leaves it "").
    duplicate_copies_env: bool
    #: ``environment.remove`` refuses an environment holding services (v0.30.2); v0.26.7 deletes it
    #: and the database cascades to its services.
    remove_refuses_services: bool
    #: ``environment.one`` answers every failure, another organization's environment included, as
    #: 404 "Environment not found" (v0.26.7 wraps its whole handler); v0.30.2 answers 403 for that.
    environment_one_hides_errors: bool
    #: drizzle-zod's insert schemas (v0.26.7): ``environment.create/update/duplicate`` accept a null
    #: ``description``, ``environment.create`` an empty ``projectId``, and ``environment.update``
    #: writes ``createdAt``. v0.30.2's hand-written schemas refuse all three.
    drizzle_zod_schemas: bool

    @classmethod
    def of(cls, version: str) -> Release:
        """The profile for ``version`` (see the module docstring for untested versions)."""
        modern = parse_version(version) >= (0, 28, 0)
        return cls(
            version=version,
            error_data=modern,
            zod=4 if modern else 3,
            search=modern,
            all_for_permissions=modern,
            libsql=modern,
            checks_content_type=modern,
            query_arrays=modern,
            failed_query_errors=modern,
            slim_reads=modern,
            duplicate_copies_env=modern,
            remove_refuses_services=modern,
            environment_one_hides_errors=not modern,
            drizzle_zod_schemas=not modern,
        )
