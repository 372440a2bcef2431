"""Fixtures for the emulator's own tests: a started emulator and raw httpx clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dokploy_pulumi.testing import DokployEmulator
from dokploy_pulumi.testing.pytest_plugin import dokploy_emulator

__all__ = ["dokploy_emulator"]


@pytest.fixture
def emu(dokploy_emulator: DokployEmulator) -> DokployEmulator:
    return dokploy_emulator


@pytest.fixture
def api(emu: DokployEmulator) -> Iterator[httpx.Client]:
    """A raw client of the main organization: ``api.get("/api/project.all")``."""
    with httpx.Client(base_url=emu.url, headers={"x-api-key": emu.api_key}, timeout=5) as client:
        yield client


@pytest.fixture
def make_client(emu: DokployEmulator) -> Iterator[Callable[..., httpx.Client]]:
    """Clients with another key (or none); closed at teardown."""
    clients: list[httpx.Client] = []

    def make(key: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Client:
        merged = {"x-api-key": key} if key is not None else {}
        merged.update(headers or {})
        client = httpx.Client(base_url=emu.url, headers=merged, timeout=5, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def project(api: httpx.Client) -> dict[str, Any]:
    """A created project: ``{"project": row, "environment": default env row}``."""
    response = api.post("/api/project.create", json={"name": "demo", "description": "Demo", "env": "A=1"})
    assert response.status_code == 200, response.text
    return response.json()
