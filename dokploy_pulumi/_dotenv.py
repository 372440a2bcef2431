"""Dokploy stores `env` as free dotenv text; Pulumi users think of it as a dict. Convert both ways.

What a service sees is what Node's `dotenv` 16.4.5 `parse` returns for that text: Dokploy reads
project, environment and service env with it (packages/server/src/utils/docker/utils.ts,
`prepareEnvironmentVariables`). So `parse_env` is a port of that function (dotenv 16.4.5,
lib/main.js), not of python-dotenv, whose escapes differ: in Node a backslash is literal except for
`\\n`/`\\r` inside double quotes, and there is no escape for a quote or a backslash. Nothing is
interpolated (`$` and `${{project.X}}` pass through; Dokploy resolves those references itself).

`serialize_env` writes each value bare or in single, double or back quotes, whichever the port reads
back as exactly that value whatever lines follow (see `quote_env_value`). With no escapes, a few
values have no such spelling (one that needs quotes and ends with a backslash, say);
`unrepresentable_env_keys` names their keys and `serialize_env` refuses them rather than send
something else. tests/oracle checks both directions against the real Node package.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Optional, Union

from ._js import JS_WHITESPACE

#: A key Node's dotenv reads (`[\w.-]+`, ASCII), i.e. every key Dokploy's services can receive. Keys
#: such as `NEXT.PUBLIC_URL` or `my-key` are valid there (Docker passes them), so they are valid here.
#: The one key rule: always `fullmatch` (a `$` would let a trailing newline through).
ENV_KEY_RE = re.compile(r"[A-Za-z0-9_.-]+")


def is_env_key(key: str) -> bool:
    """True for a key Node's dotenv reads, the whole string."""
    return ENV_KEY_RE.fullmatch(key) is not None


# -- the port of dotenv 16.4.5 `parse` ----------------------------------------------------------------
# JavaScript regexes differ from Python's in the sets behind `\s`, `.`, `^`/`$` (with the `m` flag)
# and String.prototype.trim, so those are spelled out (checked in Node over every UTF-16 code unit).
# The regexes are otherwise the same backtracking, leftmost-first machines, so the port keeps
# Node's regexes token for token and gets the same backtracking, e.g. a `"...` that finds no closing
# quote falls back to the unquoted alternative.

_S = "[" + re.escape(JS_WHITESPACE) + "]"  # JS `\s`
#: JS line terminators: what `^`/`$` stop at under the `m` flag and `.` never matches.
_LT = r"[\n\r\u2028\u2029]"
_BOL = rf"(?:\A|(?<={_LT}))"  # JS `^` with the m flag
_EOL = rf"(?={_LT}|\Z)"  # JS `$` with the m flag (Python's `$` also matches before a final \n only)
_DOT = r"[^\n\r\u2028\u2029]"  # JS `.`

# const LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg
_LINE = re.compile(  # token for token, `(?:^|^)` included
    rf"(?:{_BOL}|{_BOL}){_S}*(?:export{_S}+)?({ENV_KEY_RE.pattern})(?:{_S}*={_S}*?|:{_S}+?)"
    rf"({_S}*'(?:\\'|[^'])*'|{_S}*\"(?:\\\"|[^\"])*\"|{_S}*`(?:\\`|[^`])*`|[^#\r\n]+)?"
    rf"{_S}*(?:#{_DOT}*)?(?:{_EOL}|{_EOL})"
)
# value.replace(/^(['"`])([\s\S]*)\1$/mg, '$2')
_SURROUNDING_QUOTES = re.compile(rf"{_BOL}(['\"`])([\s\S]*)\1{_EOL}")
_NEWLINES = re.compile(r"\r\n?")


def parse_env(text: Optional[str]) -> dict[str, str]:
    """Parse dotenv text exactly as Node's dotenv 16.4.5 `parse` does (a bare `KEY=` is "")."""
    if not text:
        return {}
    lines = _NEWLINES.sub("\n", text)
    parsed: dict[str, str] = {}
    for match in _LINE.finditer(lines):
        key = match.group(1)
        value = (match.group(2) or "").strip(JS_WHITESPACE)
        maybe_quote = value[:1]
        value = _SURROUNDING_QUOTES.sub(lambda m: m.group(2), value)
        if maybe_quote == '"':
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        if key == "__proto__":
            # `obj['__proto__'] = 'a string'` is a no-op on a JS object: Node drops the variable.
            continue
        parsed[key] = value
    return parsed


# -- serialising ----------------------------------------------------------------------------------------

_PROBE_KEY = "K"


