"""The emulator's in-memory Dokploy: data model, input validation and procedure logic.

Everything here mimics Dokploy v0.30.2 as described in ``/work/shared/dokploy-api.md``
and as read from its source (``apps/dokploy/server/api/routers/{project,environment}.ts``,
``packages/server/src/services/{project,environment}.ts``). The HTTP layer
(``_server.py``) only translates between HTTP and :meth:`State.call`.

One :class:`threading.RLock` guards all data, so procedures are atomic with respect to
each other (the real server is not always: see ``project.duplicate``).
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

__all__ = [
    "DEFAULT_VERSION",
    "SERVICE_TYPES",
    "State",
    "TRPCError",
    "ValidationFailed",
    "new_id",
]

DEFAULT_VERSION = "v0.30.2"

_NANOID_ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"


def new_id(size: int = 21) -> str:
    """A nanoid: what Dokploy uses for every primary key (``nanoid()``, 21 url-safe chars)."""
    return "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(size))


# ---------------------------------------------------------------------------
# Errors


#: tRPC's TRPC_ERROR_CODE_HTTP_STATUS (used by @dokploy/trpc-openapi for the status).
HTTP_STATUS: dict[str, int] = {
    "PARSE_ERROR": 400,
    "BAD_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_SUPPORTED": 405,
    "TIMEOUT": 408,
    "CONFLICT": 409,
    "PRECONDITION_FAILED": 412,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "UNPROCESSABLE_CONTENT": 422,
    "TOO_MANY_REQUESTS": 429,
    "CLIENT_CLOSED_REQUEST": 499,
    "INTERNAL_SERVER_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "BAD_GATEWAY": 502,
    "SERVICE_UNAVAILABLE": 503,
    "GATEWAY_TIMEOUT": 504,
}


class TRPCError(Exception):
    """A ``TRPCError`` as thrown by a Dokploy handler; ``_server`` renders the tRPC shape."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)


class _DatabaseError(Exception):
    """A raw Postgres error (not a TRPCError): tRPC turns it into a 500 unless a handler wraps it."""


def _fk_violation(table: str, constraint: str) -> _DatabaseError:
    return _DatabaseError(
        f'insert or update on table "{table}" violates foreign key constraint "{constraint}"'
    )


# ---------------------------------------------------------------------------
# Input validation (zod v4 as run by @dokploy/trpc-openapi)

#: Service types accepted by ``project.duplicate``'s ``selectedServices[].type`` (a zod enum).
SERVICE_TYPE_NAMES: tuple[str, ...] = (
    "application",
    "compose",
    "libsql",
    "mariadb",
    "mongo",
    "mysql",
    "postgres",
    "redis",
)

_MISSING: Any = object()


class ValidationFailed(Exception):
    """Raised with the list of zod-style issues; the HTTP layer turns it into a 400."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        super().__init__("Input validation failed")
        self.issues = issues

    def flatten(self) -> dict[str, Any]:
        """``ZodError.flatten()``: what Dokploy's errorFormatter puts in ``data.zodError``."""
        form_errors: list[str] = []
        field_errors: dict[str, list[str]] = {}
        for issue in self.issues:
            path = issue["path"]
            if path:
                field_errors.setdefault(str(path[0]), []).append(issue["message"])
            else:
                form_errors.append(issue["message"])
        return {"formErrors": form_errors, "fieldErrors": field_errors}


@dataclass(frozen=True)
class Field:
    """One key of a ``z.object`` shape.

    ``kind`` is ``string``, ``number``, ``boolean`` or ``services`` (the
    ``selectedServices`` array of ``{id, type}``). ``required`` means "not optional";
    ``nullable`` accepts JSON null. ``default`` is used when the key is absent.
    """

    name: str
    kind: str = "string"
    required: bool = True
    nullable: bool = False
    min_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = _MISSING


