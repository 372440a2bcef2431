"""find_created's decision after a lost create, given readings of the server's clock.

The provider tests (tests/provider/test_lost_create_behind_proxy.py) drive this through the SDK's
provider server and a proxy; here the readings are chosen exactly, to pin the edges: a proof too
wide to adopt on, an object stamped after the proof's high end, readings repeated while wide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

import pytest

from dokploy_pulumi._exceptions import AmbiguousCreateError, APIConnectionError
from dokploy_pulumi._reconcile import CLOCK_READINGS, MIN_CLOCK_READINGS, find_created
from dokploy_pulumi._session import ServerClock, Session

SENT = 1_000_000.0  # our clock when the lost create was sent; the server's clock agrees with ours
LOST = APIConnectionError("the connection was lost before an answer")


@dataclass
class Row:
    name: str
    id: str
    created_at: Optional[str]


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Client:
    """What find_created uses of a DokployClient; `server_time` answers the given readings in turn
    (server time, our send, our receipt), or None (Dokploy Cloud) when none is given."""

    def __init__(self, *readings: tuple[float, float, float]) -> None:
        self.session = Session()
        self.clock = ServerClock()
        self.readings = list(readings)
        self.asked = 0

    def server_time(self) -> Optional[float]:
        self.asked += 1
        if not self.readings:
            return None
        server, sent, received = self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]
        self.clock.observe(server, sent, received)
        return server


def _find(client: Client, *rows: Row) -> Row:
    return find_created(
        "project", "app", client, SENT, lambda: list(rows), lambda r: r.id, lambda r: r.created_at, LOST, 0.0
    )


WIDE = (SENT + 20.0, SENT + 10.0, SENT + 30.0)  # a 20 s round trip: the server's time at SENT is in [SENT-10, SENT+10]
NARROW = (SENT + 10.0, SENT + 9.99, SENT + 10.01)


def test_a_narrow_proof_adopts_the_one_object_made_after_the_request():
    client = Client(NARROW)
    assert _find(client, Row("app", "old", iso(SENT - 1.0)), Row("app", "mine", iso(SENT + 0.2))).id == "mine"
    assert client.session.is_managed("mine") and not client.session.is_managed("old")
    assert client.asked == MIN_CLOCK_READINGS  # a second reading, to expose a cached answer


def test_an_object_made_before_the_request_is_named_but_never_adopted():
    with pytest.raises(AmbiguousCreateError) as err:
        _find(Client(NARROW), Row("app", "old", iso(SENT - 1.0)))
    assert "nothing was created" in str(err.value) and "old" in str(err.value)


def test_a_wide_proof_lists_an_object_it_cannot_place():
    client = Client(WIDE)
    with pytest.raises(AmbiguousCreateError) as err:
        _find(client, Row("app", "maybe", iso(SENT - 5.0)))
    message = str(err.value)
    assert "maybe" in message and "known only to within 20.0 s" in message and "nothing was created" not in message
    assert client.asked == CLOCK_READINGS  # read again while the proof stayed wide


def test_an_object_stamped_after_the_proofs_high_end_is_adopted_however_wide():
    assert _find(Client(WIDE), Row("app", "late", iso(SENT + 10.5))).id == "late"


def test_no_reading_lists_every_candidate():
    client = Client()  # getServerTime answers null
    with pytest.raises(AmbiguousCreateError) as err:
        _find(client, Row("app", "old", iso(SENT - 600.0)))
    message = str(err.value)
    assert "old" in message and "could not be read" in message and "nothing was created" not in message


def test_no_reading_and_no_object_is_nothing_created():
    with pytest.raises(AmbiguousCreateError) as err:
        _find(Client())
    assert "nothing was created" in str(err.value)
