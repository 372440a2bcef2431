"""`server.getServerTime`: the server's own clock, the one that stamps `createdAt`.

The provider reads it after a create whose answer was lost, to prove which object that create made
(a `Date` header cannot: a reverse proxy stamps its own). So the contract checked here is the one
that proof needs: the answer's shape, and that rows made between two readings are stamped between
them (one clock, millisecond precision).
"""

from __future__ import annotations

import httpx
import pytest
from _backend import REAL_TIMEOUT

from dokploy_pulumi._models import parse_timestamp


def _seconds(text: object) -> float:
    moment = parse_timestamp(text)
    assert moment is not None, f"not an ISO time: {text!r}"
    return moment.timestamp()


def test_server_time_shape(raw):
    answer = raw.get("server.getServerTime")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"time", "timezone"}
    assert isinstance(body["timezone"], str) and body["timezone"]
    # JavaScript's toISOString(): milliseconds and Z, like createdAt.
    assert body["time"].endswith("Z") and len(body["time"].split(".")[1]) == 4
    _seconds(body["time"])


def test_server_time_needs_the_key(target):
    answer = httpx.get(target.base + "server.getServerTime", timeout=REAL_TIMEOUT)
    assert answer.status_code == 401


@pytest.mark.parametrize("kind", ["project", "environment"])
def test_created_at_is_stamped_by_the_same_clock(client, make_project, prefix, kind):
    before = client.server_time()
    if kind == "project":
        stamp = make_project("clock").project.created_at
    else:
        project_id = make_project("clock-env").project.project_id
        before = client.server_time()
        stamp = client.environment.create(project_id, prefix + "staging").created_at
    after = client.server_time()
    assert before is not None and after is not None
    # Each reading is cut to the millisecond, as createdAt is.
    assert before <= _seconds(stamp) <= after + 0.001
