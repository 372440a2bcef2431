"""Where a resource's Dokploy lives, and how its API key is found, without ever storing the key.

The one connection resolver: the providers (stack config given to `configure`), the look-up
functions (the program's stack config) and the commands `import` and `recover` (the stack config
read with `pulumi config`, see `_pulumi_cli.CLIConfig`) all resolve a connection with `resolve`,
so precedence (stack config first, then the environment), validation and messages are the same
everywhere. The README's "Configuration" section documents it.

Pulumi state records every resource input. So a resource carries at most a `Connection`: the URL and
the *name* of the stack config key or environment variable that holds the key. The key itself is
read inside the provider process, in `configure` (whole stack config, secrets decrypted) or from the
environment, every time the provider starts; a rotated key therefore works for refresh and destroy
without an `up` first.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

from ._exceptions import CredentialError
from ._session import Session
from ._wire import DEFAULT_TIMEOUT, normalize_url, redact_url

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient

CONFIG_URL = "dokploy:url"
CONFIG_API_KEY = "dokploy:apiKey"
CONFIG_TIMEOUT = "dokploy:timeout"
CONFIG_CA_BUNDLE = "dokploy:caBundle"
CONFIG_INSECURE = "dokploy:insecureSkipVerify"
ENV_URL = "DOKPLOY_URL"
ENV_API_KEY = "DOKPLOY_API_KEY"
ENV_TIMEOUT = "DOKPLOY_TIMEOUT"
ENV_CA_BUNDLE = "DOKPLOY_CA_BUNDLE"
ENV_INSECURE = "DOKPLOY_INSECURE_SKIP_VERIFY"


@dataclass(frozen=True)
class Connection:
    """An explicit Dokploy instance, for stacks that manage more than one.

    Holds nothing secret, so it is safe in Pulumi state. Name where the API key is:
    `api_key_config` (a stack config key such as "dokploy-eu:apiKey"; set it with
    `pulumi config set --secret`) and/or `api_key_env` (an environment variable). The config key
    wins when both are set and present.
    """

    url: str
    api_key_config: Optional[str] = None
    api_key_env: Optional[str] = None
    ca_bundle: Optional[str] = None
    insecure_skip_verify: bool = False
    timeout: Optional[float] = None

    def to_input(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}

    @classmethod
    def from_input(cls, value: Union[Connection, Mapping[str, Any], None]) -> Optional[Connection]:
        if value is None or isinstance(value, Connection):
            return value
        known: dict[str, Any] = {f: value.get(f) for f in cls.__dataclass_fields__ if value.get(f) is not None}
        known.setdefault("url", "")
        if "timeout" in known:
            # A value that is no number is kept as given: `resolve` refuses it with its message
            # (state written by hand, or by another version, must not crash a command).
            known["timeout"] = parse_timeout(known["timeout"]) or known["timeout"]
        known["insecure_skip_verify"] = bool(known.get("insecure_skip_verify", False))
        return cls(**known)


class ConfigSource:
    """Looks up settings in a stack config, then in the environment.

    `config` is anything with `get(key)`: the mapping given to `configure`, the program's
    `pulumi.Config`, or the stack config a command reads through the Pulumi CLI (which raises
    when that config cannot be read: no silent fallback to the environment).
    """

    def __init__(self, config: Any = None, environ: Optional[Mapping[str, str]] = None) -> None:
        self._config = config
        self._environ = environ if environ is not None else os.environ

    def config(self, key: str) -> Optional[str]:
        if self._config is None:
            return None
        value = self._config.get(key)
        return None if value in (None, "") else str(value)

    def env(self, name: str) -> Optional[str]:
        value = self._environ.get(name)
        return value or None

    def setting(self, config_key: str, env_name: str) -> Optional[str]:
        return self.config(config_key) or self.env(env_name)

    def default_url(self) -> Optional[str]:
        return self.setting(CONFIG_URL, ENV_URL)


def parse_timeout(value: Any) -> Optional[float]:
    """A timeout in seconds from a number or numeric string, or None if it is not a positive finite one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _truthy(value: Optional[str]) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class Settings(NamedTuple):
    """A resolved connection: everything a client needs. The key never shows in a repr."""

    url: str
    api_key: str
    verify: Union[bool, str]
    timeout: float

    def __repr__(self) -> str:
        return (
            f"Settings(url={redact_url(self.url)!r}, api_key='***', verify={self.verify!r}, timeout={self.timeout!r})"
        )


