"""ServerClock: what readings of the server's own clock prove about its offset from ours."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from dokploy_pulumi._session import STAMP_RESOLUTION, ServerClock, Session


def test_nothing_is_known_before_a_reading():
    assert ServerClock().server_time_at(1000.0) is None and ServerClock().uncertainty is None


def test_one_reading_bounds_the_offset_by_the_round_trip():
    clock = ServerClock()
    clock.observe(server_time=2000.0, sent=1000.0, received=1000.5)  # the server is 999.5..1000 s ahead
    low, high = clock.server_time_at(1000.0)
    assert (low, high) == (1999.5, 2000.0 + STAMP_RESOLUTION)
    assert abs(clock.uncertainty - (0.5 + STAMP_RESOLUTION)) < 1e-9


def test_readings_are_intersected():
    clock = ServerClock()
    clock.observe(2000.0, 1000.0, 1000.5)  # offset in [999.5, 1000.001]
    clock.observe(2010.2, 1010.0, 1010.4)  # offset in [999.8, 1000.201]
    low, high = clock.server_time_at(0.0)
    assert abs(low - 999.8) < 1e-9 and abs(high - 1000.0 - STAMP_RESOLUTION) < 1e-9


def test_a_contradicting_reading_replaces_the_others_once_another_agrees():
    clock = ServerClock()
    clock.observe(2000.0, 1000.0, 1000.1)
    clock.observe(1500.0, 1010.0, 1010.1)  # the server's clock was set back 510 s meanwhile
    assert clock.server_time_at(0.0) is None  # one reading against another: neither is proven
    clock.observe(1505.0, 1015.0, 1015.1)  # agrees with the newest
    low, high = clock.server_time_at(0.0)
    assert abs(low - 489.9) < 1e-9 and abs(high - 490.0 - STAMP_RESOLUTION) < 1e-9


def test_a_cached_time_never_proves_the_clock():
    """A proxy caching getServerTime: the same time on every reading while ours moves on."""
    clock = ServerClock()
    for sent in (1000.0, 1000.2, 1000.4, 1000.6):
        clock.observe(940.0, sent, sent + 0.01)
    assert clock.server_time_at(1000.0) is None


@given(
    offset=st.floats(-86400, 86400),
    readings=st.lists(
        st.tuples(st.floats(10**5, 2 * 10**9), st.floats(0, 5), st.floats(0, 1)),  # sent, round trip, where in it
        min_size=1,
        max_size=6,
    ),
)
def test_the_true_offset_is_always_inside(offset, readings):
    """Whatever readings of a server `offset` seconds ahead arrive, the interval holds its true time."""
    clock = ServerClock()
    for sent, trip, at in readings:
        read_at = sent + trip * at
        stamp = math.floor((read_at + offset) * 1000) / 1000  # cut to the millisecond, as JavaScript does
        clock.observe(stamp, sent, sent + trip)
    probe = 5000.0
    low, high = clock.server_time_at(probe)
    assert low - 1e-6 <= probe + offset <= high + 1e-6


def test_one_clock_per_server_for_the_whole_process():
    session = Session()
    assert session.clock("http://127.0.0.1:3000/api/") is session.clock("http://127.0.0.1:3000/api/")
    assert session.clock("http://127.0.0.1:3000/api/") is not session.clock("http://127.0.0.1:3001/api/")
