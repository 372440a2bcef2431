"""Resource inputs, declared: each `Attr` names an input and its `AttrType`, which checks,
normalises and compares values, and says whether a change forces replacement.

A resource's whole declaration is a tuple of `Attr`s (see `_project.py`, `_environment.py`,
`_duplicates.py`); the lifecycle engine (`_lifecycle.py`) turns it into check, diff and the
secret handling of the public classes, the same way for every resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from pulumi.output import Unknown
from pulumi.runtime import rpc

from ._connection import Connection, parse_timeout
from ._dotenv import env_as_dict, is_env_key, unrepresentable_env_keys
from ._wire import normalize_url

#: The `type` values project.duplicate accepts in selectedServices (a zod enum on the server).
SERVICE_TYPES = ("application", "compose", "libsql", "mariadb", "mongo", "mysql", "postgres", "redis")


def is_unknown(value: Any) -> bool:
    """True for a preview-time unknown, at the top level or anywhere inside lists and dicts."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_unknown(v) for v in value)
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    return False


class AttrType:
    """How values of one kind of input are checked, normalised and compared.

    `check` sees known, non-None values only (unknowns pass until apply, None is "not set");
    `normalize` gives the canonical form stored in state and compared in diff; `empty` is what
    "not set" normalises to; `replaces` says whether a change between two normalised values
    forces replacement whatever the `Attr` declares (a connection to another server).
    """

    empty: Any = None

    def check(self, name: str, value: Any) -> Optional[str]:
        return None

    def normalize(self, value: Any) -> Any:
        return value

    def replaces(self, old: Any, new: Any) -> bool:
        return False


class _Str(AttrType):
    def __init__(self, *, empty: Optional[str], non_empty: bool) -> None:
        self.empty = empty
        self._non_empty = non_empty

    def check(self, name: str, value: Any) -> Optional[str]:
        if not isinstance(value, str):
            return f"{name} must be a string, got {type(value).__name__}"
        if self._non_empty and value == "":
            return f"{name} must not be empty"
        if "\x00" in value:
            # Postgres text cannot hold it: Dokploy answers a 400 "Failed query" at apply time.
            return f"{name} must not contain a NUL character (U+0000): Dokploy's database cannot store it"
        return None


class _Bool(AttrType):
    empty = False

    def check(self, name: str, value: Any) -> Optional[str]:
        return None if isinstance(value, bool) else f"{name} must be true or false"


class _Env(AttrType):
    """A dict of str, or dotenv text; compared as the key/values Node's dotenv would give services."""

    def __init__(self) -> None:
        self.empty: dict[str, str] = {}

    def check(self, name: str, value: Any) -> Optional[str]:
        if not isinstance(value, (str, Mapping)):
            return f"{name} must be a dict of strings or dotenv text"
        if isinstance(value, Mapping):
            odd = sorted(str(k) for k, v in value.items() if not isinstance(v, str) and not is_unknown(v))
            if odd:
                # Name the keys only: the values may be secret.
                return f"{name} values must be strings (keys {', '.join(odd)})"
        env = env_as_dict(value)
        bad = sorted(k for k in env if not is_env_key(k))
        if bad:
            shown = ", ".join(repr(k) for k in bad[:10])
            return f"{name} keys must be names Dokploy's dotenv parser reads (letters, digits, _ . -): {shown}"
        lossy = unrepresentable_env_keys({k: v for k, v in env.items() if not is_unknown(v)})
        if lossy:
            # Dokploy hands services what Node's dotenv parses; no spelling carries these values.
            shown = ", ".join(repr(k) for k in lossy[:10])
            return (
                f"{name} values of {shown} cannot reach Dokploy's services unchanged: Dokploy parses env "
                "with Node's dotenv, which has no escapes, and no quoting carries them (see the README's "
                "section on env). Change them; they are not shown here because they may be secret."
            )
        return None

    def normalize(self, value: Any) -> Any:
        return env_as_dict(value)


def _connection_field_problem(value: Mapping[str, Any]) -> Optional[str]:
    """A reason a connection given as a mapping (as state stores it) has a field of the wrong type."""
    for name in ("url", "api_key_config", "api_key_env", "ca_bundle"):
        if value.get(name) is not None and not isinstance(value.get(name), str):
            return f"connection.{name} must be a string"
    if value.get("insecure_skip_verify") is not None and not isinstance(value.get("insecure_skip_verify"), bool):
        return "connection.insecure_skip_verify must be true or false"
    if value.get("timeout") is not None and parse_timeout(value.get("timeout")) is None:
        return "connection.timeout must be a positive number of seconds"
    return None


