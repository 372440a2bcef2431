"""The fault table: every (fault x operation) cell, driven through the SDK's real provider server.

Each cell injects one fault into the procedure one operation uses, runs the operation the way the
engine does (Check then Create; Read; Check, then Update; Delete), asserts the exact outcome, and
then asserts that the emulator holds exactly the objects Pulumi state would record after that
outcome: a failed create records nothing, a failed delete keeps the object, a failed update keeps
the old outputs. So no cell may leave an orphan, a duplicate, or a state entry whose object is
gone. The outcomes are collected into the table printed at the end of the run (see conftest.py).

What the outcomes mean (client policy: GETs are retried on connection errors, timeouts, 429, 502,
503 and 504 with backoff, jitter and Retry-After; POSTs only when the connection never opened):

- "ok after retry": a GET failed once and its retry succeeded.
- "adopted": a create's answer was lost (timeout, dropped after commit); the provider found the one
  object it had created (exact name, created since the request) and adopted it.
- "searched, nothing created": the answer was lost or unreadable (dropped before commit, a 2xx that
  is not JSON, a gateway's 502/504), the provider looked for the object for up to the client
  timeout, found none, and failed saying nothing was created.
- "verified gone" / "verified still exists": a delete's answer was lost, the provider looked the
  object up: gone means the delete happened (success); still there means it did not (failure).
- "rolled back": an Environment's create had made the environment, then setting its env failed;
  the provider removed it again, so the failed create leaves nothing behind.
- "applied anyway": an update failed from Pulumi's view (timeout, drop after commit) although the
  server applied it; state keeps the old outputs and the next `pulumi up` sends the update again.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

if __name__ == "__main__":  # run as a script to rewrite fault_table.md: make tests/ importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
import pytest
from _table import FaultTable

from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider
from dokploy_pulumi.testing import DokployEmulator
from dokploy_pulumi.testing.provider_server import ProviderServer, blob_of

P = "__provider"
CLIENT_TIMEOUT = 1.0  # the server fixture configures dokploy:timeout to this (asserted below)
LATENCY = 1.5  # seconds: beyond the client timeout, and committed before the provider stops looking
PROJECT_BLOB = blob_of(ProjectProvider())
ENVIRONMENT_BLOB = blob_of(EnvironmentProvider())
PROJECT_NAME, ENV_NAME = "fault-p", "staging"
SECRET_VALUE = "s3cret-token-value-9f8e7d"
ROTATED_VALUE = "rotated-token-value-1a2b3c"

NGINX_404 = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
)
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
)


def _trpc(status: int, code: str, message: str) -> dict[str, Any]:
    return {"message": message, "code": code, "data": {"code": code, "httpStatus": status}}


@dataclass(frozen=True)
class Fault:
    key: str
    label: str
    inject: Optional[dict[str, Any]] = None  # inject_fault keyword arguments
    rate_limit: bool = False
    recorded_status: Any = "any"  # the status the emulator logs for the faulted request


FAULTS = [
    Fault(
        "500",
        "500 Internal Server Error",
        dict(status=500, body=_trpc(500, "INTERNAL_SERVER_ERROR", "injected: database unavailable")),
        recorded_status=500,
    ),
    Fault(
        "502",
        "502 Bad Gateway (JSON)",
        dict(status=502, body=_trpc(502, "BAD_GATEWAY", "injected: upstream unavailable")),
        recorded_status=502,
    ),
    Fault(
        "503",
        "503 + Retry-After: 1",
        dict(status=503, body=_trpc(503, "SERVICE_UNAVAILABLE", "injected: maintenance"), headers={"Retry-After": "1"}),
        recorded_status=503,
    ),
    Fault(
        "429",
        "429 Too Many Requests (proxy)",
        dict(status=429, body=_trpc(429, "TOO_MANY_REQUESTS", "injected: slow down")),
        recorded_status=429,
    ),
    Fault("latency", f"latency {LATENCY:g} s > timeout {CLIENT_TIMEOUT:g} s", dict(latency=LATENCY)),
    Fault("drop", "connection dropped before commit", dict(drop=True), recorded_status=None),
    Fault("drop_after_commit", "connection dropped after commit", dict(drop_after_commit=True), recorded_status=None),
    Fault("401", "401 rate-limit trap (key worked before)", rate_limit=True, recorded_status=401),
    Fault(
        "bad_json", "200 with malformed JSON", dict(status=200, body='{"projectId": "x", "name": '), recorded_status=200
    ),
    Fault(
        "html",
        "502 HTML page from a reverse proxy",
        dict(status=502, body=NGINX_502, content_type="text/html"),
        recorded_status=502,
    ),
    Fault(
        "html404",
        "404 HTML page (proxy, wrong URL path)",
        dict(status=404, body=NGINX_404, content_type="text/html"),
        recorded_status=404,
    ),
    Fault(
        "router404",
        "404 unknown procedure (Dokploy's router)",
        dict(status=404, body={"message": "Not found", "code": "NOT_FOUND"}),
        recorded_status=404,
    ),
    Fault(
        "gzip",
        "200 with a corrupt Content-Encoding",
        dict(status=200, body=b"\x00\x01 not gzip", headers={"Content-Encoding": "gzip"}),
        recorded_status=200,
    ),
]


@dataclass(frozen=True)
class Column:
    label: str
    resource: str  # "Project" | "Environment"
    op: str  # "create" | "read" | "update" | "delete"
    target: str  # the procedure the fault hits
    kind: str  # which expectation row applies
    calls_before: int = 0  # requests the operation makes before the target (for the rate-limit trap)


COLUMNS = [
    Column("Project create", "Project", "create", "project.create", "create"),
    Column("Project read", "Project", "read", "project.one", "read"),
    Column("Project update", "Project", "update", "project.update", "update"),
    Column("Project delete", "Project", "delete", "project.remove", "delete", calls_before=1),
    Column("Project delete: lookup step", "Project", "delete", "project.one", "lookup"),
    Column("Environment create", "Environment", "create", "environment.create", "create"),
    Column("Environment create: env step", "Environment", "create", "environment.update", "envstep", calls_before=1),
    Column("Environment read", "Environment", "read", "environment.one", "read"),
    Column("Environment update", "Environment", "update", "environment.update", "update"),
    Column("Environment delete", "Environment", "delete", "environment.remove", "delete", calls_before=1),
    Column("Environment delete: lookup step", "Environment", "delete", "environment.one", "lookup"),
]

OK_RETRY = "ok after retry"
EXPECTED: dict[str, dict[str, str]] = {
    "create": {
        "500": "error: 500, nothing created",
        "502": "error: 502, searched, nothing created",
        "503": "error: 503, nothing created",
        "429": "error: 429, nothing created",
        "latency": "adopted",
        "drop": "error: connection lost, searched, nothing created",
        "drop_after_commit": "adopted",
        "401": "error: 401 rate-limited, nothing created",
        "bad_json": "error: not JSON, searched, nothing created",
        "html": "error: 502, searched, nothing created",
        "html404": "error: 404, nothing created",
        "router404": "error: 404, nothing created",
        "gzip": "error: undecodable, searched, nothing created",
    },
    "read": {
        "500": "error: 500",
        "502": OK_RETRY,
        "503": OK_RETRY,
        "429": OK_RETRY,
        "latency": OK_RETRY,
        "drop": OK_RETRY,
        "drop_after_commit": OK_RETRY,
        "401": "error: 401 rate-limited",
        "bad_json": "error: not JSON",
        "html": OK_RETRY,
        "html404": "error: 404, kept in state",
        "router404": "error: 404, kept in state",
        "gzip": "error: undecodable",
    },
    "update": {
        "500": "error: 500, not applied",
        "502": "error: 502, not applied",
        "503": "error: 503, not applied",
        "429": "error: 429, not applied",
        "latency": "error: timeout, applied anyway",
        "drop": "error: connection lost, not applied",
        "drop_after_commit": "error: connection lost, applied anyway",
        "401": "error: 401 rate-limited, not applied",
        "bad_json": "error: not JSON, not applied",
        "html": "error: 502, not applied",
        "html404": "error: 404, not applied",
        "router404": "error: 404, not applied",
        "gzip": "error: undecodable, not applied",
    },
    "delete": {
        "500": "error: 500, still exists",
        "502": "error: 502, verified still exists",
        "503": "error: 503, still exists",
        "429": "error: 429, still exists",
        "latency": "ok, verified gone",
        "drop": "error: connection lost, verified still exists",
        "drop_after_commit": "ok, verified gone",
        "401": "error: 401 rate-limited, still exists",
        "bad_json": "error: not JSON, verified still exists",
        "html": "error: 502, verified still exists",
        "html404": "error: 404, still exists",
        "router404": "error: 404, still exists",
        "gzip": "error: undecodable, verified still exists",
    },
    "lookup": {
        "500": "error: 500, still exists",
        "502": OK_RETRY,
        "503": OK_RETRY,
        "429": OK_RETRY,
        "latency": OK_RETRY,
        "drop": OK_RETRY,
        "drop_after_commit": OK_RETRY,
        "401": "error: 401 rate-limited, still exists",
        "bad_json": "error: not JSON, still exists",
        "html": OK_RETRY,
        "html404": "error: 404, still exists",
        "router404": "error: 404, still exists",
        "gzip": "error: undecodable, still exists",
    },
    "envstep": {
        "500": "error: 500, rolled back",
        "502": "error: 502, rolled back",
        "503": "error: 503, rolled back",
        "429": "error: 429, rolled back",
        "latency": "error: timeout, rolled back",
        "drop": "error: connection lost, rolled back",
        "drop_after_commit": "error: connection lost, rolled back",
        # The key is refused for the rollback too: the one case that must leave an orphan, and the
        # error names it (id and adopt_id) so that it can be deleted or adopted.
        "401": "error: 401 rate-limited, rollback refused, orphan named",
        "bad_json": "error: not JSON, rolled back",
        "html": "error: 502, rolled back",
        "html404": "error: 404, rolled back",
        "router404": "error: 404, rolled back",
        "gzip": "error: undecodable, rolled back",
    },
}


@pytest.fixture(scope="module", autouse=True)
def _declare_axes(fault_table: Any, fault_client_timeout: float) -> None:
    assert fault_client_timeout == CLIENT_TIMEOUT
    fault_table.declare([f.label for f in FAULTS], [c.label for c in COLUMNS])


# -- the engine's side ---------------------------------------------------------------------------


@dataclass
class EngineState:
    """What Pulumi state records: ids per resource type, and the outputs of each."""

    ids: dict[str, set[str]] = field(default_factory=lambda: {"Project": set(), "Environment": set()})
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, resource: str, id_: str, outs: dict[str, Any]) -> None:
        self.ids[resource].add(id_)
        self.outputs[id_] = outs

    def drop(self, resource: str, id_: str) -> None:
        self.ids[resource].discard(id_)
        self.outputs.pop(id_, None)


def _project_props(**kw: Any) -> dict[str, Any]:
    props = {P: PROJECT_BLOB, "name": PROJECT_NAME, "description": "before", "env": {"TOKEN": SECRET_VALUE}}
    props.update(kw)
    return props


def _env_props(project_id: str, **kw: Any) -> dict[str, Any]:
    props = {
        P: ENVIRONMENT_BLOB,
        "project_id": project_id,
        "name": ENV_NAME,
        "description": "before",
        "env": {"TOKEN": SECRET_VALUE},
    }
    props.update(kw)
    return props


def _create(srv: ProviderServer, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    inputs, failures = srv.check({}, props)
    assert failures == []
    return srv.create(inputs)


@dataclass
class Cell:
    """One operation ready to run: what to call, and how Pulumi state changes on success/failure."""

    run: Callable[[], Any]
    on_success: Callable[[Any], None]
    subject: str  # "Project 'fault-p'" etc., as the provider names it in errors
    subject_id: Optional[str]  # the object the operation is about (None for a create)
    new_values: Optional[dict[str, Any]] = None  # what an update sends


def _prepare(srv: ProviderServer, col: Column, state: EngineState) -> Cell:
    """Create (without faults) what the operation needs, record it in state, return the operation."""
    project_id: Optional[str] = None
    if col.resource == "Environment" or col.op != "create":
        project_id, outs = _create(srv, _project_props())
        state.add("Project", project_id, outs)
    if col.op == "create":
        if col.resource == "Project":
            props, name = _project_props(), PROJECT_NAME
        else:
            assert project_id is not None
            props, name = _env_props(project_id), ENV_NAME

        def run_create() -> Any:
            inputs, failures = srv.check({}, props)
            assert failures == []
            return srv.create(inputs)

        return Cell(run_create, lambda res: state.add(col.resource, res[0], res[1]), f"{col.resource} {name!r}", None)

    assert project_id is not None
    if col.resource == "Project":
        id_, props_of, name = project_id, _project_props, PROJECT_NAME
    else:
        id_, env_outs = _create(srv, _env_props(project_id))
        state.add("Environment", id_, env_outs)
        props_of, name = (lambda **kw: _env_props(project_id, **kw)), ENV_NAME
    outs = state.outputs[id_]
    subject = f"{col.resource} {name!r} ({id_})"
    if col.op == "read":
        return Cell(lambda: srv.read(id_, outs), lambda res: state.add(col.resource, id_, res[1]), subject, id_)
    if col.op == "update":
        new = {"description": "after", "env": {"TOKEN": ROTATED_VALUE}}

        def run_update() -> Any:
            news, failures = srv.check(outs, props_of(**new))
            assert failures == []
            return srv.update(id_, outs, news)

        return Cell(run_update, lambda res: state.add(col.resource, id_, res), subject, id_, new)
    assert col.op == "delete"
    return Cell(lambda: srv.delete(id_, outs), lambda _res: state.drop(col.resource, id_), subject, id_)


# -- observing the outcome -------------------------------------------------------------------------


def _reason(details: str) -> str:
    """The cause a provider error gives, in the table's words."""
    if "could not be decoded" in details:
        return "undecodable"
    if "rate-limited" in details:
        assert "401" in details and "Unauthorized" in details
        return "401 rate-limited"
    if "not JSON" in details:
        return "not JSON"
    if "no answer within" in details:
        assert "may have been applied" in details
        return "timeout"
    if "connection was lost" in details:
        assert "may have been applied" in details
        return "connection lost"
    status = re.search(r"failed with (\d{3}): ", details)
    assert status, details
    return status.group(1)


