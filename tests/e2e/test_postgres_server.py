"""The throwaway PostgreSQL server of the review-environments e2e (`_postgres.PostgresServer`) is its
own: a port taken between choosing it and the server binding it (by anything, another test's
PostgreSQL included) never makes the test talk to someone else's server."""

from __future__ import annotations

import socket

import _postgres
import pytest
from _postgres import PostgresServer


def test_a_port_taken_by_another_postgres_is_not_mistaken_for_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    with PostgresServer() as other:
        ports = iter([other.port])  # the first choice is already held by another PostgreSQL
        monkeypatch.setattr(_postgres, "_free_port", lambda: next(ports, None) or _free())
        with PostgresServer() as ours:
            assert ours.proc is not None and ours.proc.poll() is None  # our own server is running
            assert ours.port != other.port


def _free() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
