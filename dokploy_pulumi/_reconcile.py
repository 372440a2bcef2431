"""Recovering from a create whose answer was lost.

When a create POST fails without a response (dropped connection, timeout after sending), the
server may or may not have created the object, and may still be creating it. Repeating the POST
could make a duplicate (names are not unique in Dokploy); giving up could leave an orphan that
Pulumi never learns about. So we look for it, and adopt only what this request can have made:

- the exact name, in the right project for environments;
- created after the request was sent, by the server's own clock: `createdAt` is stamped by the
  server, and its `Date` headers bound the offset between its clock and ours (`ServerClock`), so an
  object made even a second before the request is not taken for ours;
- not an object this provider process already manages (any resource of the stack it created,
  read, updated or diffed: `Session.remember`).

Exactly one: adopt it. Several, or one whose creation time cannot be proven: fail and list them
with their ids. None after waiting as long as the server might still be working: fail, saying that
nothing was created and `pulumi up` can be run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Optional, TypeVar

from ._client import DokployClient
from ._exceptions import (
    AmbiguousCreateError,
    APIConnectionError,
    DokployError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    UnconfirmedDeleteError,
)
from ._models import parse_timestamp


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
    while True:
        rows = [r for r in search() if getattr(r, "name", None) == name and not client.session.is_managed(id_of(r))]
        # After the search, so that its own answer's Date header counts as a measurement.
        cutoff = client.clock.server_time_at_least(sent_at)
        if cutoff is None:
            if rows:
                raise AmbiguousCreateError(
                    f"the answer to creating {what} {name!r} was lost ({lost}). {len(rows)} {what}(s) named "
                    f"{name!r} exist ({_listed(rows, id_of, created_of)}), but the server sends no Date "
                    "header, so Pulumi cannot prove which was made by this request. Delete the one it made "
                    "in Dokploy, or adopt it with adopt_id, then run `pulumi up` again."
                )
        else:
            # createdAt has millisecond precision; the bound is exact to the microsecond.
            fresh = [r for r in rows if (_parse_time(created_of(r)) or 0.0) >= cutoff - 0.001]
            unknown = [r for r in rows if _parse_time(created_of(r)) is None]
            candidates = fresh + unknown
            if len(fresh) == 1 and not unknown:
                client.session.remember(id_of(fresh[0]))
                return fresh[0]
            if candidates:
                raise AmbiguousCreateError(
                    f"the answer to creating {what} {name!r} was lost ({lost}), and {len(candidates)} "
                    f"{what}s named {name!r} may have been made by it: {_listed(candidates, id_of, created_of)}. "
                    f"Pulumi cannot tell which is its own. Delete the extra ones in Dokploy, or adopt one "
                    f"with adopt_id, then run `pulumi up` again."
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
    client: DokployClient,
    create: Callable[[], Made],
    search: Callable[[], Iterable[Row]],
    id_of: Callable[[Row], str],
    created_of: Callable[[Row], Optional[str]],
) -> Outcome[Made, Row]:
    """Run a create POST; if its answer is lost, find what it made instead (see `find_created`).

    The search waits up to the client's timeout for the object to appear: a request that timed out
    may still be running on the server.
    """
    sent_at = time.time()
    try:
        return Outcome(created=create())
    except DokployError as lost:
        if not answer_lost(lost):
            raise
        error = lost
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
