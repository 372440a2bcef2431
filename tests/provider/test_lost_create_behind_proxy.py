"""A create whose answer is lost behind a reverse proxy whose `Date` is its own (issue 19, case 6).

nginx replaces the upstream's `Date` header with its own clock's by default. The provider must
still find what a lost create made, by the server's own clock, and never take an object it did not
make. A `RecordingProxy` sits between the SDK's provider server and the Dokploy under test (the
emulator, or a real server in the real tier): it stamps every answer with its own clock shifted by
some seconds (or sends no `Date`, or one that is not a date), and loses the answer of one create
after the server has made the object (or drops the request before it reaches the server).

No emulator hook is used: every test here runs against the real releases too.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Optional, Union

import grpc
import pytest
from _backend import AGAINST_REAL, n
from _recording_proxy import DATE_ABSENT, DATE_GARBAGE, RecordingProxy

from dokploy_pulumi import DokployClient
from dokploy_pulumi.providers import (
    EnvironmentDuplicateProvider,
    EnvironmentProvider,
    ProjectDuplicateProvider,
    ProjectProvider,
)
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of

P = "__provider"

#: The proxy's `Date`: its clock this many seconds ahead of the server's (negative: behind), none, or
#: garbage. On a real server (half a minute per test on the shared machine, three releases) the
#: provider's path is the same for every `Date`, since it reads none: there the set is the two that
#: broke adoption before (2 s ahead: "nothing was created"; 29 s behind: an older object taken).
DATES: list[Union[float, str]] = [2.0, -2.0, 29.0, -29.0, DATE_ABSENT, DATE_GARBAGE]
DATE_IDS = ["ahead-2s", "behind-2s", "ahead-29s", "behind-29s", "no-date", "garbage-date"]
if AGAINST_REAL:
    DATES, DATE_IDS = [2.0, -29.0], ["ahead-2s", "behind-29s"]
#: The kinds whose lost create is tried beside an older object of the same name: all four on the
#: emulator; on a real server a project and an environment (the duplicates search the same way).
BESIDE_OLDER = (
    ["Project", "Environment"]
    if AGAINST_REAL
    else ["Project", "Environment", "EnvironmentDuplicate", "ProjectDuplicate"]
)

#: The client timeout: how long the search after a lost create waits for an object to appear. A real
#: server in dev mode on the shared machine can take several seconds for one request: there it is
#: the default (30 s), so that no reading of the clock times out and is retried.
TIMEOUT = "30" if AGAINST_REAL else "2"

#: How long before the request an object made by hand is made. The provider's bound on the server's
#: clock errs by the time from the server reading its clock to the answer arriving: milliseconds on
#: the emulator, seconds on a real server in dev mode on a loaded machine.
BEFORE = 10.0 if AGAINST_REAL else 1.1

ROUTER_404 = {"message": "Not found", "code": "NOT_FOUND"}


@pytest.fixture
def proxy(backend):
    p = RecordingProxy(backend.url).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def behind(backend, proxy, clean_env):
    """A provider process whose stack config points at the proxy."""
    with ProviderServer(env=clean_env) as srv:
        srv.configure({"dokploy:url": proxy.url, "dokploy:apiKey": backend.api_key, "dokploy:timeout": TIMEOUT})
        yield srv


@pytest.fixture
def api(backend):
    """Out-of-band calls (a user in the UI): straight to the server, not through the proxy."""
    with DokployClient(backend.url, backend.api_key, timeout=120.0) as client:
        yield client


@dataclass
class Case:
    """One resource's create: its inputs, its procedure, and where objects of its name land."""

    procedure: str
    props: dict[str, Any]
    name: str
    id_key: str
    rows: Callable[[], list[dict[str, Any]]]  # every object of the kind on the server (the test's own)
    by_hand: Callable[[], str]  # make an object of the same name where the create lands; its id


def _project(backend, api, name: str = "made") -> Case:
    name = n(name)
    return Case(
        "project.create",
        {P: blob_of(ProjectProvider()), "name": name, "description": None, "env": None, "force_destroy": False},
        name,
        "projectId",
        backend.projects,
        lambda: backend.create_project(name)["projectId"],
    )


def _environment(backend, api, home: Optional[str] = None, name: str = "review") -> Case:
    home = home or backend.create_project(n("home"))["projectId"]
    return Case(
        "environment.create",
        {P: blob_of(EnvironmentProvider()), "project_id": home, "name": name},
        name,
        "environmentId",
        backend.environments,
        lambda: api.environment.create(home, name).environment_id,
    )


def _duplicate(kind: str, backend, api) -> Case:
    """A copy of a "staging" environment: a new environment in its project, or a new project; an
    object of the same name made by hand lands where an Environment or a Project would."""
    home = backend.create_project(n("home"))["projectId"]
    staging = api.environment.create(home, "staging").environment_id
    if kind == "EnvironmentDuplicate":
        like, provider, procedure = (
            _environment(backend, api, home, "copy"),
            EnvironmentDuplicateProvider(),
            "environment.duplicate",
        )
    else:
        like, provider, procedure = _project(backend, api, "sandbox"), ProjectDuplicateProvider(), "project.duplicate"
    props = {P: blob_of(provider), "source_environment_id": staging, "name": like.name}
    return replace(like, procedure=procedure, props=props)


