"""`python -m dokploy_pulumi drift`: what the server holds against what the stacks hold.

Read-only: `project.all` once (plus, with --generate, `project.one` per project to declare), and
for each stack `pulumi stack export` and its config. Three findings:

  unmanaged  projects and environments on the server that no stack holds;
  gone       objects a stack holds (by id) that the server no longer has;
  shared     objects held by more than one stack, or by two resources of one stack.

What "holds" means: a resource's id is its object (Project, Environment, EnvironmentDuplicate,
ProjectDuplicate, and ProjectGuard, whose id is the project it guards). A project also comes with
its default environment, which Dokploy makes and deletes with it: the `default_environment_id`
output of a Project or ProjectDuplicate is covered by that resource, so it is never "unmanaged",
but neither "gone" nor "shared" (it is not declared). A resource with its own `Connection` to
another Dokploy is not compared (listed as such).

`--generate` writes the import program for the unmanaged objects with `import`'s generator and
naming rules (`_import.py`): names every stack holds are reserved, and what a stack holds is never
declared again (`Held.elsewhere`), so an unmanaged environment of a managed project refers to it by id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._connection import ConfigSource, Connection, Settings, resolve
from ._exceptions import CredentialError
from ._import import (
    ENVIRONMENT_TYPE,
    PROJECT_TYPE,
    Held,
    ListedProject,
    _previous_sealed,
    declared_in,
    held_names,
    safe_url,
    sealed_entries_in,
    shown,
)
from ._pulumi_cli import CommandFailed, PulumiCLI, StackView, connection_source, read_stack
from ._recover import ENV_DUPLICATE_T, PROJECT_DUPLICATE_T, _is_secret
from ._tokens import type_token
from ._transport import normalize_url

PROJECT_GUARD_T = type_token("ProjectGuard")
# Resource type -> the kind of object its id is.
_KINDS = {
    PROJECT_TYPE: "project",
    PROJECT_DUPLICATE_T: "project",
    PROJECT_GUARD_T: "project",
    ENVIRONMENT_TYPE: "environment",
    ENV_DUPLICATE_T: "environment",
}


class DriftFailed(CommandFailed):
    """The comparison cannot be made; the message says why (never with a key or an env value)."""


@dataclass(frozen=True)
class Hold:
    """One object a stack holds: through which resource, and whether it declares it (explicit)."""

    stack: str
    kind: str  # "project" | "environment"
    id: str
    resource: str  # the URN name
    explicit: bool = True
    # A ProjectGuard changes nothing on its object: beside its stack's Project it is no second holder.
    guard: bool = False


@dataclass
class StackHolds:
    name: str
    settings: Settings = field(repr=False)
    view: StackView = field(repr=False)
    holds: list[Hold] = field(default_factory=list)
    # URN names of resources that use another Dokploy (or a connection the state keeps secret).
    elsewhere: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    server: str
    stacks: tuple[str, ...]
    unmanaged: tuple[dict[str, Any], ...]
    gone: tuple[dict[str, Any], ...]
    shared: tuple[dict[str, Any], ...]
    not_compared: tuple[dict[str, str], ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.unmanaged or self.gone or self.shared)

    def to_json(self) -> str:
        return json.dumps(
            {
                "server": self.server,
                "stacks": list(self.stacks),
                "unmanaged": list(self.unmanaged),
                "gone": list(self.gone),
                "shared": list(self.shared),
                "not_compared": list(self.not_compared),
                "clean": self.clean,
            },
            indent=2,
            ensure_ascii=False,
        )

    def to_text(self) -> str:
        # Names are anyone's text (the UI takes newlines and escape sequences): one line each, inert.
        lines = [f"Dokploy {self.server}; stacks: {', '.join(shown(s) for s in self.stacks)}"]
        if self.clean:
            lines.append(
                "No drift: every project and environment is held by exactly one stack, and every one is there."
            )
        if self.unmanaged:
            lines.append(f"Unmanaged (on the server, held by no stack): {len(self.unmanaged)}")
            lines += [f"  {o['kind']:<11} {_where(o)} ({shown(o['id'])})" for o in self.unmanaged]
        if self.gone:
            lines.append(f"Gone (held by a stack, not on the server): {len(self.gone)}")
            lines += [
                f"  {o['kind']:<11} {shown(o['id'])}: stack {shown(o['stack'])}, resource {shown(o['resource'])}"
                for o in self.gone
            ]
        if self.shared:
            lines.append(f"Held by more than one stack or resource: {len(self.shared)}")
            for o in self.shared:
                held = ", ".join(f"{shown(h['stack'])} ({shown(h['resource'])})" for h in o["held_by"])
                lines.append(f"  {o['kind']:<11} {_where(o)} ({shown(o['id'])}): {held}")
        for o in self.not_compared:
            lines.append(
                f"note: stack {shown(o['stack'])}, resource {shown(o['resource'])}: not compared ({o['reason']})"
            )
        return "\n".join(lines) + "\n"


def _where(o: Mapping[str, Any]) -> str:
    return shown(f"{o['project']} / {o['name']}" if o["kind"] == "environment" else str(o["name"]))


# -- the stacks ------------------------------------------------------------------------------------


def read_stacks(names: Sequence[str], cli_factory: Any = PulumiCLI) -> list[StackHolds]:
    """Each stack's state, config and connection. Every stack must point at the same Dokploy."""
    if not names:
        names = cli_factory().stack_names()
        if not names:
            raise DriftFailed("no stack to compare: run in a Pulumi project folder with stacks, or pass --stack")
    stacks: list[StackHolds] = []
    for name in dict.fromkeys(names):
        # FOLDER:STACK names a stack of the project in FOLDER (stack names hold no ":").
        folder, _, stack = name.rpartition(":")
        cli = cli_factory(stack=stack or None, cwd=Path(folder) if folder else None)
        view = read_stack(cli)
        if view is None:
            where = f"the Pulumi project folder {folder}" if folder else "its Pulumi project folder"
            raise DriftFailed(f"cannot read stack {name}: no such folder, or not {where}")
        if any(_same_stack(view, s.view) for s in stacks):
            continue  # one stack named twice ("a" and "org/project/a"): not a stack sharing with itself
        stacks.append(StackHolds(name=name, settings=resolve(connection_source(cli), None), view=view))
    for s in stacks:
        if s.view.pending:
            ops = ", ".join(f"{op} {shown(urn_name)}" for op, urn_name in s.view.pending[:5])
            raise DriftFailed(
                f"stack {shown(s.name)} has {len(s.view.pending)} pending operation(s) from an interrupted update "
                f"({ops}): what it holds is not known (an object it was creating would look unmanaged, and "
                f"--generate would give it to a second stack). Run `python -m dokploy_pulumi recover --stack "
                f"{shown(s.view.name)}` (or `pulumi refresh`) first"
            )
    servers: dict[str, list[StackHolds]] = {}
    for s in stacks:
        servers.setdefault(normalize_url(s.settings.url), []).append(s)
    if len(servers) > 1:
        which = "; ".join(
            f"{safe_url(group[0].settings.url)}: {', '.join(s.name for s in group)}" for group in servers.values()
        )
        raise DriftFailed(f"the stacks point at different Dokploy servers ({which}): compare them one server at a time")
    server = next(iter(servers))
    keys: dict[str, list[str]] = {}
    for s in stacks:
        keys.setdefault(s.settings.api_key, []).append(s.name)
    if len(keys) > 1:
        # project.all is read with one key; another (user or organization) may see other projects,
        # and every object of its stacks would look gone.
        which = "; ".join(", ".join(shown(n) for n in group) for group in keys.values())
        raise DriftFailed(
            f"the stacks use {len(keys)} different API keys for {safe_url(stacks[0].settings.url)} (stacks by key: "
            f"{which}): another user or organization may see other projects; compare them one key at a time"
        )
    for s in stacks:
        _collect(s, server)
    return stacks


