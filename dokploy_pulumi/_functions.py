"""Look-ups: read existing Dokploy projects, environments and tags into a Pulumi program.

Every function comes in the Pulumi pair: a plain form (`get_project`) that calls Dokploy now and
returns a typed, frozen result, and an `_output` form (`get_project_output`) with the same named
parameters as Inputs, which waits for them (and for `opts.depends_on`), runs the plain form off the
event loop and returns an Output (unknown in a preview while any of them is unknown). Both take
`opts` last, as Pulumi's generated SDKs do. Dynamic providers have no invokes, so these call the API directly from
the program process, with the credentials the resources use: stack config `dokploy:url` /
`dokploy:apiKey` (read through `pulumi.Config`), else DOKPLOY_URL / DOKPLOY_API_KEY, or an explicit
`Connection`.

Requests per call: see the README's "What each operation costs" (search pages hold 100 items;
servers before v0.28 answer the searches from `project.all`/`project.one`, see `_client.py`). Only
get_environment by name adds requests when it fails: an `environment.search` to list what the
project holds, and a `project.one` when that is empty.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union

import pulumi
from pulumi import Output

from ._connection import ClientPool, ConfigSource, Connection
from ._exceptions import DokployLookupError, NotFoundError
from ._ilike import like_literal
from ._info import (
    EnvironmentInfo,
    ProjectInfo,
    SearchResult,
    TagInfo,
    detail_info,
    environment_info,
    project_info,
    secret_env,
    tag_info,
)
from ._releases import NO_DEFAULT_REASONS

if TYPE_CHECKING:  # the HTTP stack and pydantic load when a look-up runs, not at import (see `_wire`)
    from ._client import DokployClient
    from ._models import EnvironmentRow, ProjectDetail, ProjectRow, TagRow

_SHOWN_CANDIDATES = 20

T = TypeVar("T")


# -- credentials -------------------------------------------------------------------------------------


class _PulumiConfig:
    """`ConfigSource`'s view of the program's stack config: `get("ns:key")` is `Config("ns").get("key")`.

    Outside a Pulumi program every key reads as absent, so the environment variables apply.
    """

    def get(self, key: str) -> Optional[str]:
        namespace, sep, name = key.partition(":")
        if not sep:
            namespace, name = "", key  # the project's own namespace
        try:
            return pulumi.Config(namespace or None).get(name)
        except Exception:  # no project name outside a program: there is no such config
            return None


_pool: Optional[ClientPool] = None
_pool_lock = threading.Lock()


def _client(connection: Union[Connection, Mapping[str, Any], None]) -> DokployClient:
    global _pool
    with _pool_lock:
        if _pool is None:
            # Created on first use, not at import: importing has no side effects.
            _pool = ClientPool(ConfigSource(_PulumiConfig()))
    return _pool.client(Connection.from_input(connection))


# -- helpers -----------------------------------------------------------------------------------------


def _call(fn: str, **args: Any) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items() if v is not None)
    return f"{fn}({shown})"


def _listing(candidates: list[tuple[str, str]]) -> str:
    shown = ", ".join(f"{name!r} ({id_})" for name, id_ in candidates[:_SHOWN_CANDIDATES])
    more = len(candidates) - _SHOWN_CANDIDATES
    return shown + (f" and {more} more" if more > 0 else "")


def _projects(client: DokployClient, name: Optional[str] = None) -> list[ProjectRow]:
    return list(client.project.search_all(name=name))


def _environments(client: DokployClient, project_id: Optional[str], name: Optional[str] = None) -> list[EnvironmentRow]:
    return list(client.environment.search_all(name=name, project_id=project_id))


def _project_one(client: DokployClient, project_id: str, query: str) -> ProjectDetail:
    try:
        return client.project.one(project_id)
    except NotFoundError as exc:
        raise DokployLookupError(
            f"{query}: no project has the id {project_id!r} (Dokploy: {exc.server_message})", query=query
        ) from None


def _pick(
    query: str, what: str, where: str, matches: list[Any], near: Callable[[], list[tuple[str, str]]], hint: str
) -> Any:
    """The one match, or a `DokployLookupError` that lists the matches or, with none, the near ones."""
    if len(matches) == 1:
        return matches[0]
    if matches:
        candidates = [(m.name, _id_of(m)) for m in matches]
        raise DokployLookupError(
            f"{query}: {len(matches)} {what}s{where} are named exactly that: {_listing(candidates)}. "
            f"Names are not unique in Dokploy; {hint}.",
            query=query,
            candidates=candidates,
        )
    candidates = near()
    if candidates:
        message = f"{query}: no {what}{where} is named exactly that (case and spaces count). Candidates: {_listing(candidates)}."
    else:
        message = f"{query}: no {what}{where} has a name like that."
    raise DokployLookupError(message, query=query, candidates=candidates)


def _id_of(row: Union[ProjectRow, EnvironmentRow, TagRow]) -> str:
    from ._models import ProjectRow, TagRow  # loaded by the look-up that made `row` (see the imports)

    if isinstance(row, TagRow):
        return row.tag_id
    return row.project_id if isinstance(row, ProjectRow) else row.environment_id


def _exactly_one_of(fn: str, **args: Any) -> None:
    given = [k for k, v in args.items() if v is not None]
    if len(given) != 1:
        names = " or ".join(args)
        raise ValueError(f"{fn}: give exactly one of {names}" + (f" (got {', '.join(given)})" if given else ""))


# -- the plain forms -------------------------------------------------------------------------------------
#
# `opts` is there for the signature every Pulumi look-up has; a plain form calls Dokploy now, from the
# program, so no invoke option applies to it (see `_lifted` for the `_output` forms).


def get_project(
    project_id: Optional[str] = None,
    name: Optional[str] = None,
    connection: Optional[Connection] = None,
    opts: Optional[pulumi.InvokeOptions] = None,
) -> ProjectInfo:
    """The project with this id, or the one project named exactly `name` (case-sensitive).

    Raises `DokployLookupError` when there is none, or when several share the name (it lists them
    with their ids).
    """
    _exactly_one_of("get_project", project_id=project_id, name=name)
    query = _call("get_project", project_id=project_id, name=name)
    client = _client(connection)
    if project_id is not None:
        return detail_info(_project_one(client, project_id, query))
    assert name is not None
    # project.search is a case-insensitive substring match: filter for the exact name here.
    rows = _projects(client, like_literal(name))
    exact = [r for r in rows if r.name == name]
    match = _pick(
        query, "project", "", exact, lambda: [(r.name, r.project_id) for r in rows], "look it up by project_id instead"
    )
    return detail_info(_project_one(client, match.project_id, query))


def get_environment(
    environment_id: Optional[str] = None,
    project_id: Optional[str] = None,
    name: Optional[str] = None,
    connection: Optional[Connection] = None,
    opts: Optional[pulumi.InvokeOptions] = None,
) -> EnvironmentInfo:
    """The environment with this id, or the one named exactly `name` in project `project_id`.

    With both environment_id and project_id, the environment must belong to that project.
    """
    query = _call("get_environment", environment_id=environment_id, project_id=project_id, name=name)
    if environment_id is not None and name is not None:
        raise ValueError("get_environment: give environment_id, or project_id and name, not both")
    if environment_id is None and (project_id is None or name is None):
        raise ValueError("get_environment: give environment_id, or both project_id and name")
    client = _client(connection)
    if environment_id is not None:
        try:
            row = client.environment.one(environment_id)
        except NotFoundError as exc:
            raise DokployLookupError(
                f"{query}: no environment has the id {environment_id!r} (Dokploy: {exc.server_message})", query=query
            ) from None
        if project_id is not None and row.project_id != project_id:
            raise DokployLookupError(
                f"{query}: environment {row.name!r} ({environment_id}) belongs to project {row.project_id}, "
                f"not {project_id}",
                query=query,
            )
        info = environment_info(row)
        if row.project_id:
            # environment.one has no createdAt; the search rows of its project do.
            same = _environments(client, row.project_id, like_literal(row.name))
            created = next((r.created_at for r in same if r.environment_id == environment_id), None)
            info = replace(info, created_at=created)
        return info
    assert project_id is not None and name is not None
    rows = _environments(client, project_id, like_literal(name))

    def held() -> list[tuple[str, str]]:
        # Nothing by that name: list what the project does hold (one page), or say it does not exist.
        from ._routers import SEARCH_PAGE_MAX  # loaded with the client (see the imports)

        items = client.environment.search(project_id=project_id, limit=SEARCH_PAGE_MAX).items
        if not items:
            _project_one(client, project_id, query)
        return [(r.name, r.environment_id) for r in items]

    exact = [r for r in rows if r.name == name]
    match = _pick(query, "environment", " in this project", exact, held, "look it up by environment_id instead")
    return environment_info(match, project_id)


def get_default_environment(
    project_id: str, connection: Optional[Connection] = None, opts: Optional[pulumi.InvokeOptions] = None
) -> EnvironmentInfo:
    """The project's default ("production") environment, which Dokploy creates with every project."""
    query = _call("get_default_environment", project_id=project_id)
    detail = _project_one(_client(connection), project_id, query)
    default = detail.default_environment()
    if default is None:
        held = [(e.name, e.environment_id) for e in detail.environments]
        raise DokployLookupError(
            f"{query}: project {detail.name!r} has no default environment ({NO_DEFAULT_REASONS})"
            + (f"; it holds {_listing(held)}" if held else ""),
            query=query,
            candidates=held,
        )
    return environment_info(default, project_id)