def js_truthy(value: Any) -> bool:
    """JavaScript ``Boolean(value)``: trpc-openapi sets ``coerce`` on every z.boolean()."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str):
        return value != ""
    return True  # true, and any array/object (even empty) is truthy in JS


_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Infinity)")
_JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def js_trim(value: str) -> str:
    """JavaScript ``String.prototype.trim`` (the search procedures trim their terms)."""
    return value.strip(_JS_WHITESPACE)


def js_number(value: Any) -> float:
    """JavaScript ``Number(value)``: trpc-openapi sets ``coerce`` on every z.number()."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        if not value:
            return 0.0
        if len(value) == 1 and not isinstance(value[0], (list, dict)):
            return js_number("" if value[0] is None else str(value[0]))
        return math.nan
    if isinstance(value, str):
        text = js_trim(value)
        if text == "":
            return 0.0
        lowered = text.lower()
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if lowered.startswith(prefix):
                try:
                    return float(int(text[2:], base))
                except ValueError:
                    return math.nan
        if _JS_DECIMAL.fullmatch(text):
            return float(text.replace("Infinity", "inf"))
        return math.nan
    return math.nan


def _type_name(value: Any) -> str:
    """The ``received`` word zod v4 puts in its invalid_type messages."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        if isinstance(value, float) and math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _invalid_type(expected: str, value: Any, path: list[Any]) -> dict[str, Any]:
    return {
        "expected": expected,
        "code": "invalid_type",
        "path": path,
        "message": f"Invalid input: expected {expected}, received {_type_name(value)}",
    }


def _check_string(field: Field, value: Any, path: list[Any], issues: list[dict[str, Any]]) -> Any:
    if not isinstance(value, str):
        issues.append(_invalid_type("string", value, path))
        return _MISSING
    if field.min_length is not None and len(value) < field.min_length:
        issues.append(
            {
                "origin": "string",
                "code": "too_small",
                "minimum": field.min_length,
                "inclusive": True,
                "path": path,
                "message": f"Too small: expected string to have >={field.min_length} characters",
            }
        )
        return _MISSING
    return value


def _check_number(field: Field, value: Any, path: list[Any], issues: list[dict[str, Any]]) -> Any:
    number = js_number(value)
    if math.isnan(number) or math.isinf(number):
        issues.append(_invalid_type("number", number, path))
        return _MISSING
    result: Any = int(number) if number.is_integer() else number
    if field.minimum is not None and number < field.minimum:
        issues.append(
            {
                "origin": "number",
                "code": "too_small",
                "minimum": _plain(field.minimum),
                "inclusive": True,
                "path": path,
                "message": f"Too small: expected number to be >={_plain(field.minimum)}",
            }
        )
        return _MISSING
    if field.maximum is not None and number > field.maximum:
        issues.append(
            {
                "origin": "number",
                "code": "too_big",
                "maximum": _plain(field.maximum),
                "inclusive": True,
                "path": path,
                "message": f"Too big: expected number to be <={_plain(field.maximum)}",
            }
        )
        return _MISSING
    return result


def _plain(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def _check_services(value: Any, path: list[Any], issues: list[dict[str, Any]]) -> Any:
    if not isinstance(value, list):
        issues.append(_invalid_type("array", value, path))
        return _MISSING
    result: list[dict[str, str]] = []
    before = len(issues)
    for index, item in enumerate(value):
        item_path = [*path, index]
        if not isinstance(item, dict):
            issues.append(_invalid_type("object", item, item_path))
            continue
        service_id = item.get("id", _MISSING)
        if not isinstance(service_id, str):
            issues.append(_invalid_type("string", service_id, [*item_path, "id"]))
        service_type = item.get("type", _MISSING)
        if service_type not in SERVICE_TYPE_NAMES:
            options = "|".join(f'"{name}"' for name in SERVICE_TYPE_NAMES)
            issues.append(
                {
                    "code": "invalid_value",
                    "values": list(SERVICE_TYPE_NAMES),
                    "path": [*item_path, "type"],
                    "message": f"Invalid option: expected one of {options}",
                }
            )
        if isinstance(service_id, str) and service_type in SERVICE_TYPE_NAMES:
            result.append({"id": service_id, "type": service_type})  # unknown keys stripped
    return result if len(issues) == before else _MISSING


def validate(shape: tuple[Field, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Parse ``data`` like ``z.object(shape)``: strip unknown keys, collect every issue.

    Absent optional keys stay absent in the result (Dokploy tells "absent" from "null").
    """
    issues: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    for field in shape:
        value = data.get(field.name, _MISSING)
        path: list[Any] = [field.name]
        if value is _MISSING:
            if field.default is not _MISSING:
                out[field.name] = field.default
            elif field.required:
                issues.append(_invalid_type(_expected(field), value, path))
            continue
        if value is None and field.nullable:
            out[field.name] = None
            continue
        if field.kind == "boolean":
            checked: Any = js_truthy(value)  # coerced: never fails
        elif field.kind == "number":
            checked = _check_number(field, value, path, issues)
        elif field.kind == "services":
            checked = _check_services(value, path, issues)
        else:
            checked = _check_string(field, value, path, issues)
        if checked is not _MISSING:
            out[field.name] = checked
    if issues:
        raise ValidationFailed(issues)
    return out


