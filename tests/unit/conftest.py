"""Fixtures the look-up tests share (a test module's own fixture of the same name wins)."""

from __future__ import annotations

import pytest

from dokploy_pulumi import DokployClient


@pytest.fixture
def emu(dokploy_emulator, monkeypatch):
    """The emulator, reachable through DOKPLOY_URL / DOKPLOY_API_KEY (and no stack config)."""
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.setenv("DOKPLOY_URL", dokploy_emulator.url)
    monkeypatch.setenv("DOKPLOY_API_KEY", dokploy_emulator.api_key)
    return dokploy_emulator


@pytest.fixture
def api(emu):
    with DokployClient(emu.url, emu.api_key) as client:
        yield client