def list_projects(
    connection: Optional[Connection] = None, opts: Optional[pulumi.InvokeOptions] = None
) -> list[ProjectInfo]:
    """Every project the API key can see, newest first."""
    client = _client(connection)
    rows = _projects(client)
    # project.search has no environments: find each project's default among all environments.
    defaults = {e.project_id: e.environment_id for e in _environments(client, None) if e.is_default}
    return [project_info(r, defaults.get(r.project_id)) for r in rows]


def list_environments(
    project_id: str, connection: Optional[Connection] = None, opts: Optional[pulumi.InvokeOptions] = None
) -> list[EnvironmentInfo]:
    """Every environment of the project, newest first. A project that does not exist is an error."""
    client = _client(connection)
    rows = _environments(client, project_id)
    if not rows:
        _project_one(client, project_id, _call("list_environments", project_id=project_id))
    return [environment_info(r, project_id) for r in rows]


def search_projects(q: Optional[str] = None, name: Optional[str] = None, description: Optional[str] = None,
                    limit: Optional[int] = None, offset: Optional[int] = None,
                    connection: Optional[Connection] = None,
                    opts: Optional[pulumi.InvokeOptions] = None) -> SearchResult[ProjectInfo]:  # fmt: skip
    """One page of Dokploy's project search, as the server does it.

    Terms are trimmed, case-insensitive substrings in which `%` and `_` act as wildcards; `q`
    matches name or description. limit 1..100 (server default 20), offset from 0. Items carry no
    default_environment_id (project.search returns no environments).
    """
    page = _client(connection).project.search(q, name=name, description=description, limit=limit, offset=offset)
    return SearchResult([project_info(r, None) for r in page.items], page.total)