def _same_stack(a: StackView, b: StackView) -> bool:
    """Whether two views are one stack: the same resources, whose URNs name the same project and stack."""
    return bool(a.states) and a.states == b.states


def _collect(stack: StackHolds, server: str) -> None:
    for res in stack.view.states:
        kind = _KINDS.get(str(res.get("type")))
        if kind is None or res.get("external"):
            continue  # an external resource (read with `opts.id`) only looks at its object
        resource = str(res["urn"]).rsplit("::", 1)[-1]
        conn = (res.get("inputs") or {}).get("connection")
        if _is_secret(conn):
            stack.elsewhere.append(resource)
            continue
        own = Connection.from_input(conn) if isinstance(conn, Mapping) else None
        if own is not None and not _same_account(own, stack, server):
            stack.elsewhere.append(resource)
            continue
        stack.holds.append(Hold(stack.name, kind, str(res["id"]), resource, guard=res.get("type") == PROJECT_GUARD_T))
        default = (res.get("outputs") or {}).get("default_environment_id")
        if kind == "project" and isinstance(default, str) and default:
            stack.holds.append(Hold(stack.name, "environment", default, resource, explicit=False))


def _same_account(connection: Connection, stack: StackHolds, server: str) -> bool:
    """Whether a resource's own connection reaches what `project.all` lists: this server, and the
    stack's API key (another key may belong to another user or organization, which sees other
    projects: compared, its objects would all look gone)."""
    try:
        own = resolve(ConfigSource(stack.view.config), connection)
        return normalize_url(own.url) == server and own.api_key == stack.settings.api_key
    except (CredentialError, ValueError, TypeError):  # a URL or key the provider would refuse: no crash
        return False


