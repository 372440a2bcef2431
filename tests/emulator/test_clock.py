"""The emulated server's clock: ``clock_offset`` shifts ``createdAt``, ``server.getServerTime`` and ``Date``."""

from __future__ import annotations

import time
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from dokploy_pulumi.testing import DokployEmulator


def _created(api: httpx.Client, name: str) -> float:
    row = api.post("/api/project.create", json={"name": name}).json()["project"]
    return _stamp(row["createdAt"])


def _stamp(created_at: str) -> float:
    return datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()


class Around:
    """Our clock just before and just after a call: a server stamp taken during it, shifted by the
    server's offset, lies in between (1 s of slack: the Date header has whole seconds). No bound on
    how long the call took."""

    def __enter__(self) -> Around:
        self.before = time.time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.after = time.time()

    def holds(self, stamp: float, offset: float = 0.0) -> bool:
        return self.before + offset - 1 <= stamp <= self.after + offset + 1


def test_every_answer_has_a_date_header(api, make_client) -> None:
    with Around() as around:
        responses = (
            api.get("/api/health"),
            api.get("/api/project.all"),
            api.get("/api/project.nothing"),
            api.post("/api/project.create", content=b"{", headers={"content-type": "application/json"}),
            make_client().get("/api/project.all"),
            api.head("/api/project.all"),
        )
    for response in responses:
        assert around.holds(parsedate_to_datetime(response.headers["date"]).timestamp())


def test_clock_offset_shifts_stamps_and_date(api, emu) -> None:
    assert emu.clock_offset == 0.0
    before = _created(api, "now")
    emu.clock_offset = -600.0
    with Around() as around:
        answer = api.post("/api/project.create", json={"name": "behind"})
    assert around.holds(parsedate_to_datetime(answer.headers["date"]).timestamp(), -600)
    behind = _stamp(answer.json()["project"]["createdAt"])
    assert around.holds(behind, -600)
    assert behind < before  # a server whose clock is behind stamps new rows in the past
    assert [p["name"] for p in api.get("/api/project.all").json()] == ["now", "behind"]  # by createdAt, newest first
    emu.clock_offset = 3600
    with Around() as around:
        ahead = _created(api, "ahead")
    assert around.holds(ahead, 3600)


def test_stamps_never_repeat_under_one_offset(api, emu) -> None:
    emu.clock_offset = 12.5
    stamps = [api.post("/api/project.create", json={"name": "x"}).json()["project"]["createdAt"] for _ in range(15)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 15


def test_clock_offset_constructor_argument() -> None:
    with DokployEmulator("k", clock_offset=-30) as emu:
        with Around() as around:
            answer = httpx.get(f"{emu.url}/api/health")
        assert around.holds(parsedate_to_datetime(answer.headers["date"]).timestamp(), -30)


def test_clock_offset_shifts_server_time(api, emu) -> None:
    """`server.getServerTime` reads the clock that stamps createdAt, offset included."""
    emu.clock_offset = -600.0
    with Around() as around:
        reading = api.get("/api/server.getServerTime").json()
    server = datetime.fromisoformat(reading["time"].replace("Z", "+00:00")).timestamp()
    assert around.holds(server, -600)
    assert server <= _created(api, "after-reading")  # the same clock: a later row is stamped later
