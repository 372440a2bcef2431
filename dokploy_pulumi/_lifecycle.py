"""The lifecycle engine every Dokploy resource shares.

A resource is *declared* (`Lifecycle.inputs`: a tuple of `Attr`s, see `_attrs.py`) and supplies
four small API functions (create, read, update, delete). This module turns that into Pulumi's
check / diff / create / read / update / delete, with the same normalisation, unknown handling,
credential lookup and error wording for every resource.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Optional, TypeVar

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

from . import _oneline_errors, _workers
from ._attrs import ENV, Attr, is_unknown
from ._connection import ClientPool, ConfigSource, Connection
from ._exceptions import CredentialError, DokployError, NotFoundError, ProviderError, context_words
from ._redact import Secrets, env_values, more_secrets

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient

PROVIDER_KEY = "__provider"

T = TypeVar("T")

#: Inputs or outputs as the engine passes them (plain dicts).
Props = Mapping[str, Any]
#: The output values a lifecycle function returns.
Outputs = dict[str, Any]


def gone_as_none(read: Callable[[], T]) -> Optional[T]:
    """The read's result, or None when the server says the object does not exist (its own
    NOT_FOUND: see `_exceptions.classify_404`)."""
    try:
        return read()
    except NotFoundError:
        return None


def secret_values(attrs: tuple[Attr, ...], *props: Mapping[str, Any]) -> list[str]:
    """The values of the sensitive inputs in `props`, each env value alone. Which substrings of
    them a message may not show is the one redaction rule's (`_redact.py`)."""
    values: list[str] = []
    for attr in (a for a in attrs if a.sensitive):
        for p in props:
            value = p.get(attr.name) if isinstance(p, Mapping) else None
            if value is None or is_unknown(value):
                continue
            if attr.type is ENV:
                values += env_values(value)  # tolerant of malformed input: check reports it
            elif isinstance(value, str):
                values.append(value)
    return values