# -- the comparison --------------------------------------------------------------------------------


def compare(listed: Sequence[ListedProject], stacks: Sequence[StackHolds]) -> Report:
    """The findings: `listed` is the server's `project.all`, `stacks` from `read_stacks`."""
    on_server: dict[str, dict[str, Any]] = {}
    for p in listed:
        on_server[p.project_id] = {"kind": "project", "id": p.project_id, "name": p.name}
        for env_id, name, is_default in p.environments:
            on_server[env_id] = {
                "kind": "environment",
                "id": env_id,
                "name": name,
                "project": p.name,
                "project_id": p.project_id,
                "default": is_default,
            }
    holds: dict[str, list[Hold]] = {}
    for s in stacks:
        for h in s.holds:
            holds.setdefault(h.id, []).append(h)
    unmanaged = tuple(o for id_, o in on_server.items() if id_ not in holds)
    gone = tuple(
        {"kind": h.kind, "id": h.id, "stack": h.stack, "resource": h.resource}
        for s in stacks
        for h in s.holds
        if h.explicit and h.id not in on_server
    )
    shared = []
    for id_, hs in holds.items():
        explicit = [h for h in hs if h.explicit]
        # Two stacks, or two resources of one stack (adopted twice): each would change the other's.
        writers = [h for h in explicit if not h.guard]
        if id_ in on_server and (len({h.stack for h in explicit}) > 1 or len(writers) > 1):
            shared.append({**on_server[id_], "held_by": [{"stack": h.stack, "resource": h.resource} for h in explicit]})
    not_compared = tuple(
        {
            "stack": s.name,
            "resource": r,
            "reason": "its own connection: another Dokploy or API key, or kept secret in the state",
        }
        for s in stacks
        for r in s.elsewhere
    )
    return Report(
        server=safe_url(stacks[0].settings.url),
        stacks=tuple(s.name for s in stacks),
        unmanaged=unmanaged,
        gone=gone,
        shared=tuple(shared),
        not_compared=not_compared,
    )


def generation_held(stacks: Sequence[StackHolds], existing_code: str | None = None) -> Held:
    """`import`'s Held over every stack: their names are reserved, and what they hold is never declared.
    `existing_code`: the file being written again; the names it gives keep going to the same objects."""
    held = held_names((r for s in stacks for r in s.view.resources), existing_code)
    return replace(held, elsewhere=held.elsewhere | {h.id for s in stacks for h in s.holds})


def refuse_dropping_held(existing_code: str, target: Path, stacks: Sequence[StackHolds]) -> None:
    """Refuse to write over a file that declares objects a compared stack holds.

    Such a file is that stack's program (a previous --generate, adopted since): what a stack holds
    is never generated again, so the new file would drop them and the stack's next `pulumi up`
    would delete those projects and environments from the server.
    """
    holders = {h.id: h for s in stacks for h in s.holds if h.explicit}
    dropped = [(name, holders[id_]) for _, name, id_ in declared_in(existing_code) if id_ in holders]
    if dropped:
        listed = ", ".join(f"{shown(name)} (stack {shown(h.stack)})" for name, h in dropped[:10])
        raise DriftFailed(
            f"{target} declares {len(dropped)} object(s) a compared stack holds: {listed}. Writing over it would drop "
            "them from that stack's program, and its next `pulumi up` would delete them. Nothing was written: "
            "generate into a new file, and import it from that program"
        )


def refuse_foreign_sealed(sealed_path: Path, existing_code: str | None) -> None:
    """Refuse when the sealed env file beside the target holds entries other code opens.

    They are sealed under that code's stack key, which drift cannot know: the adopting stack gets
    a new key, and sealing under it would drop them (the other program's preview then fails).
    """
    previous = _previous_sealed(sealed_path)
    ours = sealed_entries_in(existing_code) if existing_code else set()
    others = sorted(n for n in (previous.entries if previous else {}) if n not in ours)
    if others:
        raise DriftFailed(
            f"{sealed_path} holds {len(others)} sealed env entries other code opens ({', '.join(others[:5])}), "
            "under its stack's key: the new key --generate makes could not keep them. Nothing was written: "
            "generate into a folder of its own"
        )


def projects_to_read(report: Report) -> list[str]:
    """The projects whose full read the generator needs: unmanaged ones, and those holding an unmanaged environment."""
    ids = [o["id"] if o["kind"] == "project" else o["project_id"] for o in report.unmanaged]
    return list(dict.fromkeys(ids))
