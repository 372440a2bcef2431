"""`python -m dokploy_pulumi import`: read a Dokploy server and write the Pulumi program that adopts it.

Pulumi's own `pulumi import` cannot work for dynamic providers (the engine sends no provider blob),
so this generates what a user would otherwise write by hand: one `Project` per selected project and
one `Environment` per environment (the default one as `name="production"`), each with `adopt_id`
and the object's exact current name and description. The first `pulumi up` of that program then
only reads: adoption sends an update only where the declaration differs from the server.

Env values are secrets: they never go into the generated source nor to stdout. They are sealed
(AES-256-GCM, `_sealed.py`) into one file beside the program, and the program opens each as a
secret Output with one key kept as secret stack config (`dokployImport:envKey`). Not one config
value per env: the language host passes all stack config to the program in one environment
variable, which Linux caps at 128 KiB, so config must not grow with the estate.

Logical names (the resources' URN names, and the stem of the sealed entries) are computed over
*every* project the key can see, not only the selected ones, so that the same object gets the same
name whatever was selected: an ASCII slug of the Dokploy name, made unique with `_2`, `_3`, ... in
creation order (projects) or id order (environments, whose listing has no creation time). A name
the stack's state (or the file being regenerated) already gives an object is kept, and never given
to another object, so that regenerating renames, moves and drops nothing (`Held`).

Why one file of about 600 lines: it is one command, in the order it runs (read the server, name
the objects, render the program); the CLI calls and connection settings it shares with `recover`
are in `_pulumi_cli.py`, the sealing in `_sealed.py`.
"""

from __future__ import annotations

import ast
import datetime as dt
import keyword
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from ._client import DokployClient
from ._exceptions import NotFoundError
from ._models import DEFAULT_ENVIRONMENT_NAME
from ._pulumi_cli import CommandFailed
from ._sealed import KEY_CONFIG, SealedEnvError, SealedFile, key_check, new_key, seal
from ._tokens import TYPE_PREFIX, type_token
from ._version import __version__

DEFAULT_ENVIRONMENT = DEFAULT_ENVIRONMENT_NAME  # the one default-environment rule is in _models
SECRETS_SCRIPT = "dokploy-import-secrets.sh"
#: The sealed env file, beside the generated program or module.
SEALED_FILE = "dokploy-env.sealed"

# Names the generated module itself uses; a Dokploy object never gets one of them.
_RESERVED = frozenset(
    {
        "pulumi",
        "pathlib",
        "config",
        "sealed_env",
        "Project",
        "ProjectArgs",
        "Environment",
        "EnvironmentArgs",
        "SealedEnv",
        "Tag",
        "TagArgs",
    }
) | frozenset(keyword.kwlist)

PROJECT_TYPE = type_token("Project")
ENVIRONMENT_TYPE = type_token("Environment")
TAG_TYPE = type_token("Tag")

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
class TagSnapshot:
    tag_id: str
    name: str
    color: Optional[str]


@dataclass(frozen=True)
class ProjectSnapshot:
    project_id: str
    name: str
    description: Optional[str]
    env: str
    created_at: Optional[str]
    environments: tuple[EnvironmentSnapshot, ...] = ()
    #: The project's tag ids, sorted; None on a server without tags (before v0.29.0).
    tag_ids: Optional[tuple[str, ...]] = None

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
    #: The tags of the selected projects (from their projectTags: no request of their own), by name.
    tags: tuple[TagSnapshot, ...] = ()


def list_projects(client: DokployClient) -> tuple[ListedProject, ...]:
    """Every project the key can see (`project.all`, one request), with its environments."""
    return tuple(
        ListedProject(
            project_id=p.project_id,
            name=p.name,
            created_at=p.created_at,
            environments=tuple((e.environment_id, e.name, e.is_default) for e in p.environments),
        )
        for p in client.project.all()
    )


