"""Fixtures for driving the SDK's provider server against the Dokploy under test (`backend`:
the emulator, or a real server in the real tier; see tests/_backend.py)."""

from __future__ import annotations

import os

import pytest
from _backend import AGAINST_REAL, REAL_TIMEOUT

from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of


@pytest.fixture
def clean_env(monkeypatch) -> dict[str, str]:
    """The provider process's environment without any Dokploy credentials from the outside.

    Also removed from this process's environment: ProviderServer starts from os.environ, and the
    real tier sets DOKPLOY_URL/DOKPLOY_API_KEY there.
    """
    for key in [k for k in os.environ if k.startswith("DOKPLOY_")]:
        monkeypatch.delenv(key)
    return dict(os.environ)


@pytest.fixture
def server(backend, clean_env):
    """A configured provider server pointed at the backend through stack config only."""
    with ProviderServer(env=clean_env) as srv:
        config = {"dokploy:url": backend.url, "dokploy:apiKey": backend.api_key}
        if AGAINST_REAL:
            config["dokploy:timeout"] = str(REAL_TIMEOUT)
        srv.configure(config)
        yield srv


@pytest.fixture(scope="session")
def project_blob() -> str:
    return blob_of(ProjectProvider())


@pytest.fixture(scope="session")
def environment_blob() -> str:
    return blob_of(EnvironmentProvider())