def _server_reason_present(fault: Fault, details: str) -> None:
    """The server's (or proxy's) own words reach the user."""
    body = (fault.inject or {}).get("body")
    if isinstance(body, dict):
        assert body["message"] in details
    if fault.key == "html":
        assert "502 Bad Gateway" in details
    if fault.key == "html404":
        # Not Dokploy's answer about the object: the message says what is probably wrong.
        assert "404 Not Found" in details and "probably wrong" in details
    if fault.key == "router404":
        assert "has no procedure" in details


def _name_of(col: Column) -> str:
    return PROJECT_NAME if col.resource == "Project" else ENV_NAME


def _row(emu: DokployEmulator, resource: str, id_: str) -> Optional[dict[str, Any]]:
    return emu.get_project(id_) if resource == "Project" else emu.get_environment(id_)


def _settle(emu: DokployEmulator, fault: Fault, col: Column, ended: float) -> None:
    """Wait for a delayed request to finish on the server before the state is compared.

    The emulator logs a request on receipt and fills in its status once handled, so a request still
    sleeping in a latency fault is the one to the target without a status yet."""
    if fault.key != "latency":
        return
    deadline = ended + LATENCY + 1.0

    def pending() -> bool:
        return any(r.procedure == col.target and r.status is None for r in emu.requests)

    while pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pending()