def read_server(
    client: DokployClient,
    selection: Selection,
    also: Iterable[str] = (),
    listed: Optional[tuple[ListedProject, ...]] = None,
) -> Inventory:
    """`project.all` once, then `project.one` per selected project (reads only).

    `also`: ids of objects to read as well (their projects, in full) when the server still has
    them: those the stack already manages, so that a regenerated program drops none of them.
    `listed`: the `project.all` the caller has just read (then not read again).
    """
    listed = list_projects(client) if listed is None else listed
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
    also = set(also)
    wanted.extend(p.project_id for p in listed if p.project_id in also or any(e[0] in also for e in p.environments))
    selected = []
    tags: dict[str, TagSnapshot] = {}
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
        tag_ids = detail.tag_ids()
        for link in detail.project_tags or []:
            if link.tag is not None:
                tags[link.tag_id] = TagSnapshot(link.tag_id, link.tag.name, link.tag.color)
        selected.append(
            ProjectSnapshot(
                **{f: getattr(detail, f) for f in project_fields},
                environments=envs,
                tag_ids=None if tag_ids is None else tuple(tag_ids),
            )
        )
    selected.sort(key=lambda p: _created_key(p.created_at, p.project_id))
    try:
        version: Optional[str] = client.version()
    except Exception:  # the version only decorates the header
        version = None
    by_name = tuple(sorted(tags.values(), key=lambda t: (t.name, t.tag_id)))
    return Inventory(listed=listed, selected=tuple(selected), server_version=version, tags=by_name)


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
    """Logical names (URN names, and variable names where they can be) per project and environment id."""

    projects: Mapping[str, str]
    environments: Mapping[str, str]
    tags: Mapping[str, str] = field(default_factory=dict)

    def env_key(self, logical: str) -> str:
        """The sealed entry holding the env text of the resource `logical`."""
        return f"{logical}_env"


@dataclass(frozen=True)
class Held:
    """The names a stack already gives to objects: they are kept, and never given to another object.

    From the stack's state (resource URN name <-> id) and, for objects not in the state yet, from
    the file being regenerated (`adopt_id=` of each `Project(...)` / `Environment(...)`); the
    state wins. `reserved` also holds the names of objects gone from the server and of objects
    managed elsewhere: giving one of those to another object would make the engine take it for
    the same resource (adopt_id is create-only) and update the wrong object.
    """

    projects: Mapping[str, str] = field(default_factory=dict)
    environments: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    reserved: frozenset[str] = frozenset()
    # Ids the stack manages that this file must not declare again: under another resource type
    # (a duplicate), or, for a module, in the user's own program.
    elsewhere: frozenset[str] = frozenset()

    @property
    def project_ids(self) -> frozenset[str]:
        return frozenset(self.projects)


def declared_in(code: str) -> list[tuple[str, str, str]]:
    """(class, logical name, adopt_id) of each `Project(...)`/`Environment(...)`/`Tag(...)` call in a generated file."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        cls, first = node.func.id, node.args[0]
        if cls not in ("Project", "Environment", "Tag") or not isinstance(first, ast.Constant):
            continue
        # adopt_id is a keyword of the call or of its Args(...) (the generated layout).
        keywords = list(node.keywords)
        for arg in node.args[1:]:
            if isinstance(arg, ast.Call):
                keywords += arg.keywords
        adopt = next((k.value for k in keywords if k.arg == "adopt_id"), None)
        if isinstance(first.value, str) and isinstance(adopt, ast.Constant) and isinstance(adopt.value, str):
            found.append((cls, first.value, adopt.value))
    return found


def sealed_entries_in(code: str) -> set[str]:
    """The sealed entries a generated file opens (`sealed_env.get("<entry>")`)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "sealed_env"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def held_names(
    state: Iterable[tuple[str, str, str]], existing_code: Optional[str] = None, *, module: bool = False
) -> Held:
    """What the stack holds: `state` is (type, URN name, id) per resource; `existing_code` the file
    about to be regenerated. For a module, objects the state holds but the module does not declare
    are declared by the user's own program: the module must not declare them again."""
    tables: dict[str, dict[str, str]] = {PROJECT_TYPE: {}, ENVIRONMENT_TYPE: {}, TAG_TYPE: {}}
    projects, environments, tags = tables[PROJECT_TYPE], tables[ENVIRONMENT_TYPE], tables[TAG_TYPE]
    reserved: set[str] = set()
    elsewhere: set[str] = set()
    for type_, name, id_ in state:
        if not type_.startswith(TYPE_PREFIX):
            continue
        reserved.add(name)
        table = tables.get(type_)
        if table is None:
            elsewhere.add(id_)
        else:
            table.setdefault(id_, name)
    in_file = declared_in(existing_code) if existing_code else []
    file_ids = {id_ for _, _, id_ in in_file}
    for cls, name, id_ in in_file:
        if name in reserved or any(id_ in t for t in tables.values()):
            continue  # the state wins
        reserved.add(name)
        tables[type_token(cls)][id_] = name
    if module:
        elsewhere |= {id_ for t in tables.values() for id_ in t if id_ not in file_ids}
    return Held(
        projects=projects,
        environments=environments,
        tags=tags,
        reserved=frozenset(reserved),
        elsewhere=frozenset(elsewhere),
    )


