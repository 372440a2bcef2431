"""Look-ups: read existing Dokploy projects, environments and tags into a Pulumi program.

Every function comes in the Pulumi pair: a plain form (`get_project`) that calls Dokploy now and
returns a typed, frozen result, and an `_output` form (`get_project_output`) that takes Inputs,
waits for them, runs the plain form off the event loop and returns an Output (unknown in a preview
while an input is unknown). Dynamic providers have no invokes, so these call the API directly from
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
import functools
import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Optional, TypeVar, Union

import pulumi
from pulumi import Output

from ._client import SEARCH_PAGE_MAX, DokployClient, like_literal
from ._connection import ClientPool, ConfigSource, Connection
from ._exceptions import DokployLookupError, NotFoundError
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
from ._models import NO_DEFAULT_REASONS, EnvironmentRow, ProjectDetail, ProjectRow, TagRow

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
    if isinstance(row, TagRow):
        return row.tag_id
    return row.project_id if isinstance(row, ProjectRow) else row.environment_id


def _exactly_one_of(fn: str, **args: Any) -> None:
    given = [k for k, v in args.items() if v is not None]
    if len(given) != 1:
        names = " or ".join(args)
        raise ValueError(f"{fn}: give exactly one of {names}" + (f" (got {', '.join(given)})" if given else ""))


# -- the plain forms -------------------------------------------------------------------------------------


def get_project(
    project_id: Optional[str] = None, name: Optional[str] = None, connection: Optional[Connection] = None
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
        items = client.environment.search(project_id=project_id, limit=SEARCH_PAGE_MAX).items
        if not items:
            _project_one(client, project_id, query)
        return [(r.name, r.environment_id) for r in items]

    exact = [r for r in rows if r.name == name]
    match = _pick(query, "environment", " in this project", exact, held, "look it up by environment_id instead")
    return environment_info(match, project_id)


def get_default_environment(project_id: str, connection: Optional[Connection] = None) -> EnvironmentInfo:
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


def list_projects(connection: Optional[Connection] = None) -> list[ProjectInfo]:
    """Every project the API key can see, newest first."""
    client = _client(connection)
    rows = _projects(client)
    # project.search has no environments: find each project's default among all environments.
    defaults = {e.project_id: e.environment_id for e in _environments(client, None) if e.is_default}
    return [project_info(r, defaults.get(r.project_id)) for r in rows]


def list_environments(project_id: str, connection: Optional[Connection] = None) -> list[EnvironmentInfo]:
    """Every environment of the project, newest first. A project that does not exist is an error."""
    client = _client(connection)
    rows = _environments(client, project_id)
    if not rows:
        _project_one(client, project_id, _call("list_environments", project_id=project_id))
    return [environment_info(r, project_id) for r in rows]


def search_projects(q: Optional[str] = None, name: Optional[str] = None, description: Optional[str] = None,
                    limit: Optional[int] = None, offset: Optional[int] = None,
                    connection: Optional[Connection] = None) -> SearchResult[ProjectInfo]:  # fmt: skip
    """One page of Dokploy's project search, as the server does it.

    Terms are trimmed, case-insensitive substrings in which `%` and `_` act as wildcards; `q`
    matches name or description. limit 1..100 (server default 20), offset from 0. Items carry no
    default_environment_id (project.search returns no environments).
    """
    page = _client(connection).project.search(q, name=name, description=description, limit=limit, offset=offset)
    return SearchResult([project_info(r, None) for r in page.items], page.total)


def search_environments(q: Optional[str] = None, name: Optional[str] = None, description: Optional[str] = None,
                        project_id: Optional[str] = None, limit: Optional[int] = None, offset: Optional[int] = None,
                        connection: Optional[Connection] = None) -> SearchResult[EnvironmentInfo]:  # fmt: skip
    """One page of Dokploy's environment search (as `search_projects`; project_id is exact)."""
    page = _client(connection).environment.search(
        q, name=name, description=description, project_id=project_id, limit=limit, offset=offset
    )
    return SearchResult([environment_info(r) for r in page.items], page.total)


def get_tag(
    tag_id: Optional[str] = None, name: Optional[str] = None, connection: Optional[Connection] = None
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


def list_tags(connection: Optional[Connection] = None) -> list[TagInfo]:
    """Every tag of the API key's organization, by name (one `tag.all`; Dokploy v0.29.0+)."""
    return [tag_info(r) for r in _client(connection).tag.all()]


# -- the _output forms -----------------------------------------------------------------------------------


def _output_form(fn: Callable[..., T]) -> Callable[..., Output[T]]:
    """The `_output` form of a look-up: the same arguments, as Inputs; the result as an Output
    (unknown at preview while an input is unknown), with every env a secret Output."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def lifted(*args: Any, **kwargs: Any) -> Output[T]:
        bound = signature.bind(*args, **kwargs)
        connection = bound.arguments.pop("connection", None)

        async def run(inputs: dict[str, Any]) -> Any:
            # The call blocks on HTTP: run it in a thread (with this context, so pulumi.Config
            # works) instead of stalling every other registration waiting on the event loop.
            return secret_env(await asyncio.to_thread(fn, **inputs, connection=connection))

        inputs = Output.all(**bound.arguments) if bound.arguments else Output.from_input({})
        return inputs.apply(run)

    lifted.__signature__ = signature.replace(  # type: ignore[attr-defined]
        return_annotation=f"Output[{signature.return_annotation}]"
    )
    lifted.__name__ = lifted.__qualname__ = f"{fn.__name__}_output"
    lifted.__doc__ = f"`{fn.__name__}` for Inputs; the result is an Output and its env a secret Output."
    return lifted


get_project_output = _output_form(get_project)
get_environment_output = _output_form(get_environment)
get_default_environment_output = _output_form(get_default_environment)
list_projects_output = _output_form(list_projects)
list_environments_output = _output_form(list_environments)
search_projects_output = _output_form(search_projects)
search_environments_output = _output_form(search_environments)
get_tag_output = _output_form(get_tag)
list_tags_output = _output_form(list_tags)
