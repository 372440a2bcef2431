"""Recovering from a create whose answer was lost.

When a create POST fails without a response (dropped connection, timeout after sending), the
server may or may not have created the object, and may still be creating it. Repeating the POST
could make a duplicate (names are not unique in Dokploy); giving up could leave an orphan that
Pulumi never learns about. So we look for it, and adopt only what this request can have made:

- the exact name, in the right project for environments;
- created after the request was sent, by the server's own clock: `createdAt` is stamped by the
  server, and the offset between its clock and ours is proven by the same clock's readings
  (`server.getServerTime` after the lost create, and the `createdAt` of every create answered in
  this process: `ServerClock`), to within one request's round trip, so an object made before the
  request is not taken for ours unless it was made within that round trip (milliseconds on a
  healthy server; see MAX_CLOCK_UNCERTAINTY for a slow one). `Date` headers prove nothing: a
  reverse proxy in front of Dokploy (nginx by default) stamps its own clock there;
- not an object this provider process already manages (any resource of the stack it created,
  read, updated or diffed: `Session.remember`).

Exactly one: adopt it. Several, or any whose creation time cannot be proven (the server's clock
could not be read: Dokploy Cloud answers `getServerTime` with null), fail and list them with their
ids and `createdAt`. None after waiting as long as the server might still be working: fail, saying
that nothing was created and `pulumi up` can be run again. That is said only when no object of the
name exists but those provably made before the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Optional, TypeVar

from ._exceptions import (
    AmbiguousCreateError,
    APIConnectionError,
    DokployError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    UnconfirmedDeleteError,
)
from ._session import STAMP_RESOLUTION
from ._wire import parse_timestamp

if TYPE_CHECKING:  # the HTTP stack and pydantic load in the provider process only (see `_wire`)
    from ._client import DokployClient


def answer_lost(exc: BaseException) -> bool:
    """True when a mutation may have been applied although its answer is missing or unreadable.

    That is: the connection dropped or timed out after the request was sent; a 2xx whose body is
    not the JSON Dokploy sends (a proxy mangled or replaced it); or a gateway's 502/504 (a proxy in
    front of Dokploy lost the upstream connection or gave up waiting, while Dokploy may go on).
    """
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    if isinstance(exc, InvalidResponseError):
        return True
    if isinstance(exc, InternalServerError):
        return exc.status in (502, 504)
    return False


def confirm_gone(
    what: str,
    lookup: Callable[[], object],
    lost: DokployError,
    wait_budget: float,
    poll_interval: float = 0.5,
) -> None:
    """After a delete whose answer was lost: return once `lookup` raises NotFoundError (the delete
    was applied), or raise UnconfirmedDeleteError if the object is still there after `wait_budget`
    seconds (the server may still have been working on it, as after a timeout)."""
    deadline = time.monotonic() + max(0.0, wait_budget)
    while True:
        try:
            lookup()
        except NotFoundError:
            return
        except DokployError:
            pass  # cannot tell this time; look again until the budget is spent
        if time.monotonic() >= deadline:
            raise UnconfirmedDeleteError(
                f"the answer to deleting {what} was lost ({lost}), and it still exists on the server: "
                "it was not deleted. Run the operation again."
            )
        time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))
        poll_interval = min(poll_interval * 2, 4.0)


def remove_or_confirm(
    what: str, remove: Callable[[], object], lookup: Callable[[], object], wait_budget: float
) -> None:
    """Run a delete: the procedure's own NOT_FOUND means already gone; an answer that was lost is
    verified with `lookup` instead of repeating the delete (see `confirm_gone`)."""
    try:
        remove()
    except NotFoundError:
        return
    except DokployError as lost:
        if not answer_lost(lost):
            raise
        confirm_gone(what, lookup, lost, wait_budget)


def _parse_time(value: Optional[str]) -> Optional[float]:
    moment = parse_timestamp(value)
    return None if moment is None else moment.timestamp()


Row = TypeVar("Row")


def _listed(rows: list[Row], id_of: Callable[[Row], str], created_of: Callable[[Row], Optional[str]]) -> str:
    return ", ".join(f"{id_of(r)} (created {created_of(r) or 'at an unknown time'})" for r in rows)


#: The widest uncertainty (seconds) of the server's clock at which a found object is adopted on the
#: low bound alone. The low end (the server's time when ours read `sent_at` was at least that) errs
#: only by the time from the server reading its clock to our receiving the answer; what can be
#: proven is the width (one reading's round trip, at most). So a same-named object made by hand up
#: to this long before the request could pass for the request's own: seconds, never minutes. An
#: object stamped after the high end was made after the request was sent, however wide the proof.
MAX_CLOCK_UNCERTAINTY = 10.0
#: Below this width another reading would gain nothing worth a request.
PRECISE_ENOUGH = 1.0
#: Readings after a lost create, at most: on a busy server one round trip can take seconds, and the
#: intersection of a few is as narrow as the fastest.
CLOCK_READINGS = 3
#: Readings after a lost create, at least: a proxy caching `getServerTime` answers one stale time,
#: and only a second reading that contradicts it shows that (see `ServerClock`).
MIN_CLOCK_READINGS = 2
#: The pause (seconds) between readings: a cached answer repeats one time while ours moves on by
#: this much, far more than the clocks' resolution, so the two readings contradict each other.
READING_GAP = 0.05


def read_server_clock(client: DokployClient) -> Optional[str]:
    """Read the server's clock into `client.clock`, again while the proof is wider than
    PRECISE_ENOUGH (at least MIN_CLOCK_READINGS, at most CLOCK_READINGS times); None once read,
    else why it could not be."""
    read = False
    for attempt in range(1, CLOCK_READINGS + 1):
        if read:
            time.sleep(READING_GAP)
        try:
            if client.server_time() is None:
                return None if read else "server.getServerTime answered without a time (Dokploy Cloud does)"
        except DokployError as exc:
            return None if read else f"server.getServerTime failed: {exc}"
        read = True
        width = client.clock.uncertainty
        if attempt >= MIN_CLOCK_READINGS and width is not None and width <= PRECISE_ENOUGH:
            break
    if client.clock.server_time_at(time.time()) is None:
        return "server.getServerTime's readings contradict each other (a proxy caching it, or the clock set meanwhile)"
    return None


def find_created(
    what: str,
    name: str,
    client: DokployClient,
    sent_at: float,
    search: Callable[[], Iterable[Row]],
    id_of: Callable[[Row], str],
    created_of: Callable[[Row], Optional[str]],
    lost: DokployError,
    wait_budget: float,
    poll_interval: float = 0.5,
) -> Row:
    """Return the one object a lost create made, or raise AmbiguousCreateError listing candidates.

    `search` yields the rows that may be it (exact name is checked here; the caller narrows to the
    right project). `sent_at` is our clock (time.time()) just before the request was sent.
    """
    deadline = time.monotonic() + max(0.0, wait_budget)
    unread: Optional[str] = "not read yet"
    while True:
        rows = [r for r in search() if getattr(r, "name", None) == name and not client.session.is_managed(id_of(r))]
        if unread is not None:
            # Until a reading succeeds (usually the first: one GET); why it failed goes in the message.
            unread = read_server_clock(client)
        bounds = client.clock.server_time_at(sent_at)
        if bounds is None:
            if rows:
                raise AmbiguousCreateError(
                    f"the answer to creating {what} {name!r} was lost ({lost}). {len(rows)} {what}(s) named "
                    f"{name!r} exist ({_listed(rows, id_of, created_of)}), but the server's clock could not "
                    f"be read ({unread}), so Pulumi cannot prove which was made by this request (a Date "
                    "header proves nothing: a proxy may stamp its own). Delete the one it made in Dokploy, "
                    "or adopt it with adopt_id, then run `pulumi up` again."
                )
        else:
            # The server's clock was in [low, high] when the request was sent: whatever it made is
            # stamped at or after low (createdAt is cut to the millisecond).
            low, high = bounds
            made = [r for r in rows if (_parse_time(created_of(r)) or 0.0) >= low - STAMP_RESOLUTION]
            unknown = [r for r in rows if _parse_time(created_of(r)) is None]
            candidates = made + unknown
            if len(made) == 1 and not unknown:
                stamp = _parse_time(created_of(made[0])) or 0.0
                if high - low <= MAX_CLOCK_UNCERTAINTY or stamp >= high:
                    client.session.remember(id_of(made[0]))
                    return made[0]
            if candidates:
                if len(candidates) > 1:
                    why = "Pulumi cannot tell which is its own"
                elif unknown:
                    why = "its creation time is unknown, so Pulumi cannot prove it is its own"
                else:
                    why = f"the server's clock is known only to within {high - low:.1f} s, so Pulumi cannot prove it is its own"
                raise AmbiguousCreateError(
                    f"the answer to creating {what} {name!r} was lost ({lost}), and {len(candidates)} "
                    f"{what}(s) named {name!r} may have been made by it: {_listed(candidates, id_of, created_of)}. "
                    f"{why}. Delete the extra ones in Dokploy, or adopt one with adopt_id, then run "
                    "`pulumi up` again."
                )
        if time.monotonic() >= deadline:
            older = f" (only {_listed(rows, id_of, created_of)}, made before the request was sent)" if rows else ""
            raise AmbiguousCreateError(
                f"the answer to creating {what} {name!r} was lost ({lost}), and no such {what} appeared "
                f"on the server{older}: nothing was created. Run `pulumi up` again."
            )
        # The server may still be working on the request (a timeout): look again shortly.
        time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))
        poll_interval = min(poll_interval * 2, 4.0)


Made = TypeVar("Made")


@dataclass
class Outcome(Generic[Made, Row]):
    """What `create_or_find` got: the create's own answer, or the row of the object it found."""

    created: Optional[Made] = None
    found: Optional[Row] = None