class Lifecycle:
    """What one resource type declares and does against the API. Subclasses fill this in."""

    type_name: ClassVar[str]
    inputs: ClassVar[tuple[Attr, ...]]
    #: Output-only properties (besides the id).
    computed: ClassVar[tuple[str, ...]] = ()
    #: Inputs that name the object on the server, for messages.
    label_key: ClassVar[str] = "name"
    #: Replace by deleting the old object before creating the new one (see `before_replace`).
    delete_before_replace: ClassVar[bool] = False

    def validate(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[CheckFailure]:
        """Resource-specific check failures on the normalised new inputs."""
        return []

    def unmanaged(self, news: Mapping[str, Any]) -> frozenset[str]:
        """Inputs these declared inputs leave to the server: kept as None (not normalised), never
        diffed and never sent, so the server's value stays and shows in the outputs."""
        return frozenset()

    #: Unmanaged inputs whose outputs exist only while the program sets them (a project's `tags`):
    #: when the program stops setting one, the old value leaves the state in a change that sends
    #: nothing, because reads go by the stored outputs and would go on reading (and showing as
    #: drift) what the stack no longer owns.
    let_go: frozenset[str] = frozenset()

    def create(self, client: DokployClient, inputs: Props) -> tuple[str, Outputs]:
        raise NotImplementedError

    def read(self, client: DokployClient, id_: str, olds: Props) -> Optional[Outputs]:
        """Server values of the outputs, or None when the object no longer exists."""
        raise NotImplementedError

    def update(self, client: DokployClient, id_: str, olds: Props, news: Props, changed: set[str]) -> Outputs:
        raise NotImplementedError

    def delete(self, client: DokployClient, id_: str, olds: Props) -> None:
        raise NotImplementedError

    # The diff hooks get `connect`, which makes the client, instead of a client: the diff of an
    # update that needs no look must not even resolve the connection (which fails when it is, say,
    # unknown at preview).

    def before_replace(
        self, connect: Callable[[], DokployClient], id_: str, olds: Props, news: Props, replaces: list[str]
    ) -> None:
        """Raise (a `DokployError`) when a replace the diff plans could not finish, e.g. because the
        old object's delete is going to be refused: the diff then fails at preview, and at `up`
        before anything is created or deleted. Called only for a replace that is certain."""

    def before_update(
        self, connect: Callable[[], DokployClient], id_: str, olds: Props, news: Props, changed: set[str]
    ) -> None:
        """Raise (a `DokployError`) when an in-place update the diff plans must not happen: the diff
        then fails at preview, and at `up` before any step. Called for every diff that changes
        something without replacing; it must make no request unless the change calls for a look."""

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
        # Inside the SDK's provider server (`python -m pulumi.dynamic`) only; each does nothing
        # elsewhere, and nothing if the server does not look as expected. See their modules.
        _oneline_errors.install(lambda exc: isinstance(exc, ProviderError))  # errors as one line
        _workers.apply_from_env()  # DOKPLOY_PULUMI_PROVIDER_WORKERS: more than 4 operations at once

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
        # A server may echo what it was sent or holds (e.g. a failed SQL query with its parameters):
        # the old and new secret values are redacted by the transport before it folds or cuts the
        # server's text, and once more from the whole message here.
        values = secret_values(self.lifecycle.inputs, props, olds or {})
        try:
            with more_secrets(values):
                return fn()
        except DokployError as exc:
            secrets = Secrets(values)
            label = self.lifecycle.label(props, id_)
            keep = (*context_words(exc), f"{label}: {op} failed:")
            message = secrets.redact(str(exc), keep=keep)
        # Raised outside the handler so that not even a suppressed __context__ keeps the original
        # error (and the server's answer, with whatever it echoed) attached.
        raise ProviderError(secrets.redact(f"{label}: {op} failed: {message}", keep=keep))

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
            reason = attr.problem(value)
            if reason:
                failures.append(CheckFailure(attr.name, reason))
                inputs[attr.name] = value
            else:
                inputs[attr.name] = attr.normalize(value)
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
            if attr.name in unmanaged and attr.name in self.lifecycle.let_go and olds.get(attr.name) is not None:
                changed.append(attr.name)  # no longer managed: only the state changes (see `let_go`)
                continue
            if attr.create_only or attr.name in unmanaged:
                continue
            old, new = attr.normalize(olds.get(attr.name)), attr.normalize(news.get(attr.name))
            # Unknown until apply: it may change, and if it does on a replace field, it replaces.
            if is_unknown(new) or old != new:
                changed.append(attr.name)
                if attr.replaces(old, new):
                    replaces.append(attr.name)
        return changed, replaces

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Every resource of the stack is diffed during `up`: its object is held, never to be adopted
        # by another resource's lost create.
        self._clients().session.remember(id_)
        changed, replaces = self.changed_inputs(olds, news)
        lc = self.lifecycle
        if any(not is_unknown(news.get(name)) for name in replaces):
            # A certain replace. (One that only an unknown value may cause is checked by the diff
            # that `up` makes once the value is known, still before any step.)
            self._run(
                "replace",
                news,
                id_,
                lambda: lc.before_replace(lambda: self._client(olds), id_, olds, news, replaces),
                olds,
            )
        elif changed and not replaces:
            self._run(
                "update",
                news,
                id_,
                lambda: lc.before_update(lambda: self._client(olds), id_, olds, news, set(changed)),
                olds,
            )
        return DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces) and lc.delete_before_replace
        )

    # -- create / read / update / delete ---------------------------------------------------------
    def _normalized(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical inputs (as `check` stores them): inputs left to the server stay None."""
        unmanaged = self.lifecycle.unmanaged(props)
        return {a.name: None if a.name in unmanaged else a.normalize(props.get(a.name)) for a in self.lifecycle.inputs}

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
        api_fields = {n for n in changed if not lc.attr(n).state_only} - lc.unmanaged(inputs)
        self._clients().session.remember(id_)
        server: dict[str, Any] = {k: olds.get(k) for k in lc.computed}
        if api_fields:
            server.update(
                self._run(
                    "update", inputs, id_, lambda: lc.update(self._client(inputs), id_, olds, inputs, api_fields), olds
                )
            )
        return UpdateResult(self._outputs(inputs, server))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._run("delete", props, id_, lambda: self.lifecycle.delete(self._client(props), id_, props))