def _assert_state_matches(emu: DokployEmulator, state: EngineState, orphans: set[str]) -> None:
    """The emulator holds exactly what state records: no orphan, no duplicate, nothing lost."""
    projects = emu.projects()
    assert sorted(p["projectId"] for p in projects) == sorted(state.ids["Project"])
    named = [e for e in emu.environments() if not e["isDefault"]]
    assert sorted(e["environmentId"] for e in named) == sorted(state.ids["Environment"] | orphans)
    for pid in state.ids["Project"]:
        defaults = [e for e in emu.environments() if e["projectId"] == pid and e["isDefault"]]
        assert len(defaults) == 1  # the project keeps exactly its default environment
    for env_id in state.ids["Environment"]:
        assert emu.get_environment(env_id)["projectId"] in state.ids["Project"]


@pytest.mark.parametrize("col", COLUMNS, ids=lambda c: c.label.replace(" ", "_").replace(":", ""))
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.key)
def test_fault_cell(
    fault: Fault, col: Column, fault_server: ProviderServer, fault_emulator: DokployEmulator, fault_table: Any
) -> None:
    srv, emu = fault_server, fault_emulator
    emu.reset()
    state = EngineState()
    cell = _prepare(srv, col, state)
    before = dict(_row(emu, col.resource, cell.subject_id) or {}) if cell.subject_id else None
    emu.reset_requests()

    if fault.rate_limit:
        emu.rate_limit_after(col.calls_before)
    else:
        emu.inject_fault(col.target, times=1, **(fault.inject or {}))

    error: Optional[str] = None
    result: Any = None
    try:
        result = cell.run()
    except grpc.RpcError as exc:
        error = exc.details()
    ended = time.monotonic()
    _settle(emu, fault, col, ended)
    emu.rate_limit_after(None)
    emu.clear_faults()

    log = emu.requests
    # The fault really hit the procedure it names.
    hit = [r for r in log if r.procedure == col.target]
    assert hit, f"no request reached {col.target}"
    if fault.recorded_status != "any":
        assert fault.recorded_status in [r.status for r in hit]
    # The key never travels anywhere but the header (the emulator masks it in its log).
    assert all(r.headers.get("x-api-key") == "***" for r in log)

    orphans: set[str] = set()
    if error is None:
        cell.on_success(result)
        outcome = _success_label(col, log, result, emu)
    else:
        assert emu.api_key not in error
        assert SECRET_VALUE not in error and ROTATED_VALUE not in error  # env values are never shown
        assert f"{col.op} failed" in error, error
        assert f"{col.resource} {_name_of(col)!r}" in error
        if cell.subject_id:
            assert cell.subject in error
        _server_reason_present(fault, error)
        outcome, orphans = _error_label(col, error, emu, cell, before)
    fault_table.record(fault.label, col.label, outcome)
    _assert_state_matches(emu, state, orphans)
    assert outcome == EXPECTED[col.kind][fault.key], error


