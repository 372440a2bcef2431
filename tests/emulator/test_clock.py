"""The emulated server's clock: ``clock_offset`` shifts ``createdAt``, ``server.getServerTime`` and ``Date``."""

from __future__ import annotations

import time
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from dokploy_pulumi.testing import DokployEmulator


def _created(api: httpx.Client, name: str) -> float:
    row = api.post("/api/project.create", json={"name": name}).json()["project"]
    return datetime.fromisoformat(row["createdAt"].replace("Z", "+00:00")).timestamp()


def test_every_answer_has_a_date_header(api, make_client) -> None:
    for response in (
        api.get("/api/health"),
        api.get("/api/project.all"),
        api.get("/api/project.nothing"),
        api.post("/api/project.create", content=b"{", headers={"content-type": "application/json"}),
        make_client().get("/api/project.all"),
        api.head("/api/project.all"),
    ):
        date = parsedate_to_datetime(response.headers["date"]).timestamp()
        assert abs(date - time.time()) < 5


def test_clock_offset_shifts_stamps_and_date(api, emu) -> None:
    assert emu.clock_offset == 0.0
    before = _created(api, "now")
    emu.clock_offset = -600.0
    answer = api.post("/api/project.create", json={"name": "behind"})
    server_date = parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert abs(server_date - (time.time() - 600)) < 5
    behind = datetime.fromisoformat(answer.json()["project"]["createdAt"].replace("Z", "+00:00")).timestamp()
    assert abs(behind - (time.time() - 600)) < 5
    assert behind < before  # a server whose clock is behind stamps new rows in the past
    assert [p["name"] for p in api.get("/api/project.all").json()] == ["now", "behind"]  # by createdAt, newest first
    emu.clock_offset = 3600
    assert abs(_created(api, "ahead") - (time.time() + 3600)) < 5


def test_stamps_never_repeat_under_one_offset(api, emu) -> None:
    emu.clock_offset = 12.5
    stamps = [api.post("/api/project.create", json={"name": "x"}).json()["project"]["createdAt"] for _ in range(15)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 15


def test_clock_offset_constructor_argument() -> None:
    with DokployEmulator("k", clock_offset=-30) as emu:
        answer = httpx.get(f"{emu.url}/api/health")
        assert abs(parsedate_to_datetime(answer.headers["date"]).timestamp() - (time.time() - 30)) < 5


def test_clock_offset_shifts_server_time(api, emu) -> None:
    """`server.getServerTime` reads the clock that stamps createdAt, offset included."""
    emu.clock_offset = -600.0
    reading = api.get("/api/server.getServerTime").json()
    server = datetime.fromisoformat(reading["time"].replace("Z", "+00:00")).timestamp()
    assert abs(server - (time.time() - 600)) < 5
    assert server <= _created(api, "after-reading")  # the same clock: a later row is stamped later
