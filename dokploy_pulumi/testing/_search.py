"""``project.search`` and ``environment.search`` (v0.28.0 and later).

Each trims its terms (JavaScript ``trim``) and matches ``ILIKE '%term%'`` without escaping them,
so ``%`` and ``_`` are wildcards (``dokploy_pulumi._ilike``, the same rules the client applies
on servers without search). Pages are newest first; ``total`` counts every match. A fractional
``limit``/``offset`` passes validation and fails in Postgres (``LIMIT`` is a bigint), which the
real server reports with the failed statement: it is rebuilt here as drizzle writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._ilike import contains
from .._js import js_trim
from ._call import Call, procedure
from ._errors import DatabaseError
from ._store import ENVIRONMENT_COLUMNS, PROJECT_COLUMNS

__all__ = ["search_environments", "search_projects"]

_Row = dict[str, Any]


def _terms(data: dict[str, Any]) -> dict[str, str]:
    """The non-blank trimmed terms, in the order the handlers test them."""
    out = {}
    for key in ("q", "name", "description"):
        term = js_trim(data.get(key) or "")
        if term:
            out[key] = term
    return out


def _matches(row: _Row, terms: dict[str, str]) -> bool:
    # `ilike(column, "%term%")`: a NULL description never matches.
    if "q" in terms and not (contains(row["name"], terms["q"]) or contains(row["description"], terms["q"])):
        return False
    if "name" in terms and not contains(row["name"], terms["name"]):
        return False
    return "description" not in terms or contains(row["description"], terms["description"])


def _where(column: Callable[[str], str], first: list[tuple[str, Any]], terms: dict[str, str]) -> tuple[str, list[Any]]:
    """drizzle's ``and(...)`` of the handler's conditions, with their parameters."""
    params: list[Any] = []
    conditions: list[str] = []
    for sql, value in first:
        params.append(value)
        conditions.append(f"{sql} = ${len(params)}")
    if "q" in terms:
        params += [f"%{terms['q']}%"] * 2
        conditions.append(
            f"({column('name')} ilike ${len(params) - 1} or {column('description')} ilike ${len(params)})"
        )
    for key in ("name", "description"):
        if key in terms:
            params.append(f"%{terms[key]}%")
            conditions.append(f"{column(key)} ilike ${len(params)}")
    where = conditions[0] if len(conditions) == 1 else f"({' and '.join(conditions)})"
    return where, params


def _page(rows: list[_Row], data: dict[str, Any], statement: Callable[[], tuple[str, list[Any]]]) -> dict[str, Any]:
    limit, offset = data["limit"], data["offset"]
    for value in (limit, offset):
        if not float(value).is_integer():
            sql, params = statement()
            params.append(limit)
            sql += f" limit ${len(params)}"
            if offset:  # drizzle leaves out OFFSET 0
                params.append(offset)
                sql += f" offset ${len(params)}"
            raise DatabaseError(f'invalid input syntax for type bigint: "{value}"', sql, params)
    return {"items": rows[int(offset) : int(offset) + int(limit)], "total": len(rows)}


@procedure("project.search")
def search_projects(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    terms = _terms(data)
    rows = [dict(p) for p in call.store.projects_of(call.org) if _matches(p, terms)]

    def statement() -> tuple[str, list[Any]]:
        where, params = _where(lambda c: f'"projects"."{c}"', [('"projects"."organizationId"', call.org)], terms)
        columns = ", ".join(f'"{c}"' for c in PROJECT_COLUMNS)
        sql = f'select {columns} from "project" "projects" where {where} order by "projects"."createdAt" desc'
        return sql, params

    return _page(rows, data, statement)


@procedure("environment.search")
def search_environments(call: Call, data: dict[str, Any]) -> dict[str, Any]:
    terms = _terms(data)
    project_id = data.get("projectId")
    store = call.store
    rows = [
        dict(env)
        for env in store.environments.values()
        if store.org_of(env) == call.org and (not project_id or env["projectId"] == project_id) and _matches(env, terms)
    ]
    rows.sort(key=lambda e: store.order(e["environmentId"], e["createdAt"]), reverse=True)

    def statement() -> tuple[str, list[Any]]:
        first = [('"project"."organizationId"', call.org)]
        if project_id:
            first.append(('"environment"."projectId"', project_id))
        where, params = _where(lambda c: f'"environment"."{c}"', first, terms)
        columns = ", ".join(f'"environment"."{c}"' for c in ENVIRONMENT_COLUMNS)
        sql = (
            f'select {columns} from "environment" inner join "project" on "environment"."projectId" = '
            f'"project"."projectId" where {where} order by "environment"."createdAt" desc'
        )
        return sql, params

    return _page(rows, data, statement)