KINDS = {
    "Project": _project,
    "Environment": _environment,
    "EnvironmentDuplicate": lambda backend, api: _duplicate("EnvironmentDuplicate", backend, api),
    "ProjectDuplicate": lambda backend, api: _duplicate("ProjectDuplicate", backend, api),
}


def _create(server, props):
    inputs, failures = server.check({}, props)
    assert failures == []
    return server.create(inputs)


def _ids(case: Case) -> list[str]:
    return [r[case.id_key] for r in case.rows() if r["name"] == case.name]


@pytest.mark.parametrize("date", DATES, ids=DATE_IDS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_lost_create_is_adopted_whatever_date_the_proxy_sends(behind, backend, api, proxy, kind, date):
    case = KINDS[kind](backend, api)
    proxy.date = date
    proxy.lose_answer(case.procedure)  # forwarded: the server makes the object; its answer is lost
    id_, outs = _create(behind, case.props)
    assert _ids(case) == [id_]  # adopted: no orphan, no duplicate
    assert outs["name"] == case.name
    assert proxy.count(case.procedure, "POST") == 1  # the create was not repeated


@pytest.mark.parametrize("date", DATES, ids=DATE_IDS)
@pytest.mark.parametrize("kind", BESIDE_OLDER)
def test_an_older_object_of_the_same_name_is_left_alone_and_its_own_adopted(behind, backend, api, proxy, kind, date):
    case = KINDS[kind](backend, api)
    older = case.by_hand()  # by hand, a second before: never the request's own
    time.sleep(BEFORE)
    proxy.date = date
    proxy.lose_answer(case.procedure)
    id_, _ = _create(behind, case.props)
    assert id_ != older
    assert sorted(_ids(case)) == sorted([older, id_])


@pytest.mark.parametrize("date", DATES, ids=DATE_IDS)
@pytest.mark.parametrize("kind", ["Project", "Environment"])
def test_an_older_object_of_the_same_name_is_never_adopted(behind, backend, api, proxy, kind, date):
    case = KINDS[kind](backend, api)
    older = case.by_hand()
    time.sleep(BEFORE)
    proxy.date = date
    proxy.lose_answer(case.procedure, forward=False)  # the request never reaches the server
    with pytest.raises(grpc.RpcError) as err:
        _create(behind, case.props)
    details = err.value.details()
    assert "nothing was created" in details and older in details  # named as made before the request
    assert _ids(case) == [older]
    assert proxy.count(case.procedure, "POST") == 1


@pytest.mark.parametrize(
    "unreadable",
    [(404, ROUTER_404), (200, None)],
    ids=["getServerTime-unknown", "getServerTime-null-as-on-cloud"],
)
def test_without_the_servers_clock_the_candidates_are_listed(behind, backend, api, proxy, unreadable):
    """No reading of the server's clock at all (and a Date 2 s ahead): the object cannot be proven
    the request's own, so it is listed with its id; never "nothing was created"."""
    case = _project(backend, api)
    proxy.answer_instead("server.getServerTime", *unreadable)
    proxy.date = 2.0
    proxy.lose_answer(case.procedure)
    with pytest.raises(grpc.RpcError) as err:
        _create(behind, case.props)
    details = err.value.details()
    made = _ids(case)
    assert len(made) == 1 and made[0] in details and "adopt_id" in details
    assert "nothing was created" not in details
    assert "server.getServerTime" in details  # says why the time could not be proven


def test_an_earlier_answered_create_proves_the_clock_for_another_resource(behind, backend, api, proxy):
    """Without `server.getServerTime`, the `createdAt` of a create answered earlier in the same
    provider process (a Project) proves the server's clock for another resource type's lost create."""
    project = _project(backend, api)
    proxy.answer_instead("server.getServerTime", 404, ROUTER_404)
    proxy.date = 2.0
    project_id, _ = _create(behind, project.props)  # answered: its createdAt is a reading
    env_props = {P: blob_of(EnvironmentProvider()), "project_id": project_id, "name": "review"}
    proxy.lose_answer("environment.create")
    env_id, _ = _create(behind, env_props)
    assert [e["environmentId"] for e in backend.environments() if e["name"] == "review"] == [env_id]


@pytest.mark.parametrize("stale", [60.0, 5.0], ids=["cached-60s-ago", "cached-5s-ago"])
def test_a_proxy_caching_getServerTime_never_makes_an_older_object_pass_for_ours(behind, backend, api, proxy, stale):
    """A proxy that caches `server.getServerTime` answers the same time to every reading. One such
    reading, a minute old, puts the server's clock a minute back: a same-named project made by hand
    before the request (which never reached the server) would pass for the request's own. Two
    readings of one time while ours moved on contradict each other: the clock is not proven, and
    the object is listed, never adopted."""
    case = _project(backend, api)
    older = case.by_hand()
    stamp = datetime.datetime.fromtimestamp(time.time() - stale, datetime.timezone.utc)
    cached = {"time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "timezone": "UTC"}
    proxy.answer_instead("server.getServerTime", 200, cached)
    proxy.lose_answer(case.procedure, forward=False)  # the request never reaches the server
    with pytest.raises(grpc.RpcError) as err:
        _create(behind, case.props)
    details = err.value.details()
    assert older in details and "adopt_id" in details, details
    assert _ids(case) == [older]
    assert proxy.count("server.getServerTime", "GET") >= 2  # a second reading exposed the cache
