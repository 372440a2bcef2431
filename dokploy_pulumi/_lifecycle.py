"""The lifecycle engine every Dokploy resource shares.

A resource is *declared* (`Lifecycle.inputs`: which inputs exist, which are required, which force
replacement, which are only read at create, which change nothing on the server) and supplies four
small API functions (create, read, update, delete). This module turns that into Pulumi's
check / diff / create / read / update / delete, with the same normalisation, unknown handling,
credential lookup and error wording for every resource.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Optional

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from ._client import DokployClient, normalize_url
from ._connection import ClientPool, ConfigSource, Connection, CredentialError, parse_timeout
from ._dotenv import ENV_KEY_RE, env_as_dict, quote_env_value, unrepresentable_env_keys
from ._exceptions import DokployError

PROVIDER_KEY = "__provider"


def is_unknown(value: Any) -> bool:
    """True for a preview-time unknown, at the top level or anywhere inside lists and dicts."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return True
    if isinstance(value, (list, tuple)):
        return any(is_unknown(v) for v in value)
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    return False


#: Env values shorter than this are not redacted from error messages: "1", "true" or "info" are
#: not secrets, and replacing them everywhere would garble the message.
REDACT_MIN_LENGTH = 4


def redact_env(text: str, *props: Mapping[str, Any]) -> str:
    """`text` with every env value of `props` (and its quoted/escaped forms) replaced by ***."""
    secrets: set[str] = set()
    for p in props:
        env = p.get("env") if isinstance(p, Mapping) else None
        if isinstance(env, str) and not is_unknown(env):
            env = env_as_dict(env)
        if not isinstance(env, Mapping):
            continue
        for value in env.values():
            if isinstance(value, str) and len(value) >= REDACT_MIN_LENGTH:
                secrets.update({value, quote_env_value(value), json.dumps(value)[1:-1]})
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class ProviderError(Exception):
    """A failed operation, worded for a Pulumi user: resource, operation, and the server's reason."""


@dataclass(frozen=True)
class Attr:
    """One input of a resource, declared once.

    kind: "name" (required non-empty string), "text" (optional string; null == ""), "id" (an object
    id), "env" (dict or dotenv text, compared as key/values), "bool", "connection", "list".
    replace: a change forces replacement. create_only: read at create only; later changes are ignored.
    state_only: a change needs no API call (it only alters what Pulumi does, e.g. force_destroy).
    """

    name: str
    kind: str = "text"
    required: bool = False
    replace: bool = False
    create_only: bool = False
    state_only: bool = False


def normalize(attr: Attr, value: Any) -> Any:
    """The canonical form stored in state and compared in diff."""
    if is_unknown(value):
        return value
    if attr.kind == "env":
        return env_as_dict(value)
    if attr.kind == "bool":
        return bool(value) if value is not None else False
    if attr.kind == "text":
        return "" if value is None else value
    if attr.kind == "connection":
        conn = Connection.from_input(value)
        return conn.to_input() if conn is not None else None
    if attr.kind == "list":
        return list(value or [])
    return value


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


def _validate(attr: Attr, value: Any) -> Optional[str]:
    """A reason the value cannot be accepted, or None. Unknowns always pass (checked at apply)."""
    if is_unknown(value):
        return None
    if value is None:
        return f"{attr.name} is required" if attr.required else None
    if attr.kind in ("name", "text", "id") and not isinstance(value, str):
        return f"{attr.name} must be a string, got {type(value).__name__}"
    if attr.kind in ("name", "id") and value == "":
        return f"{attr.name} must not be empty"
    if attr.kind == "bool" and not isinstance(value, bool):
        return f"{attr.name} must be true or false"
    if attr.kind == "env":
        if not isinstance(value, (str, Mapping)):
            return "env must be a dict of strings or dotenv text"
        if isinstance(value, Mapping):
            odd = sorted(str(k) for k, v in value.items() if not isinstance(v, str) and not is_unknown(v))
            if odd:
                # Name the keys only: the values may be secret.
                return f"env values must be strings (keys {', '.join(odd)})"
        env = env_as_dict(value)
        bad = sorted(k for k in env if not ENV_KEY_RE.match(k))
        if bad:
            shown = ", ".join(repr(k) for k in bad[:10])
            return f"env keys must be names Dokploy's dotenv parser reads (letters, digits, _ . -): {shown}"
        lossy = unrepresentable_env_keys({k: v for k, v in env.items() if not is_unknown(v)})
        if lossy:
            # Dokploy hands services what Node's dotenv parses; no spelling carries these values.
            shown = ", ".join(repr(k) for k in lossy[:10])
            return (
                f"env values of {shown} cannot reach Dokploy's services unchanged: Dokploy parses env with "
                "Node's dotenv, which has no escapes, and no quoting carries them (see the README's "
                "section on env). Change them; they are not shown here because they may be secret."
            )
    if attr.kind == "connection":
        conn = value if isinstance(value, Connection) else None
        if conn is None and isinstance(value, Mapping):
            problem = _connection_field_problem(value)
            if problem:
                return problem
            conn = Connection.from_input(value)
        if conn is None:
            return "connection must be a dokploy_pulumi.Connection"
        if not conn.url:
            return "connection has no url"
        try:
            normalize_url(conn.url)
        except ValueError as exc:
            return str(exc)
        if not conn.api_key_config and not conn.api_key_env:
            return "connection must name api_key_config or api_key_env (where its API key is)"
    return None