def _server_of(conn: Any) -> Optional[str]:
    if not isinstance(conn, Mapping) or not conn.get("url"):
        return None
    try:
        return normalize_url(conn["url"])
    except ValueError:
        return str(conn["url"])


class _Connection(AttrType):
    """A `Connection` (stored as its dict). Another server's URL replaces: an id means nothing there."""

    def check(self, name: str, value: Any) -> Optional[str]:
        conn = value if isinstance(value, Connection) else None
        if conn is None and isinstance(value, Mapping):
            problem = _connection_field_problem(value)
            if problem:
                return problem
            conn = Connection.from_input(value)
        if conn is None:
            return f"{name} must be a dokploy_pulumi.Connection"
        if not conn.url:
            return f"{name} has no url"
        try:
            normalize_url(conn.url)
        except ValueError as exc:
            return str(exc)
        if not conn.api_key_config and not conn.api_key_env:
            return f"{name} must name api_key_config or api_key_env (where its API key is)"
        return None

    def normalize(self, value: Any) -> Any:
        conn = Connection.from_input(value)
        return conn.to_input() if conn is not None else None

    def replaces(self, old: Any, new: Any) -> bool:
        return _server_of(old) != _server_of(new)


class _Services(AttrType):
    """project.duplicate's `selectedServices`: a list of `{id, type}`."""

    def __init__(self) -> None:
        self.empty: list[Any] = []

    def check(self, name: str, value: Any) -> Optional[str]:
        if not isinstance(value, (list, tuple)):
            return f"{name} must be a list of {{id, type}}"
        for i, entry in enumerate(value):
            if is_unknown(entry):
                continue
            where = f"{name}[{i}]"
            if not isinstance(entry, Mapping):
                return f"{where} must be a dict with id and type"
            extra = sorted(set(entry) - {"id", "type"})
            if extra:
                return f"{where} has unknown keys {', '.join(extra)} (only id and type)"
            sid, kind = entry.get("id"), entry.get("type")
            if not is_unknown(sid) and (not isinstance(sid, str) or not sid):
                return f"{where}.id must be a non-empty string"
            if not is_unknown(kind) and kind not in SERVICE_TYPES:
                return f"{where}.type must be one of {', '.join(SERVICE_TYPES)}, got {kind!r}"
        return None

    def normalize(self, value: Any) -> Any:
        return list(value)


class _Ids(AttrType):
    """A set of object ids given as a list: kept sorted, each once (order and repeats mean nothing
    to the server's set), so a reordered list is no change."""

    def check(self, name: str, value: Any) -> Optional[str]:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            return f"{name} must be a list of ids"
        for i, item in enumerate(value):
            if not is_unknown(item) and (not isinstance(item, str) or not item):
                return f"{name}[{i}] must be a non-empty string (an id)"
        return None

    def normalize(self, value: Any) -> Any:
        return sorted(set(value))


NAME: AttrType = _Str(empty=None, non_empty=True)  # a required, non-empty name
TEXT: AttrType = _Str(empty="", non_empty=False)  # optional text; null and "" are the same
ID: AttrType = _Str(empty=None, non_empty=True)  # an object id
BOOL: AttrType = _Bool()
ENV: AttrType = _Env()
CONNECTION: AttrType = _Connection()
SERVICES: AttrType = _Services()
TAG_IDS: AttrType = _Ids()  # empty None: no list means "not managed", [] means "no tags"


@dataclass(frozen=True)
class Attr:
    """One input of a resource, declared once.

    replace: a change forces replacement. create_only: read at create only; later changes are
    ignored. state_only: a change needs no API call (it only alters what Pulumi does, e.g.
    force_destroy). sensitive: a secret input and output, never shown in messages (env).
    """

    name: str
    type: AttrType = TEXT
    required: bool = False
    replace: bool = False
    create_only: bool = False
    state_only: bool = False
    sensitive: bool = False

    def normalize(self, value: Any) -> Any:
        """The canonical form stored in state and compared in diff."""
        if is_unknown(value):
            return value
        if value is None:
            empty = self.type.empty
            return empty.copy() if isinstance(empty, (dict, list)) else empty
        return self.type.normalize(value)

    def problem(self, value: Any) -> Optional[str]:
        """A reason the value cannot be accepted, or None. Unknowns always pass (checked at apply)."""
        if is_unknown(value):
            return None
        if value is None:
            return f"{self.name} is required" if self.required else None
        return self.type.check(self.name, value)

    def replaces(self, old: Any, new: Any) -> bool:
        """Whether changing from `old` to `new` (both normalised, or `new` unknown) replaces."""
        return self.replace or (not is_unknown(new) and self.type.replaces(old, new))
