from __future__ import annotations

import os

import pytest

from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider

from ._harness import ProviderServer, blob_of


@pytest.fixture
def clean_env() -> dict[str, str]:
    """The provider process's environment without any Dokploy credentials from the outside."""
    return {k: v for k, v in os.environ.items() if not k.startswith("DOKPLOY_")}


@pytest.fixture
def server(dokploy_emulator, clean_env, monkeypatch):
    """A configured provider server pointed at the emulator through stack config only."""
    for key in [k for k in os.environ if k.startswith("DOKPLOY_")]:
        monkeypatch.delenv(key)
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": dokploy_emulator.url, "dokploy:apiKey": dokploy_emulator.api_key})
        yield srv


@pytest.fixture(scope="session")
def project_blob() -> str:
    return blob_of(ProjectProvider())


@pytest.fixture(scope="session")
def environment_blob() -> str:
    return blob_of(EnvironmentProvider())
