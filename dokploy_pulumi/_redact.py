"""The one rule that keeps secrets (API keys, env values) out of every message this package writes.

A server or a proxy may echo what it was sent: drizzle puts a failed query's parameters in its
message, a debugging proxy answers with the request's headers, an HTML error page quotes the body.
Such echoes come back escaped (JSON, HTML, URL), quoted as dotenv writes them, folded, cut short by
the server, or split across lines. So a secret is not only its exact text:

- **every run of at least `RUN` characters that also occurs in a secret** (or in one of the
  spellings in which it travels: dotenv-quoted, JSON-escaped, HTML-escaped, URL-encoded) is
  replaced by `***`. That hides a value cut short, a value split into lines or pieces, a value
  inside a longer echo, and the API key wherever it shows up;
- a secret of `MIN_LENGTH` to `RUN - 1` characters is hidden where it occurs whole (in any of
  those spellings);
- a secret shorter than `MIN_LENGTH` is not redacted: "1", "on" or "dev" occur in every message
  (status codes, words), so hiding them would garble every error and still hide nothing (such a
  value is guessable anyway). Likewise a piece shorter than `RUN` characters may remain where a
  server itself cut a value into shorter pieces.

Redaction never hides our own words that say which call failed and how (`keep`: the procedure, its
path, "failed with 500", the resource's label): an env value that is a common word ("create",
"project") would otherwise erase them from every error. Only such public text is kept, so what stays
visible of a secret is at most a piece equal to a procedure name or a status.

Redaction runs on the whole text before it is folded or truncated (a cut value would otherwise
slip through), and again after folding (which may join pieces). It repeats until nothing changes,
so that text around a `***` can never complete a secret.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Optional, Union
from urllib.parse import quote, quote_plus

from ._dotenv import env_as_dict, quote_env_value

#: Secrets shorter than this are not redacted (see the module docstring).
MIN_LENGTH = 4
#: Any run of this many characters shared with a secret is redacted.
RUN = 6
MARK = "***"
#: How much of a server's own text (a body without a `message`) goes into an error message.
SNIPPET_LIMIT = 200


def spellings(value: str) -> set[str]:
    """The forms in which `value` may come back from a server or a proxy."""
    forms = {value, quote_env_value(value)}
    for form in list(forms):
        for level in (form, json.dumps(form, ensure_ascii=False)[1:-1], json.dumps(form)[1:-1]):
            forms.update({level, html.escape(level), html.escape(level, quote=False)})
            # One more level of JSON escaping: a JSON body quoted inside a JSON message.
            forms.update({json.dumps(level, ensure_ascii=False)[1:-1], json.dumps(level)[1:-1]})
        forms.update({quote(form, safe=""), quote_plus(form, safe="")})
    # Each line alone: a server may print a multi-line value line by line.
    forms.update(line.strip() for line in value.splitlines())
    return {f for f in forms if len(f) >= MIN_LENGTH}


def env_values(env: Union[str, Mapping[str, Any], None]) -> list[str]:
    """The values of an env (dotenv text or a mapping); never fails on a malformed one."""
    try:
        return list(env_as_dict(env).values()) if isinstance(env, (str, Mapping)) else []
    except Exception:  # a mapping of odd values: take what is a string
        return [v for v in env.values() if isinstance(v, str)] if isinstance(env, Mapping) else []


class Secrets:
    """A set of secret strings and the redaction rule (see the module docstring). Thread-safe.

    Add-only: a value once seen as a secret stays one for the object's life.
    """

    def __init__(self, values: Iterable[Optional[str]] = ()) -> None:
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._runs: set[str] = set()
        self._short: set[str] = set()
        self.add(*values)

    def __repr__(self) -> str:
        return f"Secrets({len(self._seen)} value(s))"

    def __bool__(self) -> bool:
        return bool(self._seen)

    def add(self, *values: Optional[str]) -> None:
        with self._lock:
            for value in values:
                if not isinstance(value, str) or len(value) < MIN_LENGTH or value in self._seen:
                    continue
                self._seen.add(value)
                for form in spellings(value):
                    if len(form) < RUN:
                        self._short.add(form)
                    else:
                        self._runs.update(form[i : i + RUN] for i in range(len(form) - RUN + 1))

    def add_env(self, env: Union[str, Mapping[str, Any], None]) -> None:
        """Every value of an env (dotenv text or a mapping)."""
        self.add(*env_values(env))

    def values(self) -> list[str]:
        with self._lock:
            return list(self._seen)

    def update(self, other: Secrets) -> None:
        with other._lock:
            values = list(other._seen)
        self.add(*values)

    def redact(self, text: str, keep: Iterable[Optional[str]] = ()) -> str:
        """`text` with every secret (see the module docstring) replaced by `***`, except where one
        of the `keep` strings (our own public words) occurs whole."""
        if not isinstance(text, str):
            text = str(text)
        with self._lock:
            runs, short = frozenset(self._runs), tuple(sorted(self._short, key=len, reverse=True))
        if not runs and not short:
            return text
        kept = tuple(k for k in keep if k)
        while True:
            redacted = _redact_once(text, runs, short, kept)
            if redacted == text:
                return text
            text = redacted

    def snippet(self, text: str, limit: int = SNIPPET_LIMIT) -> str:
        """The start of a server's text for a message: redacted, whitespace folded, redacted, cut."""
        folded = " ".join(self.redact(text).split())
        return self.redact(folded)[:limit]

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with every string in it (keys too) redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_value(v) for v in value]
        return value


def _redact_once(text: str, runs: frozenset[str], short: tuple[str, ...], keep: tuple[str, ...] = ()) -> str:
    covered = bytearray(len(text))
    for i in range(len(text) - RUN + 1):
        if text[i : i + RUN] in runs:
            covered[i : i + RUN] = b"\x01" * RUN
    for form in short:
        start = text.find(form)
        while start != -1:
            covered[start : start + len(form)] = b"\x01" * len(form)
            start = text.find(form, start + 1)
    for word in keep:
        start = text.find(word)
        while start != -1:
            covered[start : start + len(word)] = bytes(len(word))
            start = text.find(word, start + 1)
    if not any(covered):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(MARK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


#: Secrets the caller knows and a request does not carry (e.g. a resource's old env values, which
#: the server holds and may echo), for every request sent from this context.
_EXTRA: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("dokploy_secret_values", default=())


@contextlib.contextmanager
def more_secrets(values: Iterable[str]) -> Iterator[None]:
    """Within the block, errors of every call made from this thread also redact `values`."""
    token = _EXTRA.set(_EXTRA.get() + tuple(v for v in values if isinstance(v, str)))
    try:
        yield
    finally:
        _EXTRA.reset(token)


def for_request(api_key: Optional[str], body: Optional[Mapping[str, Any]]) -> Secrets:
    """The secrets of one request: its API key, the env values it sends, and the context's."""
    secrets = Secrets([api_key] if api_key else [])
    secrets.add(*_EXTRA.get())
    if isinstance(body, Mapping):
        secrets.add_env(body.get("env"))
    return secrets