def assign_names(
    listed: Iterable[ListedProject], held: Optional[Held] = None, tags: Iterable[TagSnapshot] = ()
) -> Names:
    """Stable, unique logical names for every listed project and environment, and for `tags`
    (tag_<name>: tag names are unique in an organization); held names are kept."""
    held = held or Held()
    taken = set(_RESERVED) | set(held.reserved)
    projects = sorted(listed, key=lambda p: _created_key(p.created_at, p.project_id))
    project_names = {p.project_id: held.projects[p.project_id] for p in projects if p.project_id in held.projects}
    fresh = [p for p in projects if p.project_id not in project_names]
    bases = []
    for p in fresh:
        base = slug(p.name) or f"project_{_id_slug(p.project_id)}"
        if base[0].isdigit():
            base = f"project_{base}"
        bases.append(_not_reserved(base))
    project_names.update(zip((p.project_id for p in fresh), _unique(bases, taken), strict=False))

    env_names: dict[str, str] = {}
    env_ids: list[str] = []
    env_bases: list[str] = []
    for p in projects:
        # The listing has no createdAt for environments: default first, then by name and id.
        for env_id, name, _is_default in sorted(p.environments, key=lambda e: (not e[2], e[1], e[0])):
            if env_id in held.environments:
                env_names[env_id] = held.environments[env_id]
                continue
            env_ids.append(env_id)
            env_bases.append(f"{project_names[p.project_id]}_{slug(name) or 'env_' + _id_slug(env_id)}")
    env_names.update(zip(env_ids, _unique(env_bases, taken), strict=False))
    tag_names = {t.tag_id: held.tags[t.tag_id] for t in tags if t.tag_id in held.tags}
    fresh_tags = [t for t in tags if t.tag_id not in tag_names]
    tag_bases = [f"tag_{slug(t.name) or _id_slug(t.tag_id)}" for t in fresh_tags]
    tag_names.update(zip((t.tag_id for t in fresh_tags), _unique(tag_bases, taken), strict=False))
    return Names(projects=project_names, environments=env_names, tags=tag_names)


def _variables(logicals: Iterable[str]) -> dict[str, str]:
    """A Python variable per logical name: the name itself when it is a free identifier.

    A held name may come from a hand-written program ("my-app", "config"): it keeps its URN name
    and gets a variable of its own.
    """
    taken = set(_RESERVED)
    out: dict[str, str] = {}
    rest = []
    for logical in logicals:
        if logical.isidentifier() and logical.isascii() and logical not in taken:
            out[logical] = logical
            taken.add(logical)
        else:
            rest.append(logical)
    for logical in rest:
        base = _not_reserved(slug(logical) or "resource")
        if base[0].isdigit():
            base = f"r_{base}"
        out[logical] = _unique([base], taken)[0]
    return out


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