def search_environments(q: Optional[str] = None, name: Optional[str] = None, description: Optional[str] = None,
                        project_id: Optional[str] = None, limit: Optional[int] = None, offset: Optional[int] = None,
                        connection: Optional[Connection] = None,
                        opts: Optional[pulumi.InvokeOptions] = None) -> SearchResult[EnvironmentInfo]:  # fmt: skip
    """One page of Dokploy's environment search (as `search_projects`; project_id is exact)."""
    page = _client(connection).environment.search(
        q, name=name, description=description, project_id=project_id, limit=limit, offset=offset
    )
    return SearchResult([environment_info(r) for r in page.items], page.total)


def get_tag(
    tag_id: Optional[str] = None,
    name: Optional[str] = None,
    connection: Optional[Connection] = None,
    opts: Optional[pulumi.InvokeOptions] = None,
) -> TagInfo:
    """The tag with this id, or the one named exactly `name` (names are unique in an organization).
    Dokploy v0.29.0+; an older server is an error naming its version."""
    _exactly_one_of("get_tag", tag_id=tag_id, name=name)
    query = _call("get_tag", tag_id=tag_id, name=name)
    client = _client(connection)
    if tag_id is not None:
        try:
            return tag_info(client.tag.one(tag_id))
        except NotFoundError as exc:
            raise DokployLookupError(
                f"{query}: no tag has the id {tag_id!r} (Dokploy: {exc.server_message})", query=query
            ) from None
    rows = client.tag.all()
    exact = [r for r in rows if r.name == name]
    near = [r for r in rows if name is not None and name.strip().lower() in r.name.lower()]
    match = _pick(query, "tag", "", exact, lambda: [(r.name, r.tag_id) for r in near], "look it up by tag_id instead")
    return tag_info(match)