def _expected(field: Field) -> str:
    return {"services": "array"}.get(field.kind, field.kind)


# ---------------------------------------------------------------------------
# Procedure input schemas (from Dokploy's routers and db/schema/*.ts)

_S = Field
_SEARCH = (
    _S("q", required=False),
    _S("name", required=False),
    _S("description", required=False),
    _S("limit", "number", minimum=1, maximum=100, default=20),
    _S("offset", "number", minimum=0, default=0),
)
SCHEMAS: dict[str, tuple[Field, ...]] = {
    "settings.getDokployVersion": (),
    "project.create": (
        _S("name", min_length=1),
        _S("description", required=False, nullable=True),
        _S("env", required=False),
    ),
    "project.one": (_S("projectId", min_length=1),),
    "project.all": (),
    "project.allForPermissions": (),
    "project.search": _SEARCH,
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
        _S("selectedServices", "services", required=False),
        _S("duplicateInSameProject", "boolean", default=False),
    ),
    "environment.create": (
        _S("name", min_length=1),
        _S("description", required=False),
        _S("projectId"),
    ),
    "environment.one": (_S("environmentId", min_length=1),),
    "environment.byProjectId": (_S("projectId"),),
    "environment.search": (*_SEARCH[:3], _S("projectId", required=False), *_SEARCH[3:]),
    "environment.update": (
        _S("environmentId", min_length=1),
        _S("name", required=False, min_length=1),
        _S("description", required=False),
        _S("env", required=False),
        _S("projectId", required=False),
    ),
    "environment.remove": (_S("environmentId", min_length=1),),
    "environment.duplicate": (
        _S("environmentId", min_length=1),
        _S("name", min_length=1),
        _S("description", required=False),
    ),
}

#: Queries are GET, mutations POST (trpc-openapi maps them so).
QUERIES = frozenset(
    {
        "settings.getDokployVersion",
        "project.one",
        "project.all",
        "project.allForPermissions",
        "project.search",
        "environment.one",
        "environment.byProjectId",
        "environment.search",
    }
)


# ---------------------------------------------------------------------------
# Services (only what the project/environment procedures show of them)


@dataclass(frozen=True)
class ServiceType:
    """How one service table appears: its relation (array) name, id column, not-found text."""

    type: str
    array: str
    id_key: str
    label: str  # findXById's NOT_FOUND message prefix

    @property
    def status_key(self) -> str:
        return "composeStatus" if self.type == "compose" else "applicationStatus"

    @property
    def has_icon(self) -> bool:
        return self.type in ("application", "compose")


SERVICE_TYPES: dict[str, ServiceType] = {
    t.type: t
    for t in (
        ServiceType("application", "applications", "applicationId", "Application"),
        ServiceType("compose", "compose", "composeId", "Compose"),
        ServiceType("libsql", "libsql", "libsqlId", "Libsql"),
        ServiceType("mariadb", "mariadb", "mariadbId", "Mariadb"),
        ServiceType("mongo", "mongo", "mongoId", "Mongo"),
        ServiceType("mysql", "mysql", "mysqlId", "MySql"),
        ServiceType("postgres", "postgres", "postgresId", "Postgres"),
        ServiceType("redis", "redis", "redisId", "Redis"),
    )
}

_PROJECT_KEYS = ("projectId", "name", "description", "createdAt", "organizationId", "env")
_ENV_KEYS = ("environmentId", "name", "description", "createdAt", "env", "projectId", "isDefault")