def shown(text: str) -> str:
    """`text` for a terminal line: control characters (newlines, escape sequences) written as escapes."""
    return "".join(_escape(ch) for ch in text)


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
    # (sealed entry name, dotenv text) for every declared env, in program order.
    secrets: tuple[tuple[str, str], ...]
    projects: int
    environments: int
    tags: int = 0
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
    held: Optional[Held] = None,
    sealed_file: str = SEALED_FILE,
) -> Generated:
    """The program (or module) declaring every selected project and environment, adopted by id.

    Objects in `held.elsewhere` are left out (the stack manages them outside this file).
    """
    elsewhere = held.elsewhere if held else frozenset()
    w = _Writer()
    secrets: list[tuple[str, str]] = []
    declared: list[tuple[str, str, dict[str, Optional[str]]]] = []
    projects = [p for p in inventory.selected if p.project_id not in elsewhere]
    envs_of = {
        p.project_id: sorted(
            (e for e in p.environments if e.environment_id not in elsewhere),
            key=lambda e: (not e.is_default, e.created_at or "", e.environment_id),
        )
        for p in inventory.selected
    }
    n_projects, n_envs = len(projects), sum(len(v) for v in envs_of.values())
    # The tags of the declared projects; one the stack manages outside this file is referred to by id.
    used = {t for p in projects for t in p.tag_ids or ()}
    tags = [t for t in inventory.tags if t.tag_id in used and t.tag_id not in elsewhere]
    has_env = any(p.env.strip() for p in projects) or any(e.env.strip() for v in envs_of.values() for e in v)
    variables = _variables(
        [names.tags[t.tag_id] for t in tags]
        + [names.projects[p.project_id] for p in projects]
        + [names.environments[e.environment_id] for v in envs_of.values() for e in v]
    )
    what = "module" if module else "program"
    version = f" (Dokploy {inventory.server_version})" if inventory.server_version else ""
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    w.add(f'"""Existing Dokploy projects and environments, adopted by Pulumi ({what} generated by dokploy-pulumi).')
    w.add("")
    w.add(f"Generated by `{_doc(command)}`")
    w.add(f"(dokploy-pulumi {__version__}) at {stamp}")
    w.add(f"from {_doc(safe_url(url))}{_doc(version)}; the API key is not recorded.")
    counted = f", {len(tags)} tag(s)" if tags else ""
    w.add(f"{n_projects} project(s), {n_envs} environment(s){counted}. Each resource adopts its object by id")
    w.add("(adopt_id) with its current name and description, so the first `pulumi up` only reads.")
    w.add(f"Env values are not in this file: they are sealed (AES-256-GCM) in {_doc(sealed_file)} beside it,")
    w.add("which is safe to commit; its key is the secret stack config dokployImport:envKey. Regenerate")
    w.add("with the same command and --force: names the stack already holds are kept.")
    if module:
        w.add("Import this module from a Pulumi program to declare them.")
    w.add('"""')
    w.add("")
    if has_env:
        w.add("import pathlib")
        w.add("")
        w.add("import pulumi")
        w.add("")
    imports = ["Environment", "EnvironmentArgs", "Project", "ProjectArgs"] + (["SealedEnv"] if has_env else [])
    imports += ["Tag", "TagArgs"] if tags else []
    w.add(f"from dokploy_pulumi import {', '.join(imports)}")
    if has_env:
        w.add("")
        w.add("sealed_env = SealedEnv(")
        w.add(f"    pathlib.Path(__file__).with_name({py_str(sealed_file)}),")
        w.add('    pulumi.Config("dokployImport").require_secret("envKey"),')
        w.add(")")

    def declare(cls: str, logical: str, head: list[tuple[str, str]], id_: str, snap_name: str, snap: Any) -> None:
        """One resource: the given arguments, env from the sealed file when there is any, adopt_id."""
        kwargs = [*head, ("description", _optional_str(snap.description))]
        if snap.env.strip():
            key = names.env_key(logical)
            kwargs.append(("env", f"sealed_env.get({py_str(key)})"))
            secrets.append((key, snap.env))
        kwargs.append(("adopt_id", py_str(id_)))
        w.call(variables[logical], cls, logical, f"{cls}Args", kwargs)
        declared.append((cls, logical, {"name": snap_name, "description": snap.description, "env": snap.env}))

    for tag in tags:
        logical = names.tags[tag.tag_id]
        w.add("")
        w.add(f"# tag {tag.tag_id}")
        kwargs = [("name", py_str(tag.name)), ("color", _optional_str(tag.color)), ("adopt_id", py_str(tag.tag_id))]
        w.call(variables[logical], "Tag", logical, "TagArgs", kwargs)
    tag_refs = {t.tag_id: f"{variables[names.tags[t.tag_id]]}.id" for t in tags}

    declared_projects = {p.project_id for p in projects}
    for project in inventory.selected:
        logical = names.projects[project.project_id]
        if project.project_id in declared_projects:
            w.add("")
            held_services = f", holds {project.services} service(s)" if project.services else ""
            created = project.created_at or "at an unknown time"
            w.add(f"# project {project.project_id}, created {created}{held_services}")
            head = [("name", py_str(project.name))]
            if project.tag_ids:
                # Only a tagged project owns its set: an untagged one leaves its tags unmanaged.
                refs = ", ".join(tag_refs.get(t, py_str(t)) for t in project.tag_ids)
                head.append(("tags", f"[{refs}]"))
            declare("Project", logical, head, project.project_id, project.name, project)
            project_ref = f"{variables[logical]}.id"
        else:
            # Managed elsewhere in the stack: its new environments refer to it by id.
            project_ref = py_str(project.project_id)
        for env in envs_of[project.project_id]:
            elogical = names.environments[env.environment_id]
            notes = []
            if env.is_default:
                notes.append("the project's default environment")
            elif env.name == DEFAULT_ENVIRONMENT:
                notes.append(f"not the default environment, although named {DEFAULT_ENVIRONMENT!r}")
            if env.services:
                notes.append(f"holds {env.services} service(s)")
            w.add(f"# environment {env.environment_id}" + "".join(f", {n}" for n in notes))
            # The default environment is declared by its fixed name (Dokploy never renames it).
            name = DEFAULT_ENVIRONMENT if env.is_default else env.name
            head = [("project_id", project_ref), ("name", py_str(name))]
            declare("Environment", elogical, head, env.environment_id, env.name, env)
    return Generated(
        code="\n".join(w.lines) + "\n",
        secrets=tuple(secrets),
        projects=n_projects,
        environments=n_envs,
        tags=len(tags),
        declared=tuple(declared),
    )


