"""`python -m dokploy_pulumi recover`: resolve the pending creates an interrupted `pulumi up` left.

When the Pulumi CLI dies during `pulumi up` (SIGKILL, a CI runner gone), every create it had
started stays in the checkpoint as a pending CREATE operation, and Dokploy may hold the object
that create made. What the pinned engine (v3.260) offers does not resolve that for dynamic
providers (see the README section "When `pulumi up` was interrupted" for the evidence):

- a plain `pulumi up` warns, then creates every such resource again: duplicates;
- `pulumi refresh --clear-pending-creates` forgets them all: orphans;
- `pulumi refresh --import-pending-creates URN ID` turns the operation into a pending *import*,
  which that same refresh then drops without reading anything: the resource is not in the state
  and the next `up` creates it again.

So this command finds, for each pending create of a dokploy_pulumi resource, the object it made.
Names are not unique in Dokploy and anyone can make an object of the same name, so a name is no
proof of ownership. An object is recorded automatically only when it has the exact name (for an
environment, in the declared project), is owned by no resource in the state, and was created
after the interrupted update started, by a time that really is that update's start: the stale
lock the killed CLI left (file backends), or an update still in progress in `pulumi stack history`
(carried over in a marker file when an earlier run removed the lock and then failed). That time
is this machine's clock; it is moved onto Dokploy's clock with the `Date` headers of this run's
answers (`ServerClock`), so an object made even a second before the update is not taken. Without
such a time nothing is recorded automatically: the objects are listed with their `createdAt`, and
the user decides (`--choose URN ID`, `--clear URN`, or `--since TIME` on Dokploy's clock).

`pulumi stack import` drops every pending operation, so the state is edited only when every
pending create is decided (all or nothing). A recorded resource's inputs and outputs are what the
provider's own `read` stores, computed from the server's answer before anything is changed (never
the declared inputs: a state claiming the declared env would make the next `up` skip writing it).
Before the edit the state is saved to a backup; the lock is removed only after every read has
succeeded, just before the import. So after a failure at any step the state either is the backup
or holds exactly what the server answered.

Why one file: it is one command, read top to bottom in the order it runs (find the start of the
interrupted update, decide each pending create, read what is recorded, edit and import the state).
What it shares with `import` (the Pulumi CLI, the connection) is in `_pulumi_cli.py`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shlex
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO
from urllib.parse import unquote, urlsplit

from ._client import DokployClient
from ._connection import ClientPool, ConfigSource, Connection
from ._exceptions import DokployError, NotFoundError
from ._lifecycle import DokployProvider
from ._models import DEFAULT_ENVIRONMENT_NAME, parse_timestamp
from ._pulumi_cli import CommandFailed, PulumiCLI, connection_source
from ._reconcile import read_server_clock
from ._session import Session
from ._tokens import type_token
from .providers import EnvironmentDuplicateProvider, EnvironmentProvider, ProjectDuplicateProvider, ProjectProvider

PROJECT_T = type_token("Project")
ENVIRONMENT_T = type_token("Environment")
ENV_DUPLICATE_T = type_token("EnvironmentDuplicate")
PROJECT_DUPLICATE_T = type_token("ProjectDuplicate")
PROVIDERS: dict[str, type[DokployProvider]] = {
    PROJECT_T: ProjectProvider,
    ENVIRONMENT_T: EnvironmentProvider,
    ENV_DUPLICATE_T: EnvironmentDuplicateProvider,
    PROJECT_DUPLICATE_T: ProjectDuplicateProvider,
}
OUR_TYPES = tuple(PROVIDERS)
DEFAULT_ENVIRONMENT = DEFAULT_ENVIRONMENT_NAME  # the one default-environment rule is in _models
# How Pulumi marks a secret value in an exported checkpoint ("ciphertext", or "plaintext" with
# --show-secrets; `stack import` encrypts a plaintext one with the stack's secrets provider).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# createdAt has millisecond precision: an object made at server time t reads t minus up to 1 ms.
CREATED_AT_PRECISION = 0.001


class RecoverFailed(CommandFailed):
    """Recovery cannot go on; the message says why."""


# -- when did the interrupted update start? --------------------------------------------------------


@dataclass(frozen=True)
class Lock:
    """A file backend's lock on the stack (left behind by a CLI that was killed)."""

    path: Path
    pid: int
    hostname: str
    timestamp: dt.datetime

    def stale(self) -> bool:
        """True when the process that took it is gone (only decidable on the same host)."""
        if self.hostname != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