def _success_label(col: Column, log: list, result: Any, emu: DokployEmulator) -> str:
    procs = [r.procedure for r in log]
    if col.op == "create":
        id_, outs = result
        row = _row(emu, col.resource, id_)
        assert row is not None and row["name"] == outs["name"]
        assert outs["env"] == {"TOKEN": SECRET_VALUE} and row["env"].strip() == f"TOKEN={SECRET_VALUE}"
        searched = any(p.endswith(".search") for p in procs)
        assert procs.count(col.target) == 1  # a mutation is never blindly repeated
        return "adopted" if searched else "ok"
    if col.op == "read":
        rid, outs, _inputs = result
        assert rid and outs["description"] == "before"
        return OK_RETRY if procs.count(col.target) > 1 else "ok"
    if col.op == "delete":
        one = "project.one" if col.resource == "Project" else "environment.one"
        removes = [i for i, p in enumerate(procs) if p == col.target]
        if col.kind == "delete":
            assert len(removes) == 1  # never repeated: the lost answer is checked by looking it up
            looked = [i for i, p in enumerate(procs) if p == one and i > removes[0]]
            return "ok, verified gone" if looked else "ok"
        return OK_RETRY if procs.count(one) > 1 else "ok"
    raise AssertionError(f"{col.op} was expected to fail")