def preflight(generated: Generated) -> list[str]:
    """What the providers' own `check` (run by `pulumi preview`) would refuse in the generated code.

    Dokploy stores env as free text. The providers read it as Dokploy does (Node's dotenv, keys
    such as `my-key` or `a.b` included) and refuse only values no dotenv spelling carries back
    unchanged: Node's dotenv has no escapes (e.g. the text `K="# x\\"` gives `# x\\`, but a value
    that needs quotes and ends with a backslash reads back changed as soon as a line follows it).
    Messages name resources and keys, never values.
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


# -- what the stack holds, and the sealed env -------------------------------------------------------


def held_notes(held: Held, inventory: Inventory, stack: Optional[str]) -> list[str]:
    """Lines about held objects the generated file does not declare (gone from the server, managed elsewhere)."""
    where = f"stack {stack}" if stack else "the file being regenerated"
    on_server = {p.project_id for p in inventory.listed} | {e[0] for p in inventory.listed for e in p.environments}
    notes = []
    for kind, table in (("project", held.projects), ("environment", held.environments)):
        for id_, name in sorted(table.items(), key=lambda item: item[1]):
            if id_ in held.elsewhere:
                continue
            if id_ not in on_server:
                notes.append(
                    f"note: {kind} {name} ({id_}) is in {where} but no longer on the server: it is not declared "
                    f"again, and the next `pulumi up` drops it from the state (there is nothing left to delete). "
                    f"Its name stays reserved: no other object gets {name!r}."
                )
    if held.elsewhere:
        notes.append(
            f"note: {len(held.elsewhere)} object(s) the stack manages outside this file (another resource type, "
            "or your own program) are not declared again: " + ", ".join(sorted(held.elsewhere)[:10])
        )
    return notes


def seal_secrets(
    secrets: Sequence[tuple[str, str]],
    path: Path,
    config: Mapping[str, str],
    regenerated: Optional[str] = None,
) -> tuple[Optional[SealedFile], str, bool]:
    """The sealed file for `secrets` (None when there is none), its key, and whether the key is new.

    The stack's key is kept when it has one; entries of the existing file that still hold the same
    value are kept byte for byte, so an unchanged estate regenerates an unchanged file.
    `regenerated`: the code of the file being written again, if it exists. The sealed file beside
    it may serve other code too (a program imported whole, then a module of what appeared since):
    entries that file does not open are that other code's, and are kept as they are.
    """
    key = config.get(KEY_CONFIG)
    previous = _previous_sealed(path)
    ours = sealed_entries_in(regenerated) if regenerated else set()
    new = {name for name, _ in secrets}
    others = {n for n in (previous.entries if previous else {}) if n not in ours and n not in new}
    if not secrets and not others:
        return None, key or "", False
    try:
        if key is not None:
            key_check(key)  # a value that is not one of our keys is an error, never replaced silently
        fresh = key is None
        key = key or new_key()
        return seal(dict(secrets), key, previous, keep=others), key, fresh
    except SealedEnvError as exc:
        raise ImportFailed(str(exc)) from None


def _previous_sealed(path: Path) -> Optional[SealedFile]:
    if not path.exists():
        return None
    try:
        return SealedFile.read(path)
    except SealedEnvError:
        return None  # damaged or not ours: sealed anew


def legacy_env_keys(config: Mapping[str, str], generated: Generated) -> list[str]:
    """Stack config keys an earlier import (one config value per env) set for the entries sealed now."""
    entries = {name for name, _ in generated.secrets}
    return sorted(k for k in config if ":" in k and k.split(":", 1)[1] in entries)
