"""The two kinds of failure inside a procedure: a ``TRPCError`` and a raw database error.

A handler throws ``TRPCError`` on purpose (not found, forbidden, refused); tRPC answers with its
code. A database error (a foreign key, a fractional LIMIT) is a plain ``Error``: tRPC answers 500
``INTERNAL_SERVER_ERROR`` unless the handler wraps it into its own 400 (``"Error creating the
environment: ..."``). Its message differs between releases: v0.30.2's drizzle reports
``Failed query: <sql>\\nparams: <values>``, v0.26.7 passes Postgres' own text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._releases import Release

__all__ = ["HTTP_STATUS", "DatabaseError", "TRPCError", "sql_insert", "sql_update"]

#: tRPC's TRPC_ERROR_CODE_HTTP_STATUS (used by @dokploy/trpc-openapi for the status).
HTTP_STATUS: dict[str, int] = {
    "PARSE_ERROR": 400,
    "BAD_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_SUPPORTED": 405,
    "TIMEOUT": 408,
    "CONFLICT": 409,
    "PRECONDITION_FAILED": 412,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "UNPROCESSABLE_CONTENT": 422,
    "TOO_MANY_REQUESTS": 429,
    "CLIENT_CLOSED_REQUEST": 499,
    "INTERNAL_SERVER_ERROR": 500,
    "NOT_IMPLEMENTED": 501,
    "BAD_GATEWAY": 502,
    "SERVICE_UNAVAILABLE": 503,
    "GATEWAY_TIMEOUT": 504,
}


class TRPCError(Exception):
    """A ``TRPCError`` as thrown by a Dokploy handler; the HTTP layer renders the tRPC shape."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 500)


class DatabaseError(Exception):
    """A raw database (or drizzle) error: ``postgres`` is Postgres' message, ``sql``/``params`` the
    statement that failed, if any. ``message(release)`` is what that release's handler sees."""

    def __init__(self, postgres: str, sql: str | None = None, params: Iterable[Any] = ()) -> None:
        super().__init__(postgres)
        self.postgres = postgres
        self.sql = sql
        self.params = list(params)

    def message(self, release: Release) -> str:
        if release.failed_query_errors and self.sql is not None:
            return f"Failed query: {self.sql}\nparams: {','.join(_js_string(p) for p in self.params)}"
        return self.postgres


def _js_string(value: Any) -> str:
    """``String(value)`` as ``Array.prototype.join`` writes it (null -> "", numbers as JS does)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _params(columns: tuple[str, ...], values: dict[str, Any], params: list[Any]) -> list[tuple[str, str]]:
    """(column, "$n") for each column given a value, in table order; the values go into ``params``."""
    placed = []
    for column in columns:
        if column in values:
            params.append(values[column])
            placed.append((column, f"${len(params)}"))
    return placed


def sql_insert(table: str, columns: tuple[str, ...], values: dict[str, Any]) -> tuple[str, list[Any]]:
    """drizzle's ``insert ... returning`` for ``values`` (absent columns are ``default``)."""
    params: list[Any] = []
    given = dict(_params(columns, values, params))
    placeholders = ", ".join(given.get(column, "default") for column in columns)
    sql = f'insert into "{table}" ({_quoted(columns)}) values ({placeholders}) returning {_quoted(columns)}'
    return sql, params


def sql_update(
    table: str, columns: tuple[str, ...], key: str, key_value: str, values: dict[str, Any]
) -> tuple[str, list[Any]]:
    """drizzle's ``update ... set ... where key = ? returning`` (set columns in table order)."""
    params: list[Any] = []
    sets = ", ".join(f'"{column}" = {placeholder}' for column, placeholder in _params(columns, values, params))
    params.append(key_value)
    sql = f'update "{table}" set {sets} where "{table}"."{key}" = ${len(params)} returning {_quoted(columns)}'
    return sql, params
