"""JavaScript's whitespace, as the Dokploy server (Node) sees it: one definition for every port of its
behaviour (`_dotenv`'s port of dotenv's parser, `_ilike`'s search terms, the emulator's inputs).
Checked in Node over every UTF-16 code unit (tests/oracle). Imports nothing.
"""

from __future__ import annotations

__all__ = ["JS_WHITESPACE", "js_trim"]

#: What JavaScript's `\s` matches, which is also what `String.prototype.trim` removes.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(value: str) -> str:
    """JavaScript `String.prototype.trim`."""
    return value.strip(JS_WHITESPACE)
