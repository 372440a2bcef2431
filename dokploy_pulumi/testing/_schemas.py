"""The input schema of every emulated procedure, per release.

v0.30.2 writes them by hand (``packages/server/src/db/schema/{project,environment}.ts`` and inline
``z.object``s in ``apps/dokploy/server/api/routers/{project,environment}.ts``). v0.26.7 derives most
from the tables with drizzle-zod's ``createInsertSchema``, which makes a nullable column's field
accept null and lets ``environment.update`` write any column but ``isDefault``.
"""

from __future__ import annotations

from ._releases import Release
from ._services import SERVICE_TYPES, service_type_names
from ._validation import Field

__all__ = ["QUERIES", "schemas_for"]

#: Queries are GET, mutations POST (trpc-openapi maps them so).
QUERIES = frozenset(
    {
        "settings.getDokployVersion",
        "server.getServerTime",
        "project.one",
        "project.all",
        "project.allForPermissions",
        "project.search",
        "environment.one",
        "environment.byProjectId",
        "environment.search",
        "tag.all",
        "tag.one",
        *(f"{kind}.one" for kind in SERVICE_TYPES),
    }
)

_S = Field
_SEARCH = (
    _S("q", required=False),
    _S("name", required=False),
    _S("description", required=False),
    _S("limit", "number", minimum=1, maximum=100, default=20),
    _S("offset", "number", minimum=0, default=0),
)


def schemas_for(release: Release) -> dict[str, tuple[Field, ...]]:
    """Procedure name -> input shape, for the procedures ``release`` has."""
    legacy = release.drizzle_zod_schemas
    env_description = _S("description", required=False, nullable=legacy)
    schemas: dict[str, tuple[Field, ...]] = {
        "settings.getDokployVersion": (),
        "server.getServerTime": (),
        "project.create": (
            _S("name", min_length=1),
            _S("description", required=False, nullable=True),
            _S("env", required=False),
        ),
        "project.one": (_S("projectId", min_length=1),),
        "project.all": (),
        "project.update": (
            _S("projectId", min_length=1),
            _S("name", required=False, min_length=1),
            _S("description", required=False, nullable=True),
            _S("createdAt", required=False),
            _S("organizationId", required=False),
            _S("env", required=False),
        ),
        "project.remove": (_S("projectId", min_length=1),),
        "project.duplicate": (
            _S("sourceEnvironmentId"),
            _S("name"),
            _S("description", required=False),
            _S("includeServices", "boolean", default=True),
            _S("selectedServices", "services", required=False, options=service_type_names(release)),
            _S("duplicateInSameProject", "boolean", default=False),
        ),
        "environment.create": (
            _S("name", min_length=1),
            env_description,
            _S("projectId", min_length=None if legacy else 1),
        ),
        "environment.one": (_S("environmentId", min_length=1),),
        "environment.byProjectId": (_S("projectId"),),
        "environment.update": (
            _S("environmentId", min_length=1),
            _S("name", required=False, min_length=1),
            env_description,
            *((_S("createdAt", required=False),) if legacy else ()),
            _S("env", required=False),
            _S("projectId", required=False),
        ),
        "environment.remove": (_S("environmentId", min_length=1),),
        "environment.duplicate": (
            _S("environmentId", min_length=1),
            _S("name", min_length=1),
            env_description,
        ),
    }
    if release.tags:
        # schema/tag.ts and routers/tag.ts. tag.update's input is the insert schema made partial
        # (organizationId, createdAt... accepted), but the handler only sets name and color. A null
        # color is accepted by both (v0.30.2: the nullable column's field stays nullable).
        color = _S("color", required=False, nullable=True)
        schemas["tag.create"] = (_S("name", min_length=1), color)
        schemas["tag.all"] = ()
        schemas["tag.one"] = (_S("tagId", min_length=1),)
        schemas["tag.update"] = (
            _S("tagId", min_length=1),
            _S("name", required=False, min_length=1),
            color,
        )
        schemas["tag.remove"] = (_S("tagId", min_length=1),)
        link = (_S("projectId", min_length=1), _S("tagId", min_length=1))
        schemas["tag.assignToProject"] = link
        schemas["tag.removeFromProject"] = link
        schemas["tag.bulkAssign"] = (_S("projectId", min_length=1), _S("tagIds", "strings", min_length=1))
    for kind in SERVICE_TYPES.values():
        if kind.type != "libsql" or release.libsql:
            schemas[f"{kind.type}.one"] = (_S(kind.id_key, min_length=1),)
    schemas["application.create"] = (
        _S("name", min_length=1),
        _S("appName", required=False),
        _S("description", required=False, nullable=legacy),
        _S("environmentId"),
        _S("serverId", required=False, nullable=True),
    )
    # `.required()` over the columns: on v0.30.2 the three texts must be sent; with the older
    # framework (seen on v0.26.7, placed with the same upgrade) they may be left out or null, and an
    # absent one is not written. createEnvFile: v0.25.11 has no such column; not modelled, accepted
    # either way (an unknown key is dropped).
    schemas["application.saveEnvironment"] = (
        _S("applicationId", min_length=1),
        *(_S(column, required=not legacy, nullable=legacy) for column in ("env", "buildArgs", "buildSecrets")),
        _S("createEnvFile", "boolean", required=False),
    )
    if release.all_for_permissions:
        schemas["project.allForPermissions"] = ()
    if release.search:
        schemas["project.search"] = _SEARCH
        schemas["environment.search"] = (*_SEARCH[:3], _S("projectId", required=False), *_SEARCH[3:])
    return schemas