class Lifecycle:
    """What one resource type declares and does against the API. Subclasses fill this in."""

    type_name: ClassVar[str]
    inputs: ClassVar[tuple[Attr, ...]]
    #: Output-only properties (besides the id).
    computed: ClassVar[tuple[str, ...]] = ()
    #: Inputs that name the object on the server, for messages.
    label_key: ClassVar[str] = "name"

    def validate(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[CheckFailure]:
        """Resource-specific check failures on the normalised new inputs."""
        return []

    def unmanaged(self, news: Mapping[str, Any]) -> frozenset[str]:
        """Inputs these declared inputs leave to the server: kept as None (not normalised), never
        diffed and never sent, so the server's value stays and shows in the outputs."""
        return frozenset()

    def create(self, client: DokployClient, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def read(self, client: DokployClient, id_: str, olds: Mapping[str, Any]) -> Optional[dict[str, Any]]:
        """Server values of the outputs, or None when the object no longer exists."""
        raise NotImplementedError

    def update(
        self, client: DokployClient, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], changed: set[str]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def delete(self, client: DokployClient, id_: str, olds: Mapping[str, Any]) -> None:
        raise NotImplementedError

    # -- helpers the generic provider uses ------------------------------------------------------------
    def attr(self, name: str) -> Attr:
        return next(a for a in self.inputs if a.name == name)

    def label(self, props: Mapping[str, Any], id_: Optional[str] = None) -> str:
        name = props.get(self.label_key)
        shown = f"{name!r}" if isinstance(name, str) else "(unnamed)"
        return f"{self.type_name} {shown}" + (f" ({id_})" if id_ else "")


class DokployProvider(ResourceProvider):
    """The dynamic provider behind every resource: generic over a `Lifecycle`.

    Instances hold nothing when constructed, so the pickled `__provider` blob is just a reference to
    the class; everything else is set up in `configure`, inside the provider process.
    """

    lifecycle: ClassVar[Lifecycle]
    # Nothing secret is ever pickled (no attributes at construction), so the blob need not be
    # encrypted: that saves two encryptions and most of the blob's size per resource.
    serialize_as_secret_always = False

    _init_lock: ClassVar[threading.Lock] = threading.Lock()

    def configure(self, req: ConfigureRequest) -> None:
        self._pool = ClientPool(ConfigSource(req.config))

    def _clients(self) -> ClientPool:
        pool = self.__dict__.get("_pool")
        if pool is None:
            # configure() is not called by set_mocks or direct calls: fall back to the environment.
            with self._init_lock:
                pool = self.__dict__.get("_pool") or ClientPool(ConfigSource(None))
                self._pool = pool
        return pool

    def _client(self, props: Mapping[str, Any]) -> DokployClient:
        return self._clients().client(Connection.from_input(props.get("connection")))

    def _run(
        self,
        op: str,
        props: Mapping[str, Any],
        id_: Optional[str],
        fn: Callable[[], Any],
        olds: Optional[Mapping[str, Any]] = None,
    ) -> Any:
        try:
            return fn()
        except (DokployError, CredentialError) as exc:
            # A server may echo what it was sent (e.g. a failed SQL query with its parameters):
            # never let the env values, which are secrets, into the message Pulumi prints.
            message = redact_env(str(exc), props, olds or {})
        # Raised outside the handler so that not even a suppressed __context__ keeps the original
        # error (and the server's answer, with whatever it echoed) attached.
        raise ProviderError(f"{self.lifecycle.label(props, id_)}: {op} failed: {message}")

    # -- check ------------------------------------------------------------------------------------
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        lc = self.lifecycle
        failures: list[CheckFailure] = []
        inputs: dict[str, Any] = {}
        unmanaged = lc.unmanaged(news)
        for attr in lc.inputs:
            value = news.get(attr.name)
            if attr.name in unmanaged:
                inputs[attr.name] = None
                continue
            reason = _validate(attr, value)
            if reason:
                failures.append(CheckFailure(attr.name, reason))
                inputs[attr.name] = value
            else:
                inputs[attr.name] = normalize(attr, value)
        if not failures:
            failures.extend(lc.validate(olds, inputs))
            conn = inputs.get("connection")
            if not is_unknown(conn):
                try:
                    self._clients().resolve(Connection.from_input(conn))
                except CredentialError as exc:
                    failures.append(CheckFailure("connection", str(exc)))
        return CheckResult(inputs, failures)

    # -- diff -------------------------------------------------------------------------------------
    def changed_inputs(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        changed: list[str] = []
        replaces: list[str] = []
        unmanaged = self.lifecycle.unmanaged(news)
        for attr in self.lifecycle.inputs:
            if attr.create_only or attr.name in unmanaged:
                continue
            new = news.get(attr.name)
            if is_unknown(new):
                # Unknown until apply: it may change, and if it does on a replace field, it replaces.
                changed.append(attr.name)
                if attr.replace:
                    replaces.append(attr.name)
                continue
            old, new = normalize(attr, olds.get(attr.name)), normalize(attr, new)
            if old == new:
                continue
            changed.append(attr.name)
            if attr.replace:
                replaces.append(attr.name)
            elif attr.kind == "connection" and _conn_url(old) != _conn_url(new):
                # Another server holds other objects: the id would mean nothing there.
                replaces.append(attr.name)
        return changed, replaces

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Every resource of the stack is diffed during `up`: its object is held, never to be adopted
        # by another resource's lost create.
        self._clients().session.remember(id_)
        changed, replaces = self.changed_inputs(olds, news)
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    # -- create / read / update / delete ---------------------------------------------------------
    def _normalized(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical inputs (as `check` stores them): inputs left to the server stay None."""
        unmanaged = self.lifecycle.unmanaged(props)
        return {a.name: None if a.name in unmanaged else normalize(a, props.get(a.name)) for a in self.lifecycle.inputs}

    def _outputs(self, inputs: Mapping[str, Any], server: Mapping[str, Any]) -> dict[str, Any]:
        outs = {a.name: inputs.get(a.name) for a in self.lifecycle.inputs}
        outs.update({k: None for k in self.lifecycle.computed})
        outs.update(server)
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self._normalized(props)
        id_, server = self._run("create", inputs, None, lambda: self.lifecycle.create(self._client(inputs), inputs))
        self._clients().session.remember(id_)
        return CreateResult(id_, self._outputs(inputs, server))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        lc = self.lifecycle
        server = self._run("read", props, id_, lambda: lc.read(self._client(props), id_, props))
        if server is None:
            return ReadResult(None, {})  # deleted out of band: the engine drops it from state
        self._clients().session.remember(id_)
        olds = self._normalized(props)
        # Computed values the read does not return (environment.one has no createdAt) are kept.
        kept = {k: props.get(k) for k in lc.computed}
        outs = self._outputs(olds, {**kept, **server})
        # Rewrite the stored inputs to what the server holds, so the next `up` shows the drift.
        inputs = {a.name: outs.get(a.name) for a in lc.inputs}
        return ReadResult(id_, outs, inputs=inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        lc = self.lifecycle
        inputs = self._normalized(news)
        changed, _ = self.changed_inputs(olds, inputs)
        api_fields = {n for n in changed if not lc.attr(n).state_only}
        self._clients().session.remember(id_)
        server: dict[str, Any] = {k: olds.get(k) for k in lc.computed}
        if api_fields:
            server.update(
                self._run("update", inputs, id_, lambda: lc.update(self._client(inputs), id_, olds, inputs, api_fields), olds)
            )
        return UpdateResult(self._outputs(inputs, server))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._run("delete", props, id_, lambda: self.lifecycle.delete(self._client(props), id_, props))


def _conn_url(conn: Any) -> Optional[str]:
    if not isinstance(conn, Mapping) or not conn.get("url"):
        return None
    try:
        return normalize_url(conn["url"])
    except ValueError:
        return conn["url"]
