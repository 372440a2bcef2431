"""Recovering from a create whose answer was lost.

When a create POST fails without a response (dropped connection, timeout after sending), the
server may or may not have created the object, and may still be creating it. Repeating the POST
could make a duplicate (names are not unique in Dokploy); giving up could leave an orphan that
Pulumi never learns about. So we look for it: exact name, created after the request started (less a
clock-skew allowance), not an object this provider process already manages. Exactly one: adopt it.
Several: fail and list them. None after waiting as long as the server might still be working: fail,
saying that nothing was created and `pulumi up` can be run again.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Callable, Generic, Iterable, Optional, TypeVar

from ._exceptions import (
    APIConnectionError,
    DokployError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
)

#: How far the server's clock may lag ours and still count an object as "created after we asked".
CLOCK_SKEW_SECONDS = 120.0

_managed: set[str] = set()
_managed_lock = threading.Lock()


def remember(*ids: Optional[str]) -> None:
    """Record ids this process manages, so that reconciliation never adopts them a second time."""
    with _managed_lock:
        _managed.update(i for i in ids if i)


def is_managed(id_: str) -> bool:
    with _managed_lock:
        return id_ in _managed


class AmbiguousCreateError(DokployError):
    """A create's answer was lost and the object could not be identified with certainty."""


class UnconfirmedDeleteError(DokployError):
    """A delete's answer was lost and the object is still there."""


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


def _parse_time(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


Row = TypeVar("Row")


def find_created(
    what: str,
    name: str,
    started: float,
    search: Callable[[], Iterable[Row]],
    id_of: Callable[[Row], str],
    created_of: Callable[[Row], Optional[str]],
    lost: DokployError,
    wait_budget: float,
    poll_interval: float = 0.5,
) -> Row:
    """Return the one object a lost create made, or raise AmbiguousCreateError listing candidates."""
    cutoff = started - CLOCK_SKEW_SECONDS
    deadline = time.monotonic() + max(0.0, wait_budget)
    while True:
        candidates = []
        for row in search():
            created = _parse_time(created_of(row))
            if getattr(row, "name", None) != name or is_managed(id_of(row)):
                continue
            if created is not None and created < cutoff:
                continue
            candidates.append(row)
        if len(candidates) == 1:
            remember(id_of(candidates[0]))
            return candidates[0]
        if len(candidates) > 1:
            listed = ", ".join(f"{id_of(c)} (created {created_of(c)})" for c in candidates)
            raise AmbiguousCreateError(
                f"the answer to creating {what} {name!r} was lost ({lost}), and {len(candidates)} "
                f"{what}s named {name!r} were created since: {listed}. Pulumi cannot tell which is its "
                f"own. Delete the extra ones in Dokploy, or adopt one with adopt_id, then run `pulumi up` again."
            )
        if time.monotonic() >= deadline:
            raise AmbiguousCreateError(
                f"the answer to creating {what} {name!r} was lost ({lost}), and no such {what} appeared "
                f"on the server: nothing was created. Run `pulumi up` again."
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
    create: Callable[[], Made],
    search: Callable[[], Iterable[Row]],
    id_of: Callable[[Row], str],
    created_of: Callable[[Row], Optional[str]],
    wait_budget: float,
) -> Outcome[Made, Row]:
    """Run a create POST; if its answer is lost, find what it made instead (see `find_created`)."""
    started = time.time()
    try:
        return Outcome(created=create())
    except DokployError as lost:
        if not answer_lost(lost):
            raise
        error = lost
    found = find_created(what, name, started, search, id_of, created_of, error, wait_budget)
    return Outcome(found=found)
