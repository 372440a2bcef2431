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

So this command finds, for each pending create of a dokploy_pulumi resource, the object it made:
the exact name; for an environment, in the declared project; created after the interrupted update
started (the stale lock of a file backend records when; otherwise the end of the last recorded
update, minus an allowance for clock skew); and not owned by any resource already in the state.
Exactly one: the operation becomes a resource in the state with that id (an edited
`pulumi stack import`), and `pulumi refresh --target` reads it through the provider. None: the
operation is cleared (nothing was made; the next `up` creates it). Several: nothing is done for it
and the candidates are listed. Creates that only adopt (`adopt_id`, or the default "production"
environment) made nothing and are cleared: the next `up` adopts again.

Why one file of about 540 lines: it is one command, read top to bottom in the order it runs (find
the start of the interrupted update, decide each pending create, edit and import the state,
refresh). What it shares with `import` (the Pulumi CLI, the connection) is in `_pulumi_cli.py`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shlex
import socket
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TextIO
from urllib.parse import unquote, urlsplit

from ._client import DokployClient
from ._connection import ClientPool, Connection
from ._exceptions import DokployError, NotFoundError
from ._models import parse_timestamp
from ._pulumi_cli import CommandFailed, PulumiCLI, connection_source

PREFIX = "pulumi-python:dynamic/dokploy:"
PROJECT_T = PREFIX + "Project"
ENVIRONMENT_T = PREFIX + "Environment"
ENV_DUPLICATE_T = PREFIX + "EnvironmentDuplicate"
PROJECT_DUPLICATE_T = PREFIX + "ProjectDuplicate"
OUR_TYPES = (PROJECT_T, ENVIRONMENT_T, ENV_DUPLICATE_T, PROJECT_DUPLICATE_T)
DEFAULT_ENVIRONMENT = "production"


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
    """The earliest time the interrupted creates can have reached Dokploy, and where it comes from."""

    moment: Optional[dt.datetime]
    source: str


def start_bound(locks: Sequence[Lock], cli: PulumiCLI) -> StartBound:
    if locks:
        first = min(lock.timestamp for lock in locks)
        return StartBound(first, f"the stale lock of the interrupted update ({first.isoformat()})")
    proc = cli.run("stack", "history", "--json", check=False)
    try:
        history = json.loads(proc.stdout) if proc.returncode == 0 else []
    except ValueError:
        history = []
    times = []
    for entry in history or []:
        # An update still marked in progress is the interrupted one: its start is exact.
        if not entry.get("endTime") and _parse_time(entry.get("startTime")):
            return StartBound(
                _parse_time(entry.get("startTime")), "the start of the interrupted update (stack history)"
            )
        end = _parse_time(entry.get("endTime")) or _parse_epoch(entry.get("endTime"))
        if end is not None:
            times.append(end)
    if times:
        last = max(times)
        return StartBound(last, f"the end of the last recorded update ({last.isoformat()})")
    return StartBound(None, "nothing (no lock, no history): candidates are not bounded in time")


def _parse_epoch(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, (int, float)) and value > 0:
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return None


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
    action: str  # "import" | "clear" | "ambiguous" | "skip"
    reason: str
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def chosen(self) -> Optional[Candidate]:
        return self.candidates[0] if self.action == "import" else None


