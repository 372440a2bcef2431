"""Dokploy's search semantics: a trimmed term matched as Postgres `ILIKE '%term%'`.

`project.search` and `environment.search` (v0.28+) trim each term (JavaScript `trim`) and build
`%term%` without escaping it, so `%` and `_` are wildcards and a backslash escapes the next
character. The client reproduces this for servers without those procedures, and the emulator for
its own search, so both agree with the real server.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from ._js import js_trim


class LikePatternError(ValueError):
    """A pattern Postgres refuses ("LIKE pattern must not end with escape character")."""


def like_literal(text: str) -> str:
    """Escape LIKE's metacharacters so a search term matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@lru_cache(maxsize=256)
def like_regex(pattern: str) -> re.Pattern[str]:
    """Postgres ILIKE as a regex: `%` any run, `_` one character, `\\` escapes; nothing else special."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 == len(pattern):
                raise LikePatternError("LIKE pattern must not end with escape character")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def contains(value: Optional[str], term: str) -> bool:
    """`value ILIKE '%term%'`; NULL never matches."""
    return value is not None and like_regex(f"%{term}%").fullmatch(value) is not None


def matches(
    row_name: str, row_description: Optional[str], q: Optional[str], name: Optional[str], description: Optional[str]
) -> bool:
    """Whether a row passes the q / name / description filters of a search (empty terms are ignored)."""
    q, name, description = (js_trim(t or "") for t in (q, name, description))
    if q and not (contains(row_name, q) or contains(row_description, q)):
        return False
    if name and not contains(row_name, name):
        return False
    return not (description and not contains(row_description, description))