def _error_label(
    col: Column, error: str, emu: DokployEmulator, cell: Cell, before: Optional[dict[str, Any]]
) -> tuple[str, set[str]]:
    reason = _reason(error)
    label = f"error: {reason}"
    if col.kind == "create":
        if "was lost" in error:
            assert "nothing was created" in error and "Run `pulumi up` again" in error
            label += ", searched"
        return label + ", nothing created", set()
    if col.kind == "envstep":
        if "left in Dokploy" in error:
            orphan = [e["environmentId"] for e in emu.environments() if not e["isDefault"]]
            assert len(orphan) == 1 and orphan[0] in error and f"adopt_id={orphan[0]!r}" in error
            return label + ", rollback refused, orphan named", set(orphan)
        assert "removed again: nothing was created" in error
        return label + ", rolled back", set()
    row = _row(emu, col.resource, cell.subject_id or "")
    if col.kind in ("read",):
        assert row == before  # a failed read changes nothing
        # An error (never "gone"): the engine keeps the resource in state.
        return label + (", kept in state" if reason == "404" else ""), set()
    if col.kind in ("delete", "lookup"):
        assert row is not None
        if "still exists on the server" in error:
            return label + ", verified still exists", set()
        return label + ", still exists", set()
    assert col.kind == "update" and row is not None and before is not None and cell.new_values
    unchanged = row["description"] == before["description"] and row["env"] == before["env"]
    applied = row["description"] == cell.new_values["description"] and ROTATED_VALUE in row["env"]
    assert unchanged or applied  # never half-applied
    return label + (", applied anyway" if applied else ", not applied"), set()