def list_tags(connection: Optional[Connection] = None, opts: Optional[pulumi.InvokeOptions] = None) -> list[TagInfo]:
    """Every tag of the API key's organization, by name (one `tag.all`; Dokploy v0.29.0+)."""
    return [tag_info(r) for r in _client(connection).tag.all()]


# -- the _output forms -----------------------------------------------------------------------------------
#
# Each is spelt out with its plain form's parameters as Inputs, as Pulumi's generated SDKs do, so that
# mypy and IDEs check every call; all of them delegate to `_lifted`.

#: The options a look-up takes; see `_lifted` for what each means here.
InvokeOpts = Union[pulumi.InvokeOptions, pulumi.InvokeOutputOptions]


def _ready(resource: Any) -> Output[Any]:
    """What says `resource` is done: a custom resource's id (known once it exists, unknown in a
    preview that creates it), else its urn (a remote component's registration waits for its children;
    a `DependencyResource` is a custom resource known by its urn only, and has no id)."""
    done: Output[Any] = resource.id if "id" in vars(resource) else resource.urn
    return done


def _after(opts: Optional[InvokeOpts]) -> Output[Any]:
    """An Output that resolves once every resource in `opts.depends_on` is done, and carries them
    as dependencies (so what uses the look-up's result also depends on them).

    A local ComponentResource stands for its children, as in any Pulumi depends_on (its own urn is
    known long before they exist): expanded by the SDK's own rule, the one its invokes use."""
    depends_on = getattr(opts, "depends_on", None)
    if depends_on is None:
        return Output.from_input(None)

    async def expanded(resources: Any) -> Any:  # (a list of resources; Any for `apply`)
        from pulumi.runtime.rpc import _expand_dependencies  # the SDK's: components -> their children

        listed: list[Any] = [
            r for r in (resources if isinstance(resources, (list, tuple)) else [resources]) if r is not None
        ]
        found = await _expand_dependencies(listed, None)
        # Older SDKs answer the children's urns only (awaited, i.e. registered): wait on what was listed.
        return list(found.values()) if isinstance(found, dict) else listed

    def each(done: Any) -> Output[Any]:
        return Output.all(*[_ready(r) for r in done])

    return Output.from_input(depends_on).apply(expanded).apply(each)


def _lifted(
    fn: Callable[..., T], connection: Optional[Connection], opts: Optional[InvokeOpts], **inputs: Any
) -> Output[T]:
    """`fn(**inputs)` once the inputs (and `opts.depends_on`) are resolved, as an Output: unknown
    while any of them is unknown (a preview), every env in the result a secret Output.

    There is no invoke behind a dynamic provider's look-up: it runs here, in the program. So of
    Pulumi's invoke options only `depends_on` acts (the look-up waits for those resources, e.g. to see
    an object one of them creates); `parent`, `provider`, `version` and `plugin_download_url` choose
    which provider plugin serves an invoke, and there is none to choose: they are accepted for the
    usual signature and change nothing. The Dokploy read is `connection`'s, else the stack's.
    """

    async def run(resolved: list[Any]) -> Any:
        # The call blocks on HTTP: run it in a thread (with this context, so pulumi.Config
        # works) instead of stalling every other registration waiting on the event loop.
        return secret_env(await asyncio.to_thread(fn, **resolved[0], connection=connection))

    return Output.all(Output.all(**inputs) if inputs else Output.from_input({}), _after(opts)).apply(run)