_parse_time = parse_timestamp


def file_backend_locks(backend_url: Optional[str], fq_stack: Optional[str]) -> list[Lock]:
    """The lock files of a `file://` backend for this stack (`.pulumi/locks/<org>/<project>/<stack>/`)."""
    if not backend_url or not backend_url.startswith("file://") or not fq_stack:
        return []
    root = Path(unquote(urlsplit(backend_url).path))
    candidates = [root / ".pulumi" / "locks" / fq_stack]
    # Older (non project-scoped) layouts keep only the stack name.
    candidates.append(root / ".pulumi" / "locks" / fq_stack.rsplit("/", 1)[-1])
    locks = []
    for folder in candidates:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            moment = _parse_time(data.get("timestamp"))
            if moment is not None:
                locks.append(Lock(path, int(data.get("pid") or 0), str(data.get("hostname") or ""), moment))
    return locks


@dataclass(frozen=True)
class StartBound:
    """When the interrupted update started, if something proves it.

    `moment` None: nothing does (the lock was removed and no update is in progress), and nothing
    is recorded without the user's word. `server_clock`: the moment is on Dokploy's clock (a
    `--since` the user read off the listed `createdAt` values); otherwise it is this machine's.
    """

    moment: Optional[dt.datetime]
    source: str
    server_clock: bool = False


UNPROVEN = StartBound(
    None,
    "nothing that proves when the interrupted update started (no stale lock: `pulumi cancel` removed it, "
    "or the backend keeps none; no update in progress in `pulumi stack history`)",
)


NEWER_LOCK = StartBound(
    None,
    "nothing that proves when the interrupted update started (the stale lock is newer than the state holding "
    "the pending creates: a later operation's; no update in progress in `pulumi stack history`)",
)


def lock_bound(locks: Sequence[Lock], saved: Optional[dt.datetime] = None) -> Optional[StartBound]:
    """The killed CLI wrote its lock before it sent any request: a lower bound of every create's time.

    `saved`: when the checkpoint holding the pending creates was saved (both times are this
    machine's). That update saved it after taking its lock; a lock newer than the checkpoint is a
    later operation's (say a `pulumi refresh` killed after the first lock was cancelled), and as a
    bound it would rule out every object the creates made: no bound at all then."""
    if not locks:
        return None
    first = min(lock.timestamp for lock in locks)
    if saved is not None and first > saved:
        return None
    return StartBound(first, f"the stale lock of the interrupted update ({first.isoformat()})")


def history_bound(cli: PulumiCLI) -> Optional[StartBound]:
    """The start of an update `pulumi stack history` still shows in progress (no endTime).

    The end of an earlier update is no bound: anything made between it and the interrupted
    update (by hand, by another tool) would pass it."""
    proc = cli.run("stack", "history", "--json", check=False)
    try:
        history = json.loads(proc.stdout) if proc.returncode == 0 else []
    except ValueError:
        history = []
    for entry in history if isinstance(history, list) else []:
        if not isinstance(entry, dict) or entry.get("endTime"):
            continue
        start = _parse_time(entry.get("startTime")) or _parse_epoch(entry.get("startTime"))
        if start is not None:
            return StartBound(
                start, f"the start of the update in progress in `pulumi stack history` ({start.isoformat()})"
            )
    return None


