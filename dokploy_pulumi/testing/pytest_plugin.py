"""pytest fixtures for the Dokploy emulator.

Enable with ``pytest_plugins = ["dokploy_pulumi.testing.pytest_plugin"]`` in a root
conftest (or import the fixture). Kept out of ``dokploy_pulumi.testing`` so importing the
emulator never imports pytest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import DokployEmulator

__all__ = ["dokploy_emulator"]


@pytest.fixture
def dokploy_emulator() -> Iterator[DokployEmulator]:
    """A started emulator with a fresh, empty state (key ``test-key``), stopped afterwards."""
    with DokployEmulator() as emulator:
        yield emulator