def pending_creates(deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [op for op in deployment.get("pending_operations") or [] if op.get("type") == "creating"]


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


def _plain(value: Any) -> Any:
    """A state value, or None when it is a secret (ciphertext we do not need)."""
    if isinstance(value, dict) and "4dabf18193072939515e22adb298388d" in value:
        return None
    return value


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


def decide(
    op: Mapping[str, Any],
    owned: set[str],
    since: Optional[dt.datetime],
    clients: Clients,
    chosen_id: Optional[str] = None,
) -> Decision:
    """What to do with one pending create. `chosen_id`: the user's pick among ambiguous candidates."""
    res = op.get("resource") or {}
    urn, type_ = str(res.get("urn")), str(res.get("type"))
    inputs = res.get("inputs") or {}
    name = _plain(inputs.get("name"))
    decision = Decision(urn=urn, type=type_, name=str(name), action="skip", reason="")
    if type_ not in OUR_TYPES:
        decision.reason = "not a dokploy_pulumi resource: left alone"
        return decision
    if not isinstance(name, str):
        decision.reason = "its name is not readable in the state: left alone"
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
    if chosen_id is not None:
        picked = [c for c in rows if c.id == chosen_id and c.name == name and c.id not in owned]
        if not picked:
            raise RecoverFailed(
                f"{urn}: {chosen_id} is not one of the {where} named {name!r} that no resource in the state owns"
            )
        decision.candidates, decision.action, decision.reason = picked, "import", "chosen with --choose"
        return decision
    found = [
        c
        for c in rows
        if c.name == name and c.id not in owned and (since is None or _created_after(c.created_at, since))
    ]
    decision.candidates = found
    if len(found) == 1:
        decision.action = "import"
        decision.reason = f"exactly one of the {where} matches"
    elif not found:
        decision.action = "clear"
        decision.reason = f"none of the {where} matches: the create made nothing"
    else:
        decision.action = "ambiguous"
        decision.reason = f"{len(found)} of the {where} match; left pending"
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
                d.reason = f"{object_id} would also be recorded for {others}; left pending"
    return list(decisions)


def _source_project(client: DokployClient, source_id: Any) -> Optional[str]:
    if not isinstance(source_id, str) or not source_id:
        return None
    try:
        env = client.environment.one(source_id)
    except NotFoundError:
        return None
    return env.project_id or (env.project.project_id if env.project else None)


def _created_after(created_at: Optional[str], since: dt.datetime) -> bool:
    moment = _parse_time(created_at)
    # An object whose creation time we cannot read cannot be ruled out.
    return moment is None or moment >= since


# -- editing the state ------------------------------------------------------------------------------


def edited_deployment(exported: Mapping[str, Any], decisions: Sequence[Decision]) -> dict[str, Any]:
    """The exported checkpoint with imports turned into resources and cleared creates dropped."""
    doc = copy.deepcopy(dict(exported))
    dep = doc["deployment"]
    by_urn = {d.urn: d for d in decisions}
    kept, added = [], []
    for op in dep.get("pending_operations") or []:
        res = op.get("resource") or {}
        d = by_urn.get(str(res.get("urn")))
        if op.get("type") != "creating" or d is None or d.action in ("ambiguous", "skip"):
            kept.append(op)
            continue
        if d.action == "import":
            chosen = d.chosen
            assert chosen is not None
            new = copy.deepcopy(res)
            new["id"] = chosen.id
            # The provider reads its class from `__provider` in the outputs: start from the inputs;
            # `pulumi refresh` then replaces them with what Dokploy holds.
            outs = copy.deepcopy(res.get("inputs") or {})
            if chosen.created_at:
                outs["created_at"] = chosen.created_at
            if "is_default" in chosen.extra:
                outs["is_default"] = chosen.extra["is_default"]
            new["outputs"] = outs
            new["custom"] = True
            added.append(new)
        # "clear": dropped
    dep["pending_operations"] = kept
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
    cwd: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
    cli: Optional[PulumiCLI] = None,
) -> int:
    """The `recover` command; returns the exit status (0 done, 2 something left ambiguous)."""
    cli = cli or PulumiCLI(stack=stack, cwd=cwd, env=env)
    environ = env if env is not None else os.environ
    locks = file_backend_locks(cli.backend_url(), cli.stack_name())
    # A live lock means an update is running: its pending creates are not stale. Refuse.
    _handle_locks(locks, cli, apply, out)
    exported = cli.export()
    deployment = exported.get("deployment") or {}
    ops = pending_creates(deployment)
    others = [op for op in deployment.get("pending_operations") or [] if op.get("type") != "creating"]
    if others:
        print(
            f"({len(others)} other pending operation(s), not creates: the next `pulumi refresh` or `up` clears them.)",
            file=out,
        )
    if not ops:
        print("No pending create in the stack's state: nothing to recover.", file=out)
        return 0
    bound = start_bound(locks, cli)
    since = bound.moment - dt.timedelta(seconds=clock_skew) if bound.moment else None
    print(f"{len(ops)} pending create(s). Objects must be created after {bound.source}", file=out)
    if since is not None:
        print(f"less {clock_skew:g} s for clock skew, i.e. at or after {since.isoformat()}.", file=out)
    owned = owned_ids(deployment)
    clients = client_factory(cli, environ)
    choices = dict(choices or {})
    unknown = sorted(set(choices) - {str((op.get("resource") or {}).get("urn")) for op in ops})
    if unknown:
        raise RecoverFailed(f"--choose names no pending create: {', '.join(unknown)}")
    decisions = settle_conflicts(
        [decide(op, owned, since, clients, choices.get(str((op.get("resource") or {}).get("urn")))) for op in ops]
    )
    in_state = {str(r.get("urn")) for r in deployment.get("resources") or []}
    for d in decisions:
        if d.urn in in_state and d.action != "skip":
            # A later `pulumi up` created this resource anyway (or a replacement was interrupted):
            # the state has it, so the pending create is only stale. What it made, if anything, is
            # an orphan: list it, never record a second resource under one URN.
            d.action = "clear"
            d.reason = (
                "the state already has a resource with this URN (a later `pulumi up`, or an interrupted "
                "replacement): the pending create is stale"
                + ("; the candidate(s) below are orphans to delete in Dokploy" if d.candidates else "")
            )
    for d in decisions:
        _report(d, out)
    todo = [d for d in decisions if d.action in ("import", "clear")]
    imports = [d for d in decisions if d.action == "import"]
    if not apply:
        print("", file=out)
        print(
            "Dry run. To carry this out: python -m dokploy_pulumi recover --apply"
            + (f" --stack {shlex.quote(stack)}" if stack else ""),
            file=out,
        )
        print("which edits the state (`pulumi stack export` / `pulumi stack import`) and runs:", file=out)
        if imports:
            print("  " + cli.command("refresh", "--yes", "--skip-pending-creates", *_targets(imports)), file=out)
        print("Then run `pulumi up`.", file=out)
        return 0 if not any(d.action == "ambiguous" for d in decisions) else 2
    if todo:
        backup = _write_backup(exported, cwd)
        print(
            f"State before the edit saved to {backup} (restore: `{cli.command('stack', 'import', '--file', str(backup))}`).",
            file=out,
        )
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(edited_deployment(exported, todo), fh)
            edited = fh.name
        try:
            cli.run("stack", "import", "--file", edited)
        finally:
            os.unlink(edited)
        print(f"State edited: {len(imports)} recorded, {len(todo) - len(imports)} cleared.", file=out)
    if imports:
        cli.run("refresh", "--yes", "--skip-preview", "--skip-pending-creates", *_targets(imports))
        print(f"Refreshed {len(imports)} recovered resource(s) from Dokploy.", file=out)
    ambiguous = [d for d in decisions if d.action == "ambiguous"]
    if ambiguous:
        print(
            "Some pending creates are ambiguous (see above) and still pending: delete the extra objects in "
            "Dokploy (or adopt them elsewhere) and run this again. A `pulumi up` now would create them again.",
            file=out,
        )
        return 2
    print("Done. Run `pulumi up`: it creates what was never made and converges the rest.", file=out)
    return 0