def _parse_epoch(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return None


# -- the marker: the bound, kept for the next run once the lock is gone ---------------------------


def marker_path(folder: Path, fq_stack: Optional[str]) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", fq_stack or "stack")
    return folder / f"dokploy-recover-bound-{safe}.json"


def checkpoint_of(deployment: Mapping[str, Any]) -> str:
    """What identifies the checkpoint an interruption left: when it was saved, and its pending creates.

    A marker holds the bound of one interruption. Any later `pulumi up`, refresh or import saves
    the checkpoint again (a new manifest time), so a marker left weeks ago by a failed run never
    dates a later interruption of the same resources (an object made by hand in between would
    pass that old bound). `pulumi cancel` and a failed `stack import` save nothing: a repeated run
    for the same interruption still finds its marker."""
    manifest = deployment.get("manifest") or {}
    when = manifest.get("time") if isinstance(manifest, Mapping) else None
    return json.dumps({"time": when, "pending": sorted(_urn(op) for op in pending_creates(deployment))})


def read_marker(path: Path, fq_stack: Optional[str], checkpoint: str) -> dict[str, StartBound]:
    """The bounds an earlier run proved, by URN (empty when there is no marker for this stack and
    this very checkpoint)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("stack") != fq_stack or data.get("checkpoint") != checkpoint:
        return {}
    bounds = {}
    for urn, entry in (data.get("bounds") or {}).items():
        moment = _parse_time(entry.get("moment")) if isinstance(entry, dict) else None
        if moment is not None:
            source = f"{entry.get('source')}, kept in {path.name} by an earlier run"
            bounds[str(urn)] = StartBound(moment, source)
    return bounds


def write_marker(path: Path, fq_stack: Optional[str], checkpoint: str, bounds: Mapping[str, StartBound]) -> None:
    kept = {
        urn: {"moment": b.moment.isoformat(), "source": b.source.split(", kept in ")[0]}
        for urn, b in bounds.items()
        if b.moment is not None and not b.server_clock
    }
    if kept:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stack": fq_stack, "checkpoint": checkpoint, "bounds": kept}, indent=2))
        os.replace(tmp, path)


def start_bounds(
    urns: Iterable[str],
    locks: Sequence[Lock],
    marker: Mapping[str, StartBound],
    cli: PulumiCLI,
    since: Optional[dt.datetime],
    saved: Optional[dt.datetime] = None,
) -> dict[str, StartBound]:
    """The bound of each pending create: --since; else the marker's (its update came first);
    else the stale lock (if older than the checkpoint, `saved`); else an update in progress; else none."""
    if since is not None:
        user = StartBound(since, f"--since {since.isoformat()} (Dokploy's clock)", server_clock=True)
        return {urn: user for urn in urns}
    lock = lock_bound(locks, saved)
    looked_up: list[Optional[StartBound]] = []
    bounds = {}
    for urn in urns:
        found = marker.get(urn) or lock
        if found is None:
            if not looked_up:
                looked_up.append(history_bound(cli))
            found = looked_up[0]
        bounds[urn] = found or (NEWER_LOCK if locks else UNPROVEN)
    return bounds


# -- the state ------------------------------------------------------------------------------------


@dataclass
class Candidate:
    id: str
    name: str
    created_at: Optional[str]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    urn: str
    type: str
    name: str
    action: str  # "import" | "clear" | "ambiguous" | "unproven" | "skip"
    reason: str
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def chosen(self) -> Optional[Candidate]:
        return self.candidates[0] if self.action == "import" else None

    @property
    def decided(self) -> bool:
        return self.action in ("import", "clear")


def pending_creates(deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [op for op in deployment.get("pending_operations") or [] if op.get("type") == "creating"]


def _urn(op: Mapping[str, Any]) -> str:
    return str((op.get("resource") or {}).get("urn"))


def owned_ids(deployment: Mapping[str, Any]) -> set[str]:
    """Ids of every Dokploy object a resource in the state already stands for."""
    ids: set[str] = set()
    for res in deployment.get("resources") or []:
        if res.get("type") in OUR_TYPES and res.get("id"):
            ids.add(str(res["id"]))
            outs = res.get("outputs") or {}
            if isinstance(outs.get("default_environment_id"), str):
                ids.add(outs["default_environment_id"])
    return ids


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and SECRET_SIG_KEY in value


def _plain(value: Any) -> Any:
    """A state value, or None when it is a secret (ciphertext we do not need)."""
    return None if _is_secret(value) else value


def _reveal(value: Any) -> Any:
    """A value of `pulumi stack export --show-secrets` with every secret replaced by its plaintext."""
    if _is_secret(value):
        text = value.get("plaintext")
        return _reveal(json.loads(text)) if isinstance(text, str) else None
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


def _secret(value: Any) -> dict[str, str]:
    """A plaintext secret for `pulumi stack import`, which encrypts it with the stack's secrets provider."""
    return {SECRET_SIG_KEY: SECRET_SIG, "plaintext": json.dumps(value)}


# -- finding what a pending create made ----------------------------------------------------------


class Server:
    """One Dokploy server as this run sees it; the project listing is read once."""

    def __init__(self, client: DokployClient) -> None:
        self.client = client
        self._projects: Optional[list[Any]] = None

    def projects(self) -> list[Any]:
        if self._projects is None:
            self._projects = list(self.client.project.all())
        return self._projects


Clients = Callable[[Optional[Mapping[str, Any]]], Server]


def _listed(rows: Sequence[Candidate]) -> str:
    return ", ".join(f"{c.id} (created {c.created_at})" for c in rows)


def _cutoff(bound: StartBound, client: DokployClient) -> Optional[float]:
    """The bound on Dokploy's clock (epoch seconds), or None when it cannot be placed there.

    A moment on this machine's clock is moved by the offset the server's own clock proves
    (`server.getServerTime`, the clock that stamps `createdAt`; see `ServerClock`): the lower end of
    that interval, so every create the update sent reached the server at or after it, whatever the
    two clocks read. Never the `Date` header, which a reverse proxy replaces with its own clock."""
    if bound.moment is None:
        return None
    if bound.server_clock:
        # The user's word, on Dokploy's clock. One still to come (a typo, a local time taken as UTC)
        # would rule out every object the update made: each CLEARed, and the next `up` makes them
        # again. No interrupted update started later than now: refuse it.
        now = client.server_time()
        if now is not None and bound.moment.timestamp() > now:
            at = dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat()
            raise RecoverFailed(
                f"--since {bound.moment.isoformat()} is later than Dokploy's clock now ({at}): the interrupted "
                "update started before it. Give the time it started (as the listed createdAt values), or nothing"
            )
        return bound.moment.timestamp()
    if client.clock.server_time_at(bound.moment.timestamp()) is None:
        # Readings as a lost create takes them: two at least, so that a proxy caching the answer
        # (one stale time, which would move the bound back and let older objects in) is exposed.
        # None (Dokploy Cloud answers null), an error or contradicting readings leave it unplaced.
        read_server_clock(client)
    interval = client.clock.server_time_at(bound.moment.timestamp())
    return None if interval is None else interval[0]


def _when(epoch: float) -> str:
    """An epoch time as ISO-8601 (a --since at the year 1 with a zone east of UTC is before year 1 in UTC)."""
    try:
        return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return "the beginning of the calendar"


def decide(
    op: Mapping[str, Any],
    owned: set[str],
    bound: StartBound,
    clients: Clients,
    chosen_id: Optional[str] = None,
    clear: bool = False,
    margin: float = 120.0,
) -> Decision:
    """What to do with one pending create.

    `owned`: ids no pending create may take (in the state, or chosen for another pending create).
    `chosen_id` / `clear`: the user's word (`--choose`, `--clear`). `margin`: seconds before the
    bound in which an object is neither taken nor ruled out (the clocks' readings may be off)."""
    res = op.get("resource") or {}
    urn, type_ = str(res.get("urn")), str(res.get("type"))
    inputs = res.get("inputs") or {}
    name = _plain(inputs.get("name"))
    decision = Decision(urn=urn, type=type_, name=str(name), action="skip", reason="")
    if clear:
        decision.action, decision.reason = "clear", "cleared with --clear: the next `pulumi up` creates it"
        return decision
    if type_ not in OUR_TYPES:
        decision.reason = (
            "not a dokploy_pulumi resource: decide it yourself (`--clear URN` drops it; `pulumi stack import` "
            "drops every pending operation, so nothing is changed until each is decided)"
        )
        return decision
    unreadable = [k for k in ("name", "connection", "project_id", "source_environment_id") if _is_secret(inputs.get(k))]
    if unreadable:
        decision.reason = f"its {', '.join(unreadable)} is secret in the state: decide it with --choose or --clear"
        return decision
    if _plain(inputs.get("adopt_id")) or (type_ == ENVIRONMENT_T and name == DEFAULT_ENVIRONMENT):
        decision.action = "clear"
        decision.reason = "it only adopts an existing object (nothing is created): the next `pulumi up` adopts it again"
        return decision
    server = clients(_plain(inputs.get("connection")))
    client = server.client
    try:
        if type_ in (PROJECT_T, PROJECT_DUPLICATE_T):
            rows = [Candidate(p.project_id, p.name, p.created_at) for p in server.projects()]
            where = "projects"
        else:
            if type_ == ENVIRONMENT_T:
                project_id = _plain(inputs.get("project_id"))
            else:
                project_id = _source_project(client, _plain(inputs.get("source_environment_id")))
            if not isinstance(project_id, str) or not project_id:
                decision.action = "clear"
                decision.reason = "its project does not exist (any more): nothing can have been created"
                return decision
            try:
                detail = client.project.one(project_id)
            except NotFoundError:
                decision.action = "clear"
                decision.reason = f"project {project_id} does not exist: nothing can have been created in it"
                return decision
            rows = [
                Candidate(
                    e.environment_id, e.name, e.created_at, {"is_default": e.is_default, "project_id": project_id}
                )
                for e in detail.environments
                if not e.is_default
            ]
            where = f"environments of project {project_id}"
    except DokployError as exc:
        raise RecoverFailed(f"{urn}: could not list Dokploy objects: {exc}") from None
    named = [c for c in rows if c.name == name and c.id not in owned]
    if chosen_id is not None:
        picked = [c for c in named if c.id == chosen_id]
        if not picked:
            raise RecoverFailed(
                f"{urn}: {chosen_id} is not one of the {where} named {name!r} that no resource in the state "
                "(nor another --choose) owns"
            )
        decision.candidates, decision.action, decision.reason = picked, "import", "chosen with --choose"
        return decision
    if not named:
        decision.action = "clear"
        decision.reason = (
            f"none of the {where} named {name!r} is free (owned by no resource in the state, chosen for no "
            "other pending create): the create made nothing"
        )
        return decision
    # Read after the listing, so that its answers' Date headers count as measurements.
    cutoff = _cutoff(bound, client)
    if cutoff is None:
        decision.action, decision.candidates = "unproven", named
        why = (
            bound.source
            if bound.moment is None
            else "Dokploy's clock could not be read (server.getServerTime) to place it there"
        )
        decision.reason = (
            f"{len(named)} of the {where} named {name!r}, but {why}: not recorded without your word. "
            "If one was made by the interrupted update: --choose URN ID; if none was: --clear URN; "
            "or give --since TIME (Dokploy's clock, as the createdAt values below)"
        )
        return decision
    low = cutoff - CREATED_AT_PRECISION
    fresh, near, older = [], [], []
    for c in named:
        moment = _parse_time(c.created_at)
        if moment is None or low - margin <= moment.timestamp() < low:
            near.append(c)  # no readable time, or too close to the bound to rule out
        elif moment.timestamp() >= low:
            fresh.append(c)
        else:
            older.append(c)
    at = _when(cutoff)
    left = f"; {len(older)} older one(s) left alone ({_listed(older)})" if older else ""
    decision.candidates = fresh + near
    if len(fresh) == 1 and not near:
        decision.action = "import"
        decision.reason = f"exactly one of the {where} named {name!r} was created at or after {at}{left}"
    elif not fresh and not near:
        decision.action = "clear"
        decision.reason = (
            f"none of the {where} named {name!r} was created at or after {at}: the create made nothing{left}"
        )
    else:
        decision.action = "ambiguous"
        decision.reason = (
            f"{len(fresh)} of the {where} named {name!r} were created at or after {at}"
            + (f", {len(near)} within {margin:g} s before it (or at no readable time)" if near else "")
            + f"{left}. Pick with --choose URN ID, or delete the extra ones in Dokploy"
        )
    return decision


def settle_conflicts(decisions: Sequence[Decision]) -> list[Decision]:
    """One object can be what at most one pending create made: if several would record the same
    id (say a Project and a ProjectDuplicate of one name), none does; each lists the candidates."""
    claims: dict[str, list[Decision]] = {}
    for d in decisions:
        if d.chosen is not None:
            claims.setdefault(d.chosen.id, []).append(d)
    for object_id, rivals in claims.items():
        if len(rivals) > 1:
            for d in rivals:
                d.action = "ambiguous"
                others = ", ".join(r.urn for r in rivals if r is not d)
                d.reason = (
                    f"{object_id} would also be recorded for {others}. Pick with --choose URN ID (the id then "
                    "leaves the other's candidates) or --clear URN"
                )
    return list(decisions)


def _source_project(client: DokployClient, source_id: Any) -> Optional[str]:
    if not isinstance(source_id, str) or not source_id:
        return None
    try:
        env = client.environment.one(source_id)
    except NotFoundError:
        return None
    return env.project_id or (env.project.project_id if env.project else None)


# -- what a recorded resource holds: the provider's own read --------------------------------------


class _OneClient(ClientPool):
    """The provider's client pool, serving the one client this run resolved for the resource."""

    def __init__(self, client: DokployClient) -> None:
        super().__init__(ConfigSource(None), Session())
        self._only = client

    def client(self, connection: Optional[Connection]) -> DokployClient:
        return self._only


@dataclass(frozen=True)
class Record:
    """The state entry of a recorded resource: inputs and outputs as `read` stores them."""

    inputs: dict[str, Any]
    outputs: dict[str, Any]


def read_record(d: Decision, revealed: Mapping[str, Any], encrypted: Mapping[str, Any], server: Server) -> Record:
    """Read the chosen object through the provider's own `read` (what `pulumi refresh` would store).

    `revealed`: the pending create's resource from `stack export --show-secrets` (its inputs are
    what `read` needs); `encrypted`: the same from the plain export (which inputs are secret).
    Values that were secret, and every sensitive one (env), are written as secrets."""
    chosen = d.chosen
    assert chosen is not None
    provider = PROVIDERS[d.type]()
    # What `configure` sets up inside the provider process; here, the client this run resolved.
    provider._pool = _OneClient(server.client)
    props = dict(_reveal(revealed.get("inputs") or {}))
    # environment.one carries no createdAt (nor, before v0.26.1, isDefault): read keeps the stored one.
    props["created_at"] = chosen.created_at
    if "is_default" in chosen.extra:
        props["is_default"] = chosen.extra["is_default"]
    try:
        result = provider.read(chosen.id, props)
    except DokployError as exc:
        raise RecoverFailed(f"{d.urn}: reading {chosen.id} failed, nothing was changed: {exc}") from None
    if result.id is None:
        raise RecoverFailed(f"{d.urn}: {chosen.id} was deleted since it was listed; nothing was changed: run again")
    blob = (encrypted.get("inputs") or {}).get("__provider")
    secret_in = {k for k, v in (encrypted.get("inputs") or {}).items() if _is_secret(v)}
    sensitive = {a.name for a in provider.lifecycle.inputs if a.sensitive}
    secret_out = secret_in | sensitive | set(encrypted.get("additionalSecretOutputs") or [])

    def state(values: Mapping[str, Any], secret: set[str]) -> dict[str, Any]:
        shaped = {k: _secret(v) if k in secret and v is not None else v for k, v in values.items()}
        shaped["__provider"] = blob  # the dynamic provider finds its class here (see pulumi.dynamic)
        return shaped

    return Record(state(result.inputs or {}, secret_in | sensitive), state(result.outs or {}, secret_out))


# -- editing the state ------------------------------------------------------------------------------


def edited_deployment(
    exported: Mapping[str, Any], decisions: Sequence[Decision], records: Mapping[str, Record]
) -> dict[str, Any]:
    """The exported checkpoint with every pending create resolved: recorded ones become resources
    (their state from `records`), cleared ones are dropped. `pulumi stack import` drops the other
    pending operations anyway; they are dropped here so the document says what the state will be."""
    doc = copy.deepcopy(dict(exported))
    dep = doc["deployment"]
    by_urn = {d.urn: d for d in decisions}
    added = []
    for op in pending_creates(dep):
        d = by_urn.get(_urn(op))
        if d is None or not d.decided:
            raise RecoverFailed(f"{_urn(op)} is not decided: the state is not edited")
        if d.action == "import":
            chosen = d.chosen
            assert chosen is not None
            new = copy.deepcopy(op["resource"])
            new["id"] = chosen.id
            new["inputs"] = records[d.urn].inputs
            new["outputs"] = records[d.urn].outputs
            new["custom"] = True
            added.append(new)
    dep["pending_operations"] = []
    dep["resources"] = list(dep.get("resources") or []) + added
    return doc


# -- the command ----------------------------------------------------------------------------------


def client_factory(cli: PulumiCLI, environ: Mapping[str, str]) -> Clients:
    """A client per connection, resolved by the provider's own resolver (`_connection.resolve`):
    stack config first, then the environment; a resource's own Connection where it has one."""
    pool = ClientPool(connection_source(cli, environ))
    servers: dict[int, Server] = {}

    def get(connection: Optional[Mapping[str, Any]]) -> Server:
        client = pool.client(Connection.from_input(connection if isinstance(connection, Mapping) else None))
        if id(client) not in servers:
            servers[id(client)] = Server(client)
        return servers[id(client)]

    return get


def main(
    *,
    stack: Optional[str],
    apply: bool,
    clock_skew: float,
    out: TextIO,
    choices: Optional[Mapping[str, str]] = None,
    clears: Sequence[str] = (),
    since: Optional[dt.datetime] = None,
    cwd: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
    cli: Optional[PulumiCLI] = None,
) -> int:
    """The `recover` command; returns the exit status (0 done, 2 something is left undecided)."""
    cli = cli or PulumiCLI(stack=stack, cwd=cwd, env=env)
    environ = env if env is not None else os.environ
    fq_stack = cli.stack_name()
    locks = file_backend_locks(cli.backend_url(), fq_stack)
    live = [lock for lock in locks if not lock.stale()]
    if live:
        # A live lock means an update is running: its pending creates are not stale.
        where = ", ".join(f"{lock.hostname} pid {lock.pid}" for lock in live)
        raise RecoverFailed(
            f"the stack is locked by a process that may still be running ({where}). Wait for it, or if you "
            f"are sure it is gone run `{cli.command('cancel', '--yes')}`, then run this again."
        )
    exported = cli.export()
    deployment = exported.get("deployment") or {}
    ops = pending_creates(deployment)
    marker_file = marker_path(cwd or Path.cwd(), fq_stack)
    if not ops:
        print("No pending create in the stack's state: nothing to recover.", file=out)
        if apply and marker_file.exists():
            marker_file.unlink()  # what it kept a bound for is resolved
        return 0
    choices, clears = dict(choices or {}), list(clears)
    urns = [_urn(op) for op in ops]
    unknown = sorted((set(choices) | set(clears)) - set(urns))
    if unknown:
        raise RecoverFailed(f"--choose/--clear name no pending create: {', '.join(unknown)}")
    both = sorted(set(choices) & set(clears))
    if both:
        raise RecoverFailed(f"both --choose and --clear for {', '.join(both)}")
    others = [op for op in deployment.get("pending_operations") or [] if op.get("type") != "creating"]
    if others:
        print(
            f"({len(others)} other pending operation(s), not creates: the state edit drops them, "
            "as `pulumi refresh` or `up` would.)",
            file=out,
        )
    manifest = deployment.get("manifest")
    saved = _parse_time(manifest.get("time")) if isinstance(manifest, Mapping) else None
    marker = read_marker(marker_file, fq_stack, checkpoint_of(deployment))
    bounds = start_bounds(urns, locks, marker, cli, since, saved)
    print(f"{len(ops)} pending create(s).", file=out)
    for source in sorted({b.source for b in bounds.values()}):
        print(f"The interrupted update's start: {source}.", file=out)
    owned = owned_ids(deployment)
    clients = client_factory(cli, environ)
    margin = 0.0 if since is not None else clock_skew
    decisions = settle_conflicts(
        [
            decide(
                op,
                owned | {i for u, i in choices.items() if u != _urn(op)},
                bounds[_urn(op)],
                clients,
                choices.get(_urn(op)),
                clear=_urn(op) in clears,
                margin=margin,
            )
            for op in ops
        ]
    )
    in_state = {str(r.get("urn")) for r in deployment.get("resources") or []}
    for d in decisions:
        if d.urn in in_state and d.action not in ("skip", "clear"):
            # A later `pulumi up` created this resource anyway (or a replacement was interrupted):
            # the state has it, so the pending create is only stale. Never record a second
            # resource under one URN; what the interrupted create made, if anything, is listed.
            d.action = "clear"
            d.reason = (
                "the state already has a resource with this URN (a later `pulumi up`, or an interrupted "
                "replacement): the pending create is stale"
                + ("; if the interrupted create made one of the objects below, it is an orphan" if d.candidates else "")
            )
    for d in decisions:
        _report(d, out)
    # Every read happens now, before anything is changed: a failure leaves the state and the lock as they were.
    records = _read_records(decisions, ops, cli, clients) if any(d.action == "import" for d in decisions) else {}
    undecided = [d for d in decisions if not d.decided]
    if undecided:
        print("", file=out)
        print(
            f"Nothing was changed: {len(undecided)} pending create(s) undecided (see above). `pulumi stack import` "
            "drops every pending operation, so the state is edited only when each is decided: --choose URN ID "
            "(the object it made), --clear URN (it made nothing, or leave what it made alone), or --since TIME. "
            "A `pulumi up` now would create them again.",
            file=out,
        )
        return 2
    imports = [d for d in decisions if d.action == "import"]
    if not apply:
        print("", file=out)
        print("Dry run. To carry this out: " + _again(stack, choices, clears, since), file=out)
        print("which saves the state, then edits it (`pulumi stack import`). Then run `pulumi up`.", file=out)
        return 0
    backup = _write_backup(exported, cwd)
    print(
        f"State before the edit saved to {backup} (restore: `{cli.command('stack', 'import', '--file', str(backup))}`).",
        file=out,
    )
    if locks:
        # The lock is the proof of when the update started: keep it beside the state until the
        # edit is done, so that a run failing from here on can be repeated with the same proof.
        write_marker(marker_file, fq_stack, checkpoint_of(deployment), bounds)
        cli.run("cancel", "--yes")
        print(
            f"Removed the stale lock left by the killed CLI (pid {', '.join(str(k.pid) for k in locks)}, gone).",
            file=out,
        )
    cli.import_state(edited_deployment(exported, decisions, records))
    if marker_file.exists():
        marker_file.unlink()
    print(
        f"State edited: {len(imports)} recorded, {len(decisions) - len(imports)} cleared (recorded as Dokploy "
        "holds them: `pulumi up` converges them to the program).",
        file=out,
    )
    print("Done. Run `pulumi up`: it creates what was never made and converges the rest.", file=out)
    return 0


def _read_records(
    decisions: Sequence[Decision], ops: Sequence[Mapping[str, Any]], cli: PulumiCLI, clients: Clients
) -> dict[str, Record]:
    """The state of every resource to record, from the provider's read of its object."""
    revealed_dep = cli.export_revealed().get("deployment") or {}
    revealed = {_urn(op): op.get("resource") or {} for op in pending_creates(revealed_dep)}
    encrypted = {_urn(op): op.get("resource") or {} for op in ops}
    records = {}
    for d in decisions:
        if d.action == "import":
            if d.urn not in revealed:
                raise RecoverFailed(f"{d.urn} is no longer pending in the state: run again")
            conn = _plain((encrypted[d.urn].get("inputs") or {}).get("connection"))
            records[d.urn] = read_record(d, revealed[d.urn], encrypted[d.urn], clients(conn))
    return records


def _again(
    stack: Optional[str], choices: Mapping[str, str], clears: Sequence[str], since: Optional[dt.datetime]
) -> str:
    words = ["python", "-m", "dokploy_pulumi", "recover", "--apply"] + (["--stack", stack] if stack else [])
    for urn, id_ in choices.items():
        words += ["--choose", urn, id_]
    for urn in clears:
        words += ["--clear", urn]
    if since is not None:
        words += ["--since", since.isoformat()]
    return " ".join(shlex.quote(w) for w in words)


def _report(d: Decision, out: TextIO) -> None:
    label = {"import": "RECORD", "clear": "CLEAR", "ambiguous": "AMBIGUOUS", "unproven": "UNPROVEN", "skip": "SKIP"}
    print(f"- {label[d.action]} {d.urn}", file=out)
    print(f"    name {d.name!r}: {d.reason}", file=out)
    for c in d.candidates:
        print(f"    candidate {c.id} created {c.created_at}", file=out)


def _write_backup(exported: Mapping[str, Any], folder: Optional[Path]) -> Path:
    """The exported state before the edit (secrets stay encrypted), readable by its owner only."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = (folder or Path.cwd()) / f"dokploy-recover-backup-{stamp}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(exported, fh, indent=2)
    return path
