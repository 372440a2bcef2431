"""One client (one httpx connection pool) per server and key in a process.

A provider process configures one provider instance per resource type (Project, Environment, ...),
and a program runs its look-ups beside them: all of them share the session's client for the same
resolved connection, so a stack opens its connections, and learns a server's version, once.
Counted here by the clients made; `tests/provider/test_one_client.py` shows it on the wire.
"""

from __future__ import annotations

import os

import httpx
import pytest
from pulumi.dynamic import ConfigureRequest

from dokploy_pulumi import _functions
from dokploy_pulumi._connection import ClientPool, ConfigSource, Connection
from dokploy_pulumi._session import Session
from dokploy_pulumi.providers import (
    EnvironmentDuplicateProvider,
    EnvironmentProvider,
    ProjectDuplicateProvider,
    ProjectGuardProvider,
    ProjectProvider,
)

URL, KEY = "http://127.0.0.1:9", "k-123"


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Client]:
    """Every httpx client made from now on, in a fresh process session."""
    made: list[httpx.Client] = []

    class Counted(httpx.Client):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(httpx, "Client", Counted)
    monkeypatch.setattr(Session, "_current", None)
    monkeypatch.setattr(_functions, "_pool", None)
    for key in [k for k in os.environ if k.startswith("DOKPLOY_")]:
        monkeypatch.delenv(key, raising=False)
    return made


def test_every_provider_instance_and_the_look_ups_share_one_client(made, monkeypatch) -> None:
    config = {"dokploy:url": URL, "dokploy:apiKey": KEY}
    providers = [
        cls()
        for cls in (
            ProjectProvider,
            EnvironmentProvider,
            EnvironmentDuplicateProvider,
            ProjectDuplicateProvider,
            ProjectGuardProvider,
        )
    ]
    clients = []
    for provider in providers:
        provider.configure(ConfigureRequest(config))  # type: ignore[arg-type]
        clients += [provider._client({}), provider._client({"connection": None})]
    # The program's look-ups, with the same server and key from the environment.
    monkeypatch.setenv("DOKPLOY_URL", URL)
    monkeypatch.setenv("DOKPLOY_API_KEY", KEY)
    clients.append(_functions._client(None))
    assert len(made) == 1
    assert all(c is clients[0] for c in clients)


def test_another_server_or_key_has_its_own_client(made, monkeypatch) -> None:
    monkeypatch.setenv("OTHER_KEY", "k-456")
    pool = ClientPool(ConfigSource({"dokploy:url": URL, "dokploy:apiKey": KEY}))
    first = pool.client(None)
    other_key = pool.client(Connection(URL, api_key_env="OTHER_KEY"))
    other_server = pool.client(Connection("http://127.0.0.1:10", api_key_env="OTHER_KEY"))
    assert len(made) == 3
    assert len({id(first), id(other_key), id(other_server)}) == 3
    assert pool.client(None) is first and len(made) == 3


def test_a_closed_client_is_made_again(made) -> None:
    pool = ClientPool(ConfigSource({"dokploy:url": URL, "dokploy:apiKey": KEY}))
    first = pool.client(None)
    first.close()
    again = ClientPool(ConfigSource({"dokploy:url": URL, "dokploy:apiKey": KEY})).client(None)
    assert again is not first and not again.closed
    assert len(made) == 2


def test_one_server_written_several_ways_has_one_client(made, monkeypatch) -> None:
    # The stack config says `http://host`, a resource's Connection `http://host/api/`: one server,
    # one base URL once normalised, so one client (one pool, one version probe).
    monkeypatch.setenv("KEY_ENV", KEY)
    pool = ClientPool(ConfigSource({"dokploy:url": URL, "dokploy:apiKey": KEY}))
    clients = [pool.client(None)] + [
        pool.client(Connection(url, api_key_env="KEY_ENV")) for url in (URL + "/", URL + "/api", URL + "/api/")
    ]
    assert all(c is clients[0] for c in clients)
    assert len(made) == 1