def get_project_output(
    project_id: Optional[pulumi.Input[str]] = None,
    name: Optional[pulumi.Input[str]] = None,
    connection: Optional[Connection] = None,
    opts: Optional[InvokeOpts] = None,
) -> Output[ProjectInfo]:
    """`get_project` for Inputs; the result is an Output and its env a secret Output."""
    return _lifted(get_project, connection, opts, project_id=project_id, name=name)


def get_environment_output(
    environment_id: Optional[pulumi.Input[str]] = None,
    project_id: Optional[pulumi.Input[str]] = None,
    name: Optional[pulumi.Input[str]] = None,
    connection: Optional[Connection] = None,
    opts: Optional[InvokeOpts] = None,
) -> Output[EnvironmentInfo]:
    """`get_environment` for Inputs; the result is an Output and its env a secret Output."""
    return _lifted(get_environment, connection, opts, environment_id=environment_id, project_id=project_id, name=name)


def get_default_environment_output(
    project_id: pulumi.Input[str], connection: Optional[Connection] = None, opts: Optional[InvokeOpts] = None
) -> Output[EnvironmentInfo]:
    """`get_default_environment` for Inputs; the result is an Output and its env a secret Output."""
    return _lifted(get_default_environment, connection, opts, project_id=project_id)


def list_projects_output(
    connection: Optional[Connection] = None, opts: Optional[InvokeOpts] = None
) -> Output[list[ProjectInfo]]:
    """`list_projects` as an Output (it may wait for `opts.depends_on`); each env a secret Output."""
    return _lifted(list_projects, connection, opts)


def list_environments_output(
    project_id: pulumi.Input[str], connection: Optional[Connection] = None, opts: Optional[InvokeOpts] = None
) -> Output[list[EnvironmentInfo]]:
    """`list_environments` for Inputs; the result is an Output and each env a secret Output."""
    return _lifted(list_environments, connection, opts, project_id=project_id)


def search_projects_output(q: Optional[pulumi.Input[str]] = None, name: Optional[pulumi.Input[str]] = None,
                           description: Optional[pulumi.Input[str]] = None, limit: Optional[pulumi.Input[int]] = None,
                           offset: Optional[pulumi.Input[int]] = None, connection: Optional[Connection] = None,
                           opts: Optional[InvokeOpts] = None) -> Output[SearchResult[ProjectInfo]]:  # fmt: skip
    """`search_projects` for Inputs; the result is an Output and each env a secret Output."""
    return _lifted(search_projects, connection, opts, q=q, name=name, description=description, limit=limit,
                   offset=offset)  # fmt: skip


def search_environments_output(q: Optional[pulumi.Input[str]] = None, name: Optional[pulumi.Input[str]] = None,
                               description: Optional[pulumi.Input[str]] = None,
                               project_id: Optional[pulumi.Input[str]] = None,
                               limit: Optional[pulumi.Input[int]] = None, offset: Optional[pulumi.Input[int]] = None,
                               connection: Optional[Connection] = None,
                               opts: Optional[InvokeOpts] = None) -> Output[SearchResult[EnvironmentInfo]]:  # fmt: skip
    """`search_environments` for Inputs; the result is an Output and each env a secret Output."""
    return _lifted(search_environments, connection, opts, q=q, name=name, description=description,
                   project_id=project_id, limit=limit, offset=offset)  # fmt: skip


def get_tag_output(
    tag_id: Optional[pulumi.Input[str]] = None,
    name: Optional[pulumi.Input[str]] = None,
    connection: Optional[Connection] = None,
    opts: Optional[InvokeOpts] = None,
) -> Output[TagInfo]:
    """`get_tag` for Inputs; the result is an Output."""
    return _lifted(get_tag, connection, opts, tag_id=tag_id, name=name)


def list_tags_output(
    connection: Optional[Connection] = None, opts: Optional[InvokeOpts] = None
) -> Output[list[TagInfo]]:
    """`list_tags` as an Output (it may wait for `opts.depends_on`)."""
    return _lifted(list_tags, connection, opts)
