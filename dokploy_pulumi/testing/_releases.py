"""The behaviour profile of the Dokploy release the emulator imitates.

Every flag is read from the one release table, ``dokploy_pulumi._releases`` (each difference at
the release that made it, with its source and, where it could not be pinned, its bounds): any
version string gets the profile of what that table says it has. Three releases were compared
answer by answer with real servers built from their source: v0.25.11, v0.26.7 and v0.30.2.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._releases import has, parse_version

__all__ = ["DEFAULT_VERSION", "TESTED_VERSIONS", "Release", "parse_version"]

DEFAULT_VERSION = "v0.30.2"
#: The releases checked against real servers (the real tier runs on each).
TESTED_VERSIONS = ("v0.30.2", "v0.26.7", "v0.25.11")


@dataclass(frozen=True)
class Release:
    """The behaviour of one Dokploy release, as far as the project/environment API shows it.

    Each flag is the difference of the same name in ``dokploy_pulumi._releases``.
    """

    #: What ``settings.getDokployVersion`` answers.
    version: str
    #: Environments carry ``isDefault``; without it the default is the one named "production" and
    #: the rules go by that name.
    is_default_column: bool
    #: Error bodies carry ``data: {code, httpStatus, path?, zodError, stack?}``.
    error_data: bool
    #: 4 or 3: the zod major version, which decides the fields and wording of validation issues.
    zod: int
    #: ``project.search`` / ``environment.search`` exist.
    search: bool
    #: ``project.allForPermissions`` exists.
    all_for_permissions: bool
    #: Project reads carry ``projectTags``.
    tags: bool
    #: ``env`` is encrypted at rest: a value the server cannot decrypt is answered as ciphertext.
    env_encrypted: bool
    #: libsql services exist (a ``libsql`` array, a ``selectedServices`` type).
    libsql: bool
    #: A POST without ``application/json`` is refused with 415.
    checks_content_type: bool
    #: A repeated query key reaches the schema as an array.
    query_arrays: bool
    #: Database errors read ``Failed query: <sql>\nparams: <values>``.
    failed_query_errors: bool
    #: Reads select columns (slim services, no ``createdAt`` in ``environment.one``, short items).
    slim_reads: bool
    #: ``environment.duplicate`` copies the source's ``env``.
    duplicate_copies_env: bool
    #: ``environment.remove`` refuses an environment holding services.
    remove_refuses_services: bool
    #: ``environment.one`` answers every failure as 404 "Environment not found".
    environment_one_hides_errors: bool
    #: drizzle-zod's insert schemas: null environment ``description``, empty ``projectId`` on
    #: ``environment.create``, ``createdAt`` written by ``environment.update``.
    drizzle_zod_schemas: bool

    @classmethod
    def of(cls, version: str) -> Release:
        """The profile for ``version``, from the release table."""
        parse_version(version)  # a ValueError names a malformed version

        def at(name: str) -> bool:
            return has(version, name)

        return cls(
            version=version,
            is_default_column=at("is_default"),
            error_data=at("error_data"),
            zod=4 if at("zod4") else 3,
            search=at("search"),
            all_for_permissions=at("all_for_permissions"),
            tags=at("tags"),
            env_encrypted=at("env_encrypted"),
            libsql=at("libsql"),
            checks_content_type=at("checks_content_type"),
            query_arrays=at("query_arrays"),
            failed_query_errors=at("failed_query_errors"),
            slim_reads=at("slim_reads"),
            duplicate_copies_env=at("duplicate_copies_env"),
            remove_refuses_services=at("remove_refuses_services"),
            environment_one_hides_errors=not at("environment_one_shows_errors"),
            drizzle_zod_schemas=not at("hand_written_schemas"),
        )
