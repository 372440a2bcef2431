"""What a Dokploy call is made of, apart from sending it: the API base URL, the OMIT marker, the
default timeout, and Dokploy's timestamps.

Kept apart from `_transport` (httpx, tenacity) and `_models` (pydantic) because a Pulumi program
needs these and never sends a request itself: the resource classes and their declarations import
this module, and only the provider process and the look-ups, when they run, load the HTTP stack
(README, "What a program pays for").
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 30.0


class _Omit:
    """Marks an argument as absent, which Dokploy treats differently from null (see the dialects)."""

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT: Any = _Omit()


def redact_url(url: str) -> str:
    """`url` without any `user:password@` part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"***@{host}").geturl()


def normalize_url(url: str) -> str:
    """Return the API base `<scheme>://<host>[/prefix]/api/` for a URL given with or without `/api`.

    A URL with credentials in it (`https://user:pass@host`) is refused: Dokploy authenticates with
    the `x-api-key` header only, and a URL is printed in messages and stored in Pulumi state.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("the Dokploy URL is empty")
    url = url.strip()
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError(
            f"the Dokploy URL must not contain a user name or password ({redact_url(url)}): Dokploy "
            "authenticates with an API key, which goes in config dokploy:apiKey or DOKPLOY_API_KEY "
            "(or the variable a Connection's api_key_env names), never in the URL"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the Dokploy URL must start with http:// or https:// and name a host: {url!r}")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return f"{parts.scheme}://{parts.netloc}{path}/api/"


def parse_timestamp(text: Any) -> Optional[dt.datetime]:
    """An ISO-8601 time as Dokploy (`createdAt`, JavaScript's toISOString) or Go (Pulumi's lock
    files, nanoseconds) writes it, timezone-aware; None if it is not one. Fractions are cut or
    padded to microseconds, which `fromisoformat` needs before Python 3.11."""
    if not isinstance(text, str) or not text:
        return None
    head, dot, tail = text.strip().replace("Z", "+00:00").partition(".")
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))  # the fraction's leading digits only
        head = f"{head}.{tail[:digits][:6].ljust(6, '0')}{tail[digits:]}"
    try:
        moment = dt.datetime.fromisoformat(head)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