def _quoted_body_end(spelling: str) -> Optional[int]:
    """Where Node's quoted-value body ends in `KEY=<spelling>` (spelling without leading spaces),
    or None if it starts with no quote.

    A value starting with a quote q is first tried as `q(?:\\\\q|[^q])*q`, whose greedy body stops
    at the first q not escaped by a backslash: the index returned. If that q is inside the spelling,
    every way the regex can go (the quoted value, or a fall back to the unquoted one, which stops at
    the end of the line) stays on this line. If there is none (a final backslash escapes the closing
    quote), `len(spelling)` is returned: the body would run on into the next lines, and the value
    would depend on the variables written after it.
    """
    if spelling[:1] not in ("'", '"', "`"):
        return None
    quote, i = spelling[0], 1
    while i < len(spelling):
        if spelling[i] == "\\" and spelling[i + 1 : i + 2] == quote:
            i += 2
        elif spelling[i] == quote:
            return i
        else:
            i += 1
    return len(spelling)


def _candidates(value: str) -> list[str]:
    """The spellings worth trying, most readable first.

    Bare, then ', " (newlines escaped) and ` around the value; one-line spellings before multi-line
    ones, and plain quoting before spellings that only come out right through the unquoted fall back
    (`''\\'` for `'\\`: the quoted body ends early, so Node reads it unquoted and strips the quotes).
    """
    double = '"' + value.replace("\n", "\\n").replace("\r", "\\r") + '"'
    spellings = [f"'{value}'", double, f"`{value}`"]
    if "\n" not in value and "\r" not in value:
        spellings.insert(0, value)
    ranked = []
    for order, spelling in enumerate(spellings):
        body = spelling.lstrip(JS_WHITESPACE)  # the regex's `\s*` skips these before a quote
        end = _quoted_body_end(body)
        if end == len(body):
            continue
        falls_back = end is not None and end != len(body) - 1
        ranked.append(("\n" in spelling, falls_back, order, spelling))
    return [spelling for *_, spelling in sorted(ranked)]


def _quoted(value: str) -> Optional[str]:
    """The spelling of `value` that Node reads back unchanged whatever follows it, or None."""
    for candidate in _candidates(value):
        if parse_env(f"{_PROBE_KEY}={candidate}") == {_PROBE_KEY: value}:
            return candidate
    return None


def quote_env_value(value: str) -> str:
    """One value exactly as `serialize_env` writes it after `KEY=`: bare, or in ', " or ` quotes.

    Used to redact secrets from messages. A value no quoting can carry (`serialize_env` refuses it)
    is returned unchanged.
    """
    quoted = _quoted(value)
    return value if quoted is None else quoted


def _key_is_representable(key: str) -> bool:
    # Keys Node reads back as themselves: its `[\w.-]+`, minus `__proto__`, which it drops.
    return is_env_key(key) and key != "__proto__"


def unrepresentable_env_keys(env: Mapping[str, str]) -> list[str]:
    """The keys (sorted) whose entry no dotenv spelling carries unchanged to Dokploy.

    Either no spelling of the value reads back unchanged (see `serialize_env`'s error), or Node
    would not read the key back (`__proto__`, which it drops, or anything but [A-Za-z0-9_.-]+).
    Only keys are returned: values may be secret.
    """
    return sorted(
        str(key) for key, value in env.items() if not _key_is_representable(str(key)) or _quoted(str(value)) is None
    )


def serialize_env(env: Mapping[str, str]) -> str:
    """Render a dict as dotenv text, one `KEY=value` entry per line, in the dict's order.

    Raises ValueError, naming only the keys, when some values cannot be carried unchanged
    (see `unrepresentable_env_keys`): sending them would silently change what services see.
    """
    lines, bad = [], []
    for key, value in env.items():
        key, value = str(key), str(value)
        quoted = _quoted(value) if _key_is_representable(key) else None
        if quoted is None:
            bad.append(key)
        else:
            lines.append(f"{key}={quoted}\n")
    if bad:
        raise ValueError(
            "no dotenv spelling carries these env entries to Dokploy unchanged, key(s): "
            + ", ".join(repr(k) for k in sorted(bad))
            + ". Its parser (Node dotenv 16.4.5) has no escapes for quotes or backslashes: for example a"
            " value that needs quotes (edge spaces, #, a newline, a leading quote) cannot end with a"
            " backslash, nor hold ', \" and ` together with #. Keys must match [A-Za-z0-9_.-]+ and not"
            " be __proto__."
        )
    text = "".join(lines)
    # Each spelling was checked alone and reads the same whatever follows it; check the whole too.
    back = parse_env(text)
    changed = sorted(str(k) for k, v in env.items() if back.get(str(k)) != str(v))
    if changed:  # pragma: no cover - would be a bug in _candidates
        raise ValueError(f"env text would not read back unchanged for key(s): {', '.join(map(repr, changed))}")
    return text


def env_as_dict(env: Union[str, Mapping[str, str], None]) -> dict[str, str]:
    """Accept what users may pass (dotenv text or a mapping) and return the key/values."""
    if env is None:
        return {}
    if isinstance(env, str):
        return parse_env(env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}