def test_rate_limit_hint_holds_across_resource_types(dokploy_emulator: DokployEmulator) -> None:
    """Each resource type's provider has its own client; a key that worked for one is "rate-limited"
    when the other, never used yet in this process, gets 401 (not "check the API key")."""
    emu = dokploy_emulator
    with ProviderServer() as srv:
        srv.configure({"dokploy:url": emu.url, "dokploy:apiKey": emu.api_key, "dokploy:timeout": "1"})
        project_id, _outs = _create(srv, _project_props())
        emu.rate_limit_after(0)
        inputs, failures = srv.check({}, _env_props(project_id))
        assert failures == []
        with pytest.raises(grpc.RpcError) as err:
            srv.create(inputs)
    details = err.value.details()
    assert "Environment 'staging': create failed" in details and "rate-limited" in details
    assert "Check the API key" not in details
    assert [e for e in emu.environments() if not e["isDefault"]] == []


# -- the table in the docs --------------------------------------------------------------------------

TABLE_FILE = Path(__file__).resolve().parent / "fault_table.md"
README = Path(__file__).resolve().parents[2] / "README.md"
LEGEND = """
- *ok after retry*: a GET failed once; the client retried it (backoff, jitter, Retry-After) and succeeded.
- *adopted*: a create's answer was lost; the provider found the one object it made (exact name, created
  since the request, not already managed) and adopted it: no duplicate, no orphan.
- *searched, nothing created*: the answer was lost or unreadable (dropped before commit, 2xx that is not
  JSON, a gateway's 502/504); the provider looked for the object for up to the client timeout, found
  none, and failed saying nothing was created.
- *verified gone* / *verified still exists*: a delete's answer was lost; the provider looked the object up.
- *rolled back*: an Environment's create had made the environment but setting its env failed; the
  provider removed it again. If even that is refused (*rollback refused*), the error names the orphan's
  id and how to adopt it (`adopt_id`).
- *applied anyway*: an update failed from Pulumi's view although the server applied it; state keeps the
  old outputs and the next `pulumi up` sends the same update again.
- Mutations (POST) are never retried once they may have reached the server. After every cell the
  emulator holds exactly the objects Pulumi state records.
"""


def render_table() -> str:
    """tests/faults/fault_table.md as the expectations above give it (every cell asserts them)."""
    table = FaultTable()
    table.declare([f.label for f in FAULTS], [c.label for c in COLUMNS])
    for f in FAULTS:
        for c in COLUMNS:
            table.record(f.label, c.label, EXPECTED[c.kind][f.key])
    return (
        "<!-- Generated from tests/faults/test_fault_table.py (python tests/faults/test_fault_table.py); "
        "do not edit by hand. -->\n"
        f"Client timeout {CLIENT_TIMEOUT:g} s; each fault hits the first matching request only "
        "(the 401 trap: the key is refused from the faulted request on).\n\n" + table.markdown() + LEGEND
    )


def test_fault_table_document_is_current() -> None:
    expected = render_table()
    assert TABLE_FILE.read_text() == expected, "run `python tests/faults/test_fault_table.py` to regenerate it"
    body = expected.split("\n", 1)[1]  # the README has no generator comment
    assert body.strip() in README.read_text(), "the README's fault table differs from tests/faults/fault_table.md"


if __name__ == "__main__":
    TABLE_FILE.write_text(render_table())
    print(f"wrote {TABLE_FILE}")