def create_or_find(
    what: str,
    name: str,
    client: DokployClient,
    create: Callable[[], Made],
    search: Callable[[], Iterable[Row]],
    id_of: Callable[[Row], str],
    created_of: Callable[[Row], Optional[str]],
    stamp_of: Callable[[Made], Optional[str]],
) -> Outcome[Made, Row]:
    """Run a create POST; if its answer is lost, find what it made instead (see `find_created`).

    The search waits up to the client's timeout for the object to appear: a request that timed out
    may still be running on the server. An answered create's `createdAt` (`stamp_of`) was stamped
    while the request was in flight, so it is recorded as a reading of the server's clock, for a
    later create whose answer is lost.
    """
    sent_at = time.time()
    try:
        made = create()
    except DokployError as lost:
        if not answer_lost(lost):
            raise
        error = lost
    else:
        stamp = _parse_time(stamp_of(made))
        if stamp is not None:
            client.clock.observe(stamp, sent_at, time.time())
        return Outcome(created=made)
    found = find_created(what, name, client, sent_at, search, id_of, created_of, error, client.timeout)
    return Outcome(found=found)


@contextmanager
def adopting(what: str, id_: str) -> Iterator[None]:
    """Around the steps that take over an object found after a lost create: if they fail, the
    object exists in Dokploy but not in Pulumi state, so the error names it and how to adopt it."""
    try:
        yield
    except DokployError as exc:
        error = DokployError(
            f"the {what} {id_} made by this create was found after its answer was lost, but taking it "
            f"over failed: {exc} It exists in Dokploy and Pulumi does not manage it: delete it in "
            f"Dokploy, or declare it with adopt_id={id_!r}, then run `pulumi up` again."
        )
    else:
        return
    raise error