def _iso(moment: datetime) -> str:
    """JavaScript ``new Date().toISOString()``: what Dokploy stores in ``createdAt``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _like(pattern: str) -> re.Pattern[str]:
    """Postgres ILIKE: ``%`` any run, ``_`` one char, ``\\`` escapes; nothing else special.

    Dokploy builds ``%${term}%`` without escaping the term, so ``%``/``_`` in a search
    term act as wildcards on the real server too.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 == len(pattern):
                raise _DatabaseError("LIKE pattern must not end with escape character")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _ilike(value: str | None, term: str) -> bool:
    # `ilike(column, "%term%")`: NULL never matches.
    return value is not None and _like(f"%{term}%").fullmatch(value) is not None


# ---------------------------------------------------------------------------
# State


class State:
    """The whole emulated database plus the procedures that act on it."""

    def __init__(self, state_file: str | os.PathLike[str] | None = None, *, legacy_create: bool = False) -> None:
        self.lock = threading.RLock()
        self.legacy_create = legacy_create
        self.version = DEFAULT_VERSION
        self._path = Path(state_file) if state_file is not None else None
        self.organizations: list[str] = []
        self.primary_organization = ""
        self._projects: dict[str, dict[str, Any]] = {}
        self._environments: dict[str, dict[str, Any]] = {}
        self._services: dict[str, dict[str, Any]] = {}
        self._seq: dict[str, int] = {}
        self._counter = 0
        self._last = datetime.fromtimestamp(0, timezone.utc)
        if self._path is not None and self._path.exists() and self._path.stat().st_size > 0:
            self._load()
        if not self.primary_organization:
            self.primary_organization = self.add_organization()

    # -- organizations --------------------------------------------------------

    def add_organization(self, organization_id: str | None = None) -> str:
        with self.lock:
            org = organization_id or new_id()
            if org not in self.organizations:
                self.organizations.append(org)
                self._save()
            return org

    # -- low level helpers ------------------------------------------------------

    def _now(self) -> str:
        """Strictly increasing timestamps so "newest first" never ties."""
        moment = max(datetime.now(timezone.utc), self._last + timedelta(milliseconds=1))
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        self._last = moment
        return _iso(moment)

    def _track(self, key: str) -> None:
        self._counter += 1
        self._seq[key] = self._counter

    def _order(self, row_id: str, created_at: Any) -> tuple[str, int]:
        return (str(created_at), self._seq.get(row_id, 0))

    def _insert_project(self, org: str, name: str, description: str | None, env: str) -> dict[str, Any]:
        row = {
            "projectId": new_id(),
            "name": name,
            "description": description,
            "createdAt": self._now(),
            "organizationId": org,
            "env": env,
        }
        self._projects[row["projectId"]] = row
        self._track(row["projectId"])
        return dict(row)

    def _insert_environment(
        self, project_id: str, name: str, description: str | None, env: str, is_default: bool
    ) -> dict[str, Any]:
        row = {
            "environmentId": new_id(),
            "name": name,
            "description": description,
            "createdAt": self._now(),
            "env": env,
            "projectId": project_id,
            "isDefault": is_default,
        }
        self._environments[row["environmentId"]] = row
        self._track(row["environmentId"])
        return dict(row)

    def _insert_default_environment(self, project_id: str) -> dict[str, Any]:
        # createProductionEnvironment(): fixed name/description, env "", isDefault true.
        return self._insert_environment(project_id, "production", "Production environment", "", True)

    def _insert_service(self, environment_id: str, type_: str, name: str, **extra: Any) -> dict[str, Any]:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or type_
        row = {
            "id": new_id(),
            "type": type_,
            "environmentId": environment_id,
            "name": name,
            "appName": f"{base}-{new_id(6).lower()}",
            "description": None,
            "createdAt": self._now(),
            "serverId": None,
            "status": "idle",
            "icon": None,
        }
        row.update(extra)
        self._services[row["id"]] = row
        self._track(row["id"])
        return row

    def _envs_of(self, project_id: str) -> list[dict[str, Any]]:
        rows = [e for e in self._environments.values() if e["projectId"] == project_id]
        return sorted(rows, key=lambda e: self._order(e["environmentId"], e["createdAt"]))

    def _services_of(self, environment_id: str) -> list[dict[str, Any]]:
        rows = [s for s in self._services.values() if s["environmentId"] == environment_id]
        return sorted(rows, key=lambda s: self._order(s["id"], s["createdAt"]))

    def _delete_environment_rows(self, environment_id: str) -> dict[str, Any]:
        for service in self._services_of(environment_id):
            del self._services[service["id"]]
        return self._environments.pop(environment_id)

    def _delete_project_rows(self, project_id: str) -> dict[str, Any]:
        # ON DELETE CASCADE through environments and every service table.
        for env in self._envs_of(project_id):
            self._delete_environment_rows(env["environmentId"])
        return self._projects.pop(project_id)

    # -- views (the column selections of Dokploy's queries) -------------------------

    def _service_arrays(self, environment_id: str, style: str) -> dict[str, list[dict[str, Any]]]:
        arrays: dict[str, list[dict[str, Any]]] = {t.array: [] for t in SERVICE_TYPES.values()}
        for svc in self._services_of(environment_id):
            kind = SERVICE_TYPES[svc["type"]]
            arrays[kind.array].append(self._service_view(svc, kind, style))
        return arrays

    @staticmethod
    def _service_view(svc: dict[str, Any], kind: ServiceType, style: str) -> dict[str, Any]:
        if style == "short":  # project.all
            if kind.type in ("application", "compose"):
                return {kind.id_key: svc["id"], "name": svc["name"], kind.status_key: svc["status"]}
            return {kind.id_key: svc["id"]}
        view: dict[str, Any] = {kind.id_key: svc["id"], "name": svc["name"]}
        if style in ("detail", "permissions"):  # serviceColumns of findProjectById / byProjectId
            view["appName"] = svc["appName"]
        view.update(
            {
                "description": svc["description"],
                "createdAt": svc["createdAt"],
                "serverId": svc["serverId"],
                kind.status_key: svc["status"],
            }
        )
        if style != "permissions":
            if kind.has_icon:
                view["icon"] = svc["icon"]
            view["server"] = None  # `with: { server: ... }`, null without a remote server
        return view

    def _environment_one_view(self, env: dict[str, Any]) -> dict[str, Any]:
        """findEnvironmentById(): no createdAt, services, and the full project row."""
        view = {k: env[k] for k in ("name", "description", "environmentId", "isDefault", "projectId", "env")}
        view.update(self._service_arrays(env["environmentId"], "environment"))
        project = self._projects.get(env["projectId"])
        view["project"] = dict(project) if project else None
        return view

    def _projects_of(self, org: str) -> list[dict[str, Any]]:
        rows = [p for p in self._projects.values() if p["organizationId"] == org]
        return sorted(rows, key=lambda p: self._order(p["projectId"], p["createdAt"]), reverse=True)

    def _project_org(self, env: dict[str, Any]) -> str | None:
        project = self._projects.get(env["projectId"])
        return project["organizationId"] if project else None

    # -- dispatch -------------------------------------------------------------------

    def call(self, procedure: str, organization_id: str, raw_input: dict[str, Any]) -> Any:
        """Validate ``raw_input`` and run ``procedure`` for a caller of ``organization_id``.

        Raises :class:`ValidationFailed` or :class:`TRPCError`; raw database errors
        that no handler wraps surface as INTERNAL_SERVER_ERROR, as tRPC does.
        """
        data = validate(SCHEMAS[procedure], raw_input)
        handler: Callable[[str, dict[str, Any]], Any] = getattr(self, "_p_" + procedure.replace(".", "_"))
        with self.lock:
            try:
                return handler(organization_id, data)
            except _DatabaseError as exc:
                raise TRPCError("INTERNAL_SERVER_ERROR", str(exc)) from exc
            finally:
                if procedure not in QUERIES:
                    self._save()  # also after a failure: some steps are not transactional

    # -- settings ---------------------------------------------------------------------

    def _p_settings_getDokployVersion(self, org: str, data: dict[str, Any]) -> str:
        return self.version

    # -- project ------------------------------------------------------------------------

    def _p_project_create(self, org: str, data: dict[str, Any]) -> Any:
        try:
            project = self._insert_project(org, data["name"], data.get("description"), data.get("env", ""))
            if self.legacy_create:
                return project  # Dokploy < 0.25: bare row, no environments
            return {"project": project, "environment": self._insert_default_environment(project["projectId"])}
        except (TRPCError, _DatabaseError) as exc:
            raise TRPCError("BAD_REQUEST", f"Error creating the project: {exc}") from exc

    def _get_project(self, org: str, project_id: str, verb: str) -> dict[str, Any]:
        project = self._projects.get(project_id)
        if project is None:
            raise TRPCError("NOT_FOUND", "Project not found")
        if project["organizationId"] != org:
            raise TRPCError("UNAUTHORIZED", f"You are not authorized to {verb} this project")
        return project

    def _p_project_one(self, org: str, data: dict[str, Any]) -> Any:
        project = self._get_project(org, data["projectId"], "access")
        environments = [
            {**env, **self._service_arrays(env["environmentId"], "detail")}
            for env in self._envs_of(project["projectId"])
        ]
        return {**project, "environments": environments, "projectTags": []}

    def _p_project_all(self, org: str, data: dict[str, Any]) -> Any:
        return [
            {
                **project,
                "environments": [
                    {
                        "name": env["name"],
                        "environmentId": env["environmentId"],
                        "isDefault": env["isDefault"],
                        **self._service_arrays(env["environmentId"], "short"),
                    }
                    for env in self._envs_of(project["projectId"])
                ],
                "projectTags": [],
            }
            for project in self._projects_of(org)
        ]

    def _p_project_allForPermissions(self, org: str, data: dict[str, Any]) -> Any:
        return [
            {
                "projectId": project["projectId"],
                "name": project["name"],
                "environments": [
                    {
                        "environmentId": env["environmentId"],
                        "name": env["name"],
                        "isDefault": env["isDefault"],
                        **self._service_arrays(env["environmentId"], "permissions"),
                    }
                    for env in self._envs_of(project["projectId"])
                ],
            }
            for project in self._projects_of(org)
        ]

    @staticmethod
    def _text_filters(data: dict[str, Any]) -> list[Callable[[dict[str, Any]], bool]]:
        """The q/name/description conditions shared by project.search and environment.search."""
        filters: list[Callable[[dict[str, Any]], bool]] = []
        q = js_trim(data.get("q") or "")
        if q:
            filters.append(lambda row: _ilike(row["name"], q) or _ilike(row["description"], q))
        name = js_trim(data.get("name") or "")
        if name:
            filters.append(lambda row: _ilike(row["name"], name))
        description = js_trim(data.get("description") or "")
        if description:
            filters.append(lambda row: _ilike(row["description"], description))
        return filters

    @staticmethod
    def _page(rows: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
        limit, offset = data["limit"], data["offset"]
        for value in (limit, offset):
            if not float(value).is_integer():  # LIMIT/OFFSET are bigint in Postgres
                raise _DatabaseError(f'invalid input syntax for type bigint: "{value}"')
        return {"items": rows[int(offset) : int(offset) + int(limit)], "total": len(rows)}

    def _p_project_search(self, org: str, data: dict[str, Any]) -> Any:
        filters = self._text_filters(data)
        rows = [dict(p) for p in self._projects_of(org) if all(f(p) for f in filters)]
        return self._page(rows, data)

    def _p_project_update(self, org: str, data: dict[str, Any]) -> Any:
        # Not wrapped: 404 / 401 come through as they are.
        project = self._get_project(org, data["projectId"], "update")
        organization = data.get("organizationId")
        if organization is not None and organization not in self.organizations:
            raise _fk_violation("project", "project_organizationId_organization_id_fk")
        for key in ("name", "description", "createdAt", "organizationId", "env"):
            if key in data:  # also organizationId/createdAt: the server writes them
                project[key] = data[key]
        return dict(project)

    def _p_project_remove(self, org: str, data: dict[str, Any]) -> Any:
        self._get_project(org, data["projectId"], "delete")
        return self._delete_project_rows(data["projectId"])

    def _p_project_duplicate(self, org: str, data: dict[str, Any]) -> Any:
        # Every error is re-thrown as 400 "Error duplicating the project: ...". The steps
        # are not one transaction: a project created before a failing copy stays.
        try:
            if data["duplicateInSameProject"]:
                source = self._environments.get(data["sourceEnvironmentId"])
                if source is None:
                    raise TRPCError("NOT_FOUND", "Environment not found")
                result = self._environment_one_view(source)  # read before the copies
                if self._project_org(source) != org:
                    raise TRPCError("UNAUTHORIZED", "You are not authorized to access this project")
                target_id = source["environmentId"]
            else:
                # Dokploy does not even look at sourceEnvironmentId in this mode, and
                # the new project does not get the source project's env.
                project = self._insert_project(org, data["name"], data.get("description"), "")
                result = self._insert_default_environment(project["projectId"])
                target_id = result["environmentId"]
            if data["includeServices"]:
                for selected in data.get("selectedServices") or []:
                    kind = SERVICE_TYPES[selected["type"]]
                    original = self._services.get(selected["id"])
                    if original is None or original["type"] != kind.type:
                        raise TRPCError("NOT_FOUND", f"{kind.label} not found")
                    suffix = " (copy)" if data["duplicateInSameProject"] else ""
                    extra = {k: original[k] for k in ("description", "serverId", "status", "icon")}
                    self._insert_service(target_id, kind.type, original["name"] + suffix, **extra)
            return result
        except (TRPCError, _DatabaseError) as exc:
            raise TRPCError("BAD_REQUEST", f"Error duplicating the project: {exc}") from exc

    # -- environment ----------------------------------------------------------------------

    def _p_environment_create(self, org: str, data: dict[str, Any]) -> Any:
        # An `env` key is not in the schema: silently dropped by validation.
        if data["name"] == "production":
            raise TRPCError("BAD_REQUEST", "You cannot create a environment with the name 'production'")
        if data["projectId"] not in self._projects:
            # The insert fails on the foreign key; observed as a 400 carrying the raw SQL text.
            raise TRPCError(
                "BAD_REQUEST",
                str(_fk_violation("environment", "environment_projectId_project_projectId_fk")),
            )
        # Owners/admins pass checkEnvironmentCreationPermission without an organization
        # check, so (like the real server) a project of another organization is accepted.
        return self._insert_environment(data["projectId"], data["name"], data.get("description"), "", False)

    def _get_environment(self, org: str, environment_id: str) -> dict[str, Any]:
        env = self._environments.get(environment_id)
        if env is None:
            raise TRPCError("NOT_FOUND", "Environment not found")
        if self._project_org(env) != org:
            raise TRPCError("FORBIDDEN", "You are not allowed to access this environment")
        return env

    def _p_environment_one(self, org: str, data: dict[str, Any]) -> Any:
        return self._environment_one_view(self._get_environment(org, data["environmentId"]))

    def _p_environment_byProjectId(self, org: str, data: dict[str, Any]) -> Any:
        project = self._projects.get(data["projectId"])
        envs = self._envs_of(data["projectId"])  # unknown project: simply []
        if project is not None and envs and project["organizationId"] != org:
            raise TRPCError(
                "BAD_REQUEST", "Error fetching environments: You are not allowed to access this environment"
            )
        return [
            {
                "name": env["name"],
                "description": env["description"],
                "environmentId": env["environmentId"],
                "isDefault": env["isDefault"],
                **self._service_arrays(env["environmentId"], "detail"),
                "project": dict(project) if project else None,
            }
            for env in envs
        ]

    def _p_environment_search(self, org: str, data: dict[str, Any]) -> Any:
        filters = self._text_filters(data)
        project_id = data.get("projectId")
        if project_id:
            filters.append(lambda row: row["projectId"] == project_id)
        rows = [
            dict(env)
            for env in self._environments.values()
            if self._project_org(env) == org and all(f(env) for f in filters)
        ]
        rows.sort(key=lambda e: self._order(e["environmentId"], e["createdAt"]), reverse=True)
        return self._page(rows, data)

    def _p_environment_update(self, org: str, data: dict[str, Any]) -> Any:
        try:
            changes = {k: data[k] for k in ("name", "description", "env", "projectId") if k in data}
            env = self._environments.get(data["environmentId"])
            if env is None:
                raise TRPCError("NOT_FOUND", "Environment not found")
            if env["isDefault"] and "name" in changes:  # even when unchanged
                raise TRPCError("BAD_REQUEST", "You cannot rename the default environment")
            if self._project_org(env) != org:
                raise TRPCError("FORBIDDEN", "You are not allowed to access this environment")
            if not changes:
                raise _DatabaseError("No values to set")  # drizzle's .set({}) error
            if "projectId" in changes and changes["projectId"] not in self._projects:
                raise _fk_violation("environment", "environment_projectId_project_projectId_fk")
            env.update(changes)
            return dict(env)
        except (TRPCError, _DatabaseError) as exc:
            raise TRPCError("BAD_REQUEST", f"Error updating the environment: {exc}") from exc

    def _p_environment_remove(self, org: str, data: dict[str, Any]) -> Any:
        env = self._get_environment(org, data["environmentId"])
        if env["isDefault"]:
            raise TRPCError("BAD_REQUEST", "You cannot delete the default environment")
        if self._services_of(env["environmentId"]):
            raise TRPCError(
                "BAD_REQUEST", "Cannot delete environment: it has active services. Delete all services first."
            )
        return self._delete_environment_rows(env["environmentId"])

    def _p_environment_duplicate(self, org: str, data: dict[str, Any]) -> Any:
        try:
            source = self._get_environment(org, data["environmentId"])
            # Services are NOT copied; description falls back when empty (`||`).
            return self._insert_environment(
                source["projectId"],
                data["name"],
                data.get("description") or source["description"],
                source["env"],
                False,
            )
        except (TRPCError, _DatabaseError) as exc:
            raise TRPCError("BAD_REQUEST", f"Error duplicating the environment: {exc}") from exc

    # -- out-of-band access (test hooks) ----------------------------------------------------

    def add_service(self, environment_id: str, type_: str, name: str) -> str:
        if type_ not in SERVICE_TYPES:
            raise ValueError(f"unknown service type {type_!r}; expected one of {sorted(SERVICE_TYPES)}")
        with self.lock:
            if environment_id not in self._environments:
                raise KeyError(environment_id)
            service = self._insert_service(environment_id, type_, name)
            self._save()
            return str(service["id"])

    def projects(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(p) for p in self._projects.values()]

    def environments(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self._environments.values()]

    def get_project(self, project_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._projects.get(project_id)
            return dict(row) if row else None

    def get_environment(self, environment_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._environments.get(environment_id)
            return dict(row) if row else None

    def set_fields(self, table: str, row_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            rows = self._projects if table == "project" else self._environments
            if row_id not in rows:
                raise KeyError(row_id)
            rows[row_id].update(fields)
            self._save()
            return dict(rows[row_id])

    def delete_project(self, project_id: str) -> dict[str, Any]:
        with self.lock:
            if project_id not in self._projects:
                raise KeyError(project_id)
            row = self._delete_project_rows(project_id)
            self._save()
            return row

    def delete_environment(self, environment_id: str) -> dict[str, Any]:
        with self.lock:
            if environment_id not in self._environments:
                raise KeyError(environment_id)
            row = self._delete_environment_rows(environment_id)
            self._save()
            return row

    def create_project(self, name: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            row = self._insert_project(self.primary_organization, name, None, "")
            self._projects[row["projectId"]].update(fields)
            self._insert_default_environment(row["projectId"])
            self._save()
            return dict(self._projects[row["projectId"]])

    def reset(self) -> None:
        with self.lock:
            self._projects.clear()
            self._environments.clear()
            self._services.clear()
            self._seq.clear()
            self._save()

    # -- persistence ------------------------------------------------------------------------

    def _save(self) -> None:
        """Write the state file atomically (temp file + rename) after every mutation."""
        if self._path is None:
            return
        document = {
            "format": 1,
            "primaryOrganization": self.primary_organization,
            "organizations": self.organizations,
            "projects": list(self._projects.values()),
            "environments": list(self._environments.values()),
            "services": list(self._services.values()),
            "order": self._seq,
        }
        directory = self._path.parent if str(self._path.parent) else Path(".")
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self._path.name + ".", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def _load(self) -> None:
        assert self._path is not None
        document = json.loads(self._path.read_text(encoding="utf-8"))
        self.primary_organization = document.get("primaryOrganization", "")
        self.organizations = list(document.get("organizations", []))
        self._projects = {p["projectId"]: p for p in document.get("projects", [])}
        self._environments = {e["environmentId"]: e for e in document.get("environments", [])}
        self._services = {s["id"]: s for s in document.get("services", [])}
        self._seq = {k: int(v) for k, v in document.get("order", {}).items()}
        self._counter = max(self._seq.values(), default=0)
        stamps = [
            _parse_iso(row.get("createdAt", ""))
            for table in (self._projects, self._environments, self._services)
            for row in table.values()
        ]
        valid = [s for s in stamps if s is not None]
        if valid:
            self._last = max(valid)