def resolve(source: ConfigSource, connection: Optional[Connection]) -> Settings:
    """The connection for a resource (its own `Connection`, or the stack's default), validated.

    Default connection: each setting from stack config `dokploy:*`, else `$DOKPLOY_*`. A
    `Connection`: its URL, CA bundle, skip-verify and timeout as given; its key from the config
    key it names, else the environment variable it names. Raises CredentialError saying what is
    missing or wrong, never with the key.
    """
    src = source
    if connection is None:
        url = src.default_url()
        key = src.setting(CONFIG_API_KEY, ENV_API_KEY)
        where_url, where_key = f"config {CONFIG_URL} or ${ENV_URL}", f"config {CONFIG_API_KEY} or ${ENV_API_KEY}"
        ca = src.setting(CONFIG_CA_BUNDLE, ENV_CA_BUNDLE)
        insecure = _truthy(src.setting(CONFIG_INSECURE, ENV_INSECURE))
        timeout: Union[str, float, None] = src.setting(CONFIG_TIMEOUT, ENV_TIMEOUT)
    else:
        url = connection.url
        key = None
        if connection.api_key_config:
            key = src.config(connection.api_key_config)
        if key is None and connection.api_key_env:
            key = src.env(connection.api_key_env)
        where_url = "the connection's url"
        names = [
            n
            for n in (
                connection.api_key_config and f"config {connection.api_key_config}",
                connection.api_key_env and f"${connection.api_key_env}",
            )
            if n
        ]
        where_key = " or ".join(names) or "nowhere (the connection names neither api_key_config nor api_key_env)"
        ca, insecure, timeout = connection.ca_bundle, connection.insecure_skip_verify, connection.timeout
    if not url:
        raise CredentialError(f"No Dokploy URL: set {where_url}.")
    try:
        normalize_url(url)
    except ValueError as exc:  # the message never repeats credentials found in the URL
        raise CredentialError(f"Bad Dokploy URL ({where_url}): {exc}.") from None
    if not key:
        raise CredentialError(f"No Dokploy API key for {redact_url(url)}: set {where_key}.")
    verify: Union[bool, str] = False if insecure else (ca or True)
    if isinstance(verify, str) and not os.path.exists(os.path.expanduser(verify)):
        raise CredentialError(f"The CA bundle {verify!r} for {redact_url(url)} does not exist.")
    seconds = DEFAULT_TIMEOUT
    if timeout not in (None, ""):
        parsed = parse_timeout(timeout)
        if parsed is None:
            where = f"config {CONFIG_TIMEOUT} or ${ENV_TIMEOUT}" if connection is None else "the connection"
            raise CredentialError(
                f"The Dokploy timeout ({where}) must be a positive number of seconds, got {timeout!r}."
            )
        seconds = parsed
    return Settings(url, key, verify, seconds)


def connect(settings: Settings, session: Optional[Session] = None) -> DokployClient:
    """A client for resolved settings; a CA bundle that cannot be used is a CredentialError."""
    # Imported here, not at the top: a program imports this module (Connection), and only the
    # processes that send requests need the HTTP stack.
    from ._client import DokployClient

    try:
        return DokployClient(
            settings.url, settings.api_key, verify=settings.verify, timeout=settings.timeout, session=session
        )
    except ValueError as exc:  # e.g. a CA bundle that holds no certificate
        raise CredentialError(f"Cannot use Dokploy at {redact_url(settings.url)}: {exc}") from None


class ClientPool:
    """The clients of one configuration (a provider instance's stack config, the program's, a
    command's): resolves a connection, and hands out the session's one `DokployClient` (one
    connection pool) for it, shared across threads, provider instances and look-ups.

    The session is the process's, unless a test gives its own.
    """

    def __init__(self, source: ConfigSource, session: Optional[Session] = None) -> None:
        self.source = source
        self.session = session or Session.current()

    def resolve(self, connection: Optional[Connection]) -> Settings:
        return resolve(self.source, connection)

    def client(self, connection: Optional[Connection]) -> DokployClient:
        settings = self.resolve(connection)
        # Keyed by the base URL the client will use: `https://host`, `https://host/` and
        # `https://host/api` are one server, so one client (one pool, one version probe).
        same_server = settings._replace(url=normalize_url(settings.url))
        return self.session.client(same_server, lambda: connect(settings, self.session), lambda c: c.closed)
