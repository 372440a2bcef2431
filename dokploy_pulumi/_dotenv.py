"""Dokploy stores `env` as free dotenv text; Pulumi users think of it as a dict. Convert both ways.

Parsing uses python-dotenv (no interpolation: Dokploy does its own `${{...}}` templating, so `$`
must stay literal). Serialising writes `KEY=value` when the value needs no quoting and a
double-quoted value otherwise, which both python-dotenv and the Node `dotenv` parser Dokploy uses
read back as the same string for values without backslash escapes or double quotes.
"""

from __future__ import annotations

import io
import re
from typing import Mapping, Union

from dotenv import dotenv_values

#: A POSIX-style environment variable name, as Dokploy's containers will see it.
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_PLAIN_VALUE_RE = re.compile(r"[A-Za-z0-9_./:,@+%=-]*")


def parse_env(text: str) -> dict[str, str]:
    """Parse dotenv text into an ordered dict; a bare `KEY` line means an empty value."""
    if not text:
        return {}
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {k: ("" if v is None else v) for k, v in values.items()}


def quote_env_value(value: str) -> str:
    """One value as dotenv writes it: bare when safe, else single- or double-quoted."""
    # fullmatch, not match: `$` also matches before a trailing newline, which would then be lost.
    if _PLAIN_VALUE_RE.fullmatch(value) and not value.startswith("="):
        return value
    if "'" not in value and "\n" not in value and "\\" not in value:
        # Single quotes are literal in both parsers: nothing to escape.
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def serialize_env(env: Mapping[str, str]) -> str:
    """Render a dict as dotenv text, one `KEY=value` line per entry, in the dict's order."""
    return "".join(f"{key}={quote_env_value(str(value))}\n" for key, value in env.items())


def env_as_dict(env: Union[str, Mapping[str, str], None]) -> dict[str, str]:
    """Accept what users may pass (dotenv text or a mapping) and return the key/values."""
    if env is None:
        return {}
    if isinstance(env, str):
        return parse_env(env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}
