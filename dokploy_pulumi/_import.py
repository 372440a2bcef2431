"""`python -m dokploy_pulumi import`: read a Dokploy server and write the Pulumi program that adopts it.

Pulumi's own `pulumi import` cannot work for dynamic providers (the engine sends no provider blob),
so this generates what a user would otherwise write by hand: one `Project` per selected project and
one `Environment` per environment (the default one as `name="production"`), each with `adopt_id`
and the object's exact current name and description. The first `pulumi up` of that program then
only reads: adoption sends an update only where the declaration differs from the server.

Env values are secrets: they never go into the generated source nor to stdout. The program reads
each non-empty env from stack config (`config.require_secret(KEY)`, the server's dotenv text byte
for byte); the values are stored with `pulumi config set --secret --raw KEY` (value on stdin),
either by a shell script written with mode 0600 or, on request, by running those commands here.

Logical names (which are also the Python variable names and the stem of the config keys) are
computed over *every* project the key can see, not only the selected ones, so that the same object
gets the same name whatever was selected: an ASCII slug of the Dokploy name, made unique with
`_2`, `_3`, ... in creation order (projects) or id order (environments, whose listing has no
creation time).

Why one file of about 430 lines: it is one command, in the order it runs (read the server, name
the objects, render the program); the secret config commands and connection settings it shares
with `recover` are in `_pulumi_cli.py`.
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from ._client import DokployClient
from ._exceptions import NotFoundError
from ._models import DEFAULT_ENVIRONMENT_NAME
from ._pulumi_cli import CommandFailed
from ._version import __version__

DEFAULT_ENVIRONMENT = DEFAULT_ENVIRONMENT_NAME  # the one default-environment rule is in _models
SECRETS_SCRIPT = "dokploy-import-secrets.sh"

# Names the generated module itself uses; a Dokploy object never gets one of them.
_RESERVED = frozenset({"pulumi", "config", "Project", "ProjectArgs", "Environment", "EnvironmentArgs"}) | frozenset(
    keyword.kwlist
)

# Letters NFKD does not decompose into ASCII.
_TRANSLIT = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "ı": "i",
    }
)


class ImportFailed(CommandFailed):
    """The import cannot go on; the message says why (never with a key or an env value)."""


# -- what we read ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentSnapshot:
    environment_id: str
    name: str
    description: Optional[str]
    env: str
    is_default: bool
    created_at: Optional[str]
    services: int = 0


@dataclass(frozen=True)
class ProjectSnapshot:
    project_id: str
    name: str
    description: Optional[str]
    env: str
    created_at: Optional[str]
    environments: tuple[EnvironmentSnapshot, ...] = ()

    @property
    def services(self) -> int:
        return sum(e.services for e in self.environments)


@dataclass(frozen=True)
class ListedProject:
    """One project as `project.all` lists it: enough to name it and its environments."""

    project_id: str
    name: str
    created_at: Optional[str]
    # (environment_id, name, is_default) in the server's order.
    environments: tuple[tuple[str, str, bool], ...] = ()


@dataclass(frozen=True)
class Selection:
    all: bool = False
    project_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (self.all or self.project_ids or self.names):
            raise ImportFailed("select projects: --all, --project-id ID or --name NAME")


@dataclass(frozen=True)
class Inventory:
    """What the server holds: every project listed (for naming) and the selected ones in full."""

    listed: tuple[ListedProject, ...]
    selected: tuple[ProjectSnapshot, ...]
    server_version: Optional[str] = None


def read_server(client: DokployClient, selection: Selection) -> Inventory:
    """`project.all` once, then `project.one` per selected project (reads only)."""
    listed_rows = client.project.all()
    listed = tuple(
        ListedProject(
            project_id=p.project_id,
            name=p.name,
            created_at=p.created_at,
            environments=tuple((e.environment_id, e.name, e.is_default) for e in p.environments),
        )
        for p in listed_rows
    )
    wanted: list[str] = []
    if selection.all:
        wanted = [p.project_id for p in listed]
    else:
        by_id = {p.project_id for p in listed}
        for pid in selection.project_ids:
            if pid not in by_id:
                raise ImportFailed(f"no project with id {pid!r} is visible to this API key")
            wanted.append(pid)
        for name in selection.names:
            matches = [p.project_id for p in listed if p.name == name]
            if not matches:
                near = sorted({p.name for p in listed if p.name.strip().lower() == name.strip().lower()})
                hint = f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""
                raise ImportFailed(f"no project is named exactly {name!r}{hint}")
            wanted.extend(matches)
    selected = []
    for pid in dict.fromkeys(wanted):  # de-duplicated, order kept
        try:
            detail = client.project.one(pid)
        except NotFoundError:
            raise ImportFailed(f"project {pid} disappeared while it was being read; run the import again") from None
        # The snapshots keep the model's fields of the same names, unchanged.
        env_fields = ("environment_id", "name", "description", "env", "is_default", "created_at")
        envs = tuple(
            EnvironmentSnapshot(**{f: getattr(e, f) for f in env_fields}, services=len(e.services()))
            for e in detail.environments
        )
        project_fields = ("project_id", "name", "description", "env", "created_at")
        selected.append(ProjectSnapshot(**{f: getattr(detail, f) for f in project_fields}, environments=envs))
    selected.sort(key=lambda p: _created_key(p.created_at, p.project_id))
    try:
        version: Optional[str] = client.version()
    except Exception:  # the version only decorates the header
        version = None
    return Inventory(listed=listed, selected=tuple(selected), server_version=version)


def _created_key(created_at: Optional[str], id_: str) -> tuple[str, str]:
    return (created_at or "", id_)


# -- logical names --------------------------------------------------------------------------------


def slug(text: str) -> str:
    """An ASCII snake_case slug of a Dokploy name ("" when nothing Latin is left)."""
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def _id_slug(id_: str) -> str:
    return re.sub(r"[^a-z0-9]", "", id_.lower())[:8] or "x"


def _not_reserved(base: str) -> str:
    # PEP 8's way out of a clash with a keyword; also keeps the module's own names free.
    return f"{base}_" if base in _RESERVED else base


def _unique(bases: Sequence[str], taken: set[str]) -> list[str]:
    """Give each base (in order) itself if free, else base_2, base_3, ...; natural names win first."""
    out: list[Optional[str]] = [None] * len(bases)
    for i, base in enumerate(bases):
        if base not in taken:
            taken.add(base)
            out[i] = base
    for i, base in enumerate(bases):
        if out[i] is None:
            n = 2
            while f"{base}_{n}" in taken:
                n += 1
            unique = f"{base}_{n}"
            out[i] = unique
            taken.add(unique)
    return [o for o in out if o is not None]


@dataclass(frozen=True)
class Names:
    """Logical names (= variable names) per project id and per environment id."""

    projects: Mapping[str, str]
    environments: Mapping[str, str]

    def env_key(self, logical: str) -> str:
        """The stack config key holding the env text of the resource `logical`."""
        return f"{logical}_env"


def assign_names(listed: Iterable[ListedProject]) -> Names:
    """Stable, unique Python identifiers for every listed project and environment."""
    taken = set(_RESERVED)
    projects = sorted(listed, key=lambda p: _created_key(p.created_at, p.project_id))
    bases = []
    for p in projects:
        base = slug(p.name) or f"project_{_id_slug(p.project_id)}"
        if base[0].isdigit():
            base = f"project_{base}"
        bases.append(_not_reserved(base))
    project_names = dict(zip((p.project_id for p in projects), _unique(bases, taken), strict=False))

    env_ids: list[str] = []
    env_bases: list[str] = []
    for p in projects:
        # The listing has no createdAt for environments: default first, then by name and id.
        for env_id, name, _is_default in sorted(p.environments, key=lambda e: (not e[2], e[1], e[0])):
            env_ids.append(env_id)
            env_bases.append(f"{project_names[p.project_id]}_{slug(name) or 'env_' + _id_slug(env_id)}")
    env_names = dict(zip(env_ids, _unique(env_bases, taken), strict=False))
    return Names(projects=project_names, environments=env_names)


# -- code generation ------------------------------------------------------------------------------


def _escape(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    if ch.isprintable():
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def py_str(value: str) -> str:
    """A Python literal for any string: deterministic, printable characters kept as they are.

    Double quotes unless the text holds more double than single quotes: the choice black and
    ruff-format make, so that formatting the generated file changes nothing.
    """
    quote = "'" if value.count('"') > value.count("'") else '"'
    body = "".join(("\\" + ch) if ch == quote else _escape(ch) for ch in value)
    return f"{quote}{body}{quote}"


def _doc(text: str) -> str:
    """Text safe inside a triple-double-quoted docstring (its value is `text`)."""
    return "".join('\\"' if ch == '"' else _escape(ch) for ch in text)


def safe_url(url: str) -> str:
    """The URL for the header: no user info, query or fragment (nothing that could be a credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class Generated:
    code: str
    # (config key, dotenv text) for every declared env, in program order.
    secrets: tuple[tuple[str, str], ...]
    projects: int
    environments: int
    # (class name, logical name, the declared name/description/env values) per resource.
    declared: tuple[tuple[str, str, dict[str, Optional[str]]], ...] = ()


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)

    def add(self, line: str = "") -> None:
        self.lines.append(line)

    def call(self, var: str, cls: str, logical: str, args_cls: str, kwargs: Sequence[tuple[str, str]]) -> None:
        # Black/ruff-format layout by construction: one argument per line, magic trailing commas.
        self.add(f"{var} = {cls}(")
        self.add(f"    {py_str(logical)},")
        self.add(f"    {args_cls}(")
        for key, expr in kwargs:
            self.add(f"        {key}={expr},")
        self.add("    ),")
        self.add(")")