def _targets(decisions: Sequence[Decision]) -> list[str]:
    args: list[str] = []
    for d in decisions:
        args += ["--target", d.urn]
    return args


def _report(d: Decision, out: TextIO) -> None:
    label = {"import": "RECORD", "clear": "CLEAR", "ambiguous": "AMBIGUOUS", "skip": "SKIP"}[d.action]
    print(f"- {label} {d.urn}", file=out)
    print(f"    name {d.name!r}: {d.reason}", file=out)
    for c in d.candidates:
        print(f"    candidate {c.id} created {c.created_at}", file=out)


def _handle_locks(locks: Sequence[Lock], cli: PulumiCLI, apply: bool, out: TextIO) -> None:
    if not locks:
        return
    live = [lock for lock in locks if not lock.stale()]
    if live:
        where = ", ".join(f"{lock.hostname} pid {lock.pid}" for lock in live)
        raise RecoverFailed(
            f"the stack is locked by a process that may still be running ({where}). Wait for it, or if you "
            f"are sure it is gone run `{cli.command('cancel', '--yes')}`, then run this again."
        )
    pids = ", ".join(str(lock.pid) for lock in locks)
    if apply:
        cli.run("cancel", "--yes")
        print(f"Removed the stale lock left by the killed CLI (pid {pids}, gone).", file=out)
    else:
        print(
            f"The stack has a stale lock (pid {pids} is gone); --apply removes it "
            f"(`{cli.command('cancel', '--yes')}`).",
            file=out,
        )


def _write_backup(exported: Mapping[str, Any], folder: Optional[Path]) -> Path:
    """The exported state before the edit (secrets stay encrypted), readable by its owner only."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = (folder or Path.cwd()) / f"dokploy-recover-backup-{stamp}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(exported, fh, indent=2)
    return path