def _optional_str(value: Optional[str]) -> str:
    return "None" if value is None else py_str(value)


def render(
    inventory: Inventory,
    names: Names,
    *,
    command: str,
    url: str,
    now: dt.datetime,
    module: bool = False,
) -> Generated:
    """The program (or module) declaring every selected project and environment, adopted by id."""
    w = _Writer()
    secrets: list[tuple[str, str]] = []
    declared: list[tuple[str, str, dict[str, Optional[str]]]] = []
    n_envs = sum(len(p.environments) for p in inventory.selected)
    what = "module" if module else "program"
    version = f" (Dokploy {inventory.server_version})" if inventory.server_version else ""
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    w.add(f'"""Existing Dokploy projects and environments, adopted by Pulumi ({what} generated by dokploy-pulumi).')
    w.add("")
    w.add(f"Generated by `{_doc(command)}`")
    w.add(f"(dokploy-pulumi {__version__}) at {stamp}")
    w.add(f"from {_doc(safe_url(url))}{_doc(version)}; the API key is not recorded.")
    w.add(f"{len(inventory.selected)} project(s), {n_envs} environment(s). Each resource adopts its object by id")
    w.add("(adopt_id) with its current name and description, so the first `pulumi up` only reads.")
    w.add("Env values are not in this file: each non-empty env is read from stack config as a secret")
    w.add("(keys ending in _env), set with `pulumi config set --secret --raw KEY` (value on stdin).")
    if module:
        w.add("Import this module from a Pulumi program to declare them.")
    w.add('"""')
    w.add("")
    w.add("import pulumi")
    w.add("")
    w.add("from dokploy_pulumi import Environment, EnvironmentArgs, Project, ProjectArgs")
    w.add("")
    w.add("config = pulumi.Config()")

    def declare(cls: str, var: str, head: list[tuple[str, str]], id_: str, snap_name: str, snap: Any) -> None:
        """One resource: the given arguments, env from secret config when there is any, adopt_id."""
        kwargs = [*head, ("description", _optional_str(snap.description))]
        if snap.env.strip():
            key = names.env_key(var)
            kwargs.append(("env", f"config.require_secret({py_str(key)})"))
            secrets.append((key, snap.env))
        kwargs.append(("adopt_id", py_str(id_)))
        w.call(var, cls, var, f"{cls}Args", kwargs)
        declared.append((cls, var, {"name": snap_name, "description": snap.description, "env": snap.env}))

    for project in inventory.selected:
        var = names.projects[project.project_id]
        w.add("")
        held = f", holds {project.services} service(s)" if project.services else ""
        w.add(f"# project {project.project_id}, created {project.created_at or 'at an unknown time'}{held}")
        declare("Project", var, [("name", py_str(project.name))], project.project_id, project.name, project)
        envs = sorted(project.environments, key=lambda e: (not e.is_default, e.created_at or "", e.environment_id))
        for env in envs:
            evar = names.environments[env.environment_id]
            notes = []
            if env.is_default:
                notes.append("the project's default environment")
            elif env.name == DEFAULT_ENVIRONMENT:
                notes.append('not the default environment, although named "production"')
            if env.services:
                notes.append(f"holds {env.services} service(s)")
            w.add(f"# environment {env.environment_id}" + "".join(f", {n}" for n in notes))
            # The default environment is declared by its fixed name (Dokploy never renames it).
            name = DEFAULT_ENVIRONMENT if env.is_default else env.name
            head = [("project_id", f"{var}.id"), ("name", py_str(name))]
            declare("Environment", evar, head, env.environment_id, env.name, env)
    return Generated(
        code="\n".join(w.lines) + "\n",
        secrets=tuple(secrets),
        projects=len(inventory.selected),
        environments=n_envs,
        declared=tuple(declared),
    )


def preflight(generated: Generated) -> list[str]:
    """What the providers' own `check` (run by `pulumi preview`) would refuse in the generated code.

    Dokploy stores env as free text and its parser (Node's dotenv) accepts keys such as `my-key`
    or `a.b`, which the providers refuse. Messages name resources and keys, never values.
    """
    from .providers import EnvironmentProvider, ProjectProvider  # the provider classes, imported late

    checkers = {"Project": ProjectProvider(), "Environment": EnvironmentProvider()}
    problems = []
    for cls, logical, values in generated.declared:
        props = {"name": values["name"], "description": values["description"], "env": values["env"] or None}
        if cls == "Environment":
            props["project_id"] = "preflight"
        result = checkers[cls].check({}, props)
        for failure in result.failures or []:
            # Connection failures depend on where the check runs, not on the generated code.
            if failure.property in ("name", "description", "env"):
                problems.append(f"{logical}: {failure.property}: {failure.reason}")
    return problems
