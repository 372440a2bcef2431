"""`python -m dokploy_pulumi recover`: which object a pending create made, and the state edit.

The server is the emulator; the Pulumi CLI is replaced by a fake that serves an exported checkpoint
and records the commands (the real CLI is exercised in tests/e2e/test_interrupted_e2e.py).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

from dokploy_pulumi import DokployClient
from dokploy_pulumi import _recover as rec
from dokploy_pulumi._pulumi_cli import PulumiCLI
from dokploy_pulumi.testing import DokployEmulator

KEY = "recover-unit-key-0123456789"
STACK_URN = "urn:pulumi:dev::app::pulumi:pulumi:Stack::app-dev"
PROVIDER = "urn:pulumi:dev::app::pulumi:providers:pulumi-python::default::0b2c"
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc"}
OLD = "2020-01-01T00:00:00.000Z"


@pytest.fixture
def emu():
    with DokployEmulator(api_key=KEY) as e:
        yield e


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::app::{type_}::{name}"


def _op(type_: str, logical: str, **inputs: Any) -> dict[str, Any]:
    return {
        "type": "creating",
        "resource": {
            "urn": _urn(type_, logical),
            "custom": True,
            "type": type_,
            "inputs": {"__provider": "gASVblob", "env": SECRET, **inputs},
            "parent": STACK_URN,
            "provider": PROVIDER,
        },
    }


def _resource(type_: str, logical: str, id_: str, **outputs: Any) -> dict[str, Any]:
    return {"urn": _urn(type_, logical), "custom": True, "type": type_, "id": id_, "outputs": outputs}


def _clients(emu: DokployEmulator):
    server = rec.Server(DokployClient(emu.url, KEY))
    return lambda connection: server


# A proven start of the interrupted update, on the server's clock (as --since gives it).
SINCE = rec.StartBound(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5), "test", server_clock=True)


def test_project_create_found_by_exact_name_time_and_ownership(emu):
    made = emu.create_project("shop")["projectId"]
    old = emu.create_project("shop")["projectId"]
    emu.set_project_fields(old, createdAt=OLD)  # made long before the update
    owned = emu.create_project("shop")["projectId"]  # another resource in the state has it
    emu.create_project("Shop")  # not the exact name
    emu.create_project("shop ")
    d = rec.decide(_op(rec.PROJECT_T, "shop", name="shop"), {owned}, SINCE, _clients(emu))
    assert (d.action, [c.id for c in d.candidates]) == ("import", [made])
    # Without a proven start nothing is taken: both are listed for the user to decide.
    d = rec.decide(_op(rec.PROJECT_T, "shop", name="shop"), {owned}, rec.UNPROVEN, _clients(emu))
    assert d.action == "unproven" and {c.id for c in d.candidates} == {made, old}


def test_nothing_made_is_cleared_and_adoptions_are_cleared(emu):
    emu.create_project("other")
    assert rec.decide(_op(rec.PROJECT_T, "p", name="shop"), set(), SINCE, _clients(emu)).action == "clear"
    adopt = rec.decide(_op(rec.PROJECT_T, "p", name="x", adopt_id="abc"), set(), SINCE, _clients(emu))
    assert adopt.action == "clear" and "adopts" in adopt.reason
    prod = rec.decide(_op(rec.ENVIRONMENT_T, "prod", name="production", project_id="p1"), set(), SINCE, _clients(emu))
    assert prod.action == "clear"
    gone = rec.decide(_op(rec.ENVIRONMENT_T, "e", name="staging", project_id="missing"), set(), SINCE, _clients(emu))
    assert gone.action == "clear" and "does not exist" in gone.reason
    other = rec.decide(_op("aws:s3/bucket:Bucket", "b", name="b"), set(), SINCE, _clients(emu))
    assert other.action == "skip"


def test_environment_only_in_its_project(emu):
    c = DokployClient(emu.url, KEY)
    mine = emu.create_project("a")["projectId"]
    theirs = emu.create_project("b")["projectId"]
    c.environment.create(theirs, "staging")
    made = c.environment.create(mine, "staging").environment_id
    d = rec.decide(_op(rec.ENVIRONMENT_T, "staging", name="staging", project_id=mine), set(), SINCE, _clients(emu))
    assert (d.action, d.chosen.id, d.chosen.extra["is_default"]) == ("import", made, False)
    # EnvironmentDuplicate: the project is the source environment's.
    source = c.environment.create(mine, "src").environment_id
    dup = rec.decide(
        _op(rec.ENV_DUPLICATE_T, "copy", name="staging", source_environment_id=source), set(), SINCE, _clients(emu)
    )
    assert dup.action == "import" and dup.chosen.id == made


def test_choose_picks_among_ambiguous_and_is_checked(emu):
    a = emu.create_project("dup")["projectId"]
    b = emu.create_project("dup")["projectId"]
    op = _op(rec.PROJECT_T, "dup", name="dup")
    assert rec.decide(op, set(), SINCE, _clients(emu)).action == "ambiguous"
    d = rec.decide(op, set(), SINCE, _clients(emu), chosen_id=b)
    assert d.action == "import" and d.chosen.id == b
    with pytest.raises(rec.RecoverFailed, match="not one of the projects named 'dup'"):
        rec.decide(op, {a}, SINCE, _clients(emu), chosen_id=a)


def test_two_pending_creates_never_record_the_same_object(emu):
    emu.create_project("twin")
    ds = rec.settle_conflicts(
        [
            rec.decide(_op(rec.PROJECT_T, "p", name="twin"), set(), SINCE, _clients(emu)),
            rec.decide(
                _op(rec.PROJECT_DUPLICATE_T, "q", name="twin", source_environment_id="x"), set(), SINCE, _clients(emu)
            ),
        ]
    )
    assert [d.action for d in ds] == ["ambiguous", "ambiguous"]


def test_owned_ids_include_default_environments():
    dep = {
        "resources": [
            _resource(rec.PROJECT_T, "p", "P1", default_environment_id="E0"),
            _resource(rec.ENVIRONMENT_T, "e", "E1"),
        ]
    }
    assert rec.owned_ids(dep) == {"P1", "E0", "E1"}


def test_edited_deployment_records_clears_and_keeps():
    imported = _op(rec.PROJECT_T, "a", name="a")
    cleared = _op(rec.PROJECT_T, "b", name="b")
    ambiguous = _op(rec.PROJECT_T, "c", name="c")
    updating = dict(_op(rec.PROJECT_T, "d", name="d"), type="updating")
    exported = {
        "version": 3,
        "deployment": {
            "resources": [{"urn": STACK_URN, "type": "pulumi:pulumi:Stack"}],
            "pending_operations": [imported, cleared, ambiguous, updating],
        },
    }
    decisions = [
        rec.Decision(
            imported["resource"]["urn"],
            rec.PROJECT_T,
            "a",
            "import",
            "",
            [rec.Candidate("ID-A", "a", "2026-01-01T00:00:00.000Z")],
        ),
        rec.Decision(cleared["resource"]["urn"], rec.PROJECT_T, "b", "clear", ""),
        rec.Decision(ambiguous["resource"]["urn"], rec.PROJECT_T, "c", "ambiguous", ""),
    ]
    record = rec.Record({"__provider": "gASVblob", "name": "a"}, {"__provider": "gASVblob", "created_at": "t"})
    # `stack import` drops every pending operation: nothing is edited while one is undecided.
    with pytest.raises(rec.RecoverFailed, match="::c is not decided"):
        rec.edited_deployment(exported, decisions, {imported["resource"]["urn"]: record})
    decisions[2].action = "clear"
    doc = rec.edited_deployment(exported, decisions, {imported["resource"]["urn"]: record})
    dep = doc["deployment"]
    assert dep["pending_operations"] == []
    added = dep["resources"][-1]
    assert added["id"] == "ID-A" and added["urn"] == imported["resource"]["urn"]
    assert (added["inputs"], added["outputs"]) == (record.inputs, record.outputs)
    assert added["provider"] == PROVIDER and added["parent"] == STACK_URN
    assert exported["deployment"]["pending_operations"][0] is imported  # the input is not mutated


def test_go_timestamps_and_file_backend_locks(tmp_path):
    assert rec._parse_time("2026-12-03T19:03:26.295495024Z") == dt.datetime(
        2026, 12, 3, 19, 3, 26, 295495, tzinfo=dt.timezone.utc
    )
    folder = tmp_path / ".pulumi" / "locks" / "organization" / "app" / "dev"
    folder.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    (folder / "a.json").write_text(
        json.dumps({"pid": dead.pid, "hostname": host, "timestamp": "2026-12-03T19:03:26.5Z"})
    )
    (folder / "b.json").write_text(
        json.dumps({"pid": os.getpid(), "hostname": host, "timestamp": "2026-12-03T19:04:00Z"})
    )
    (folder / "c.json").write_text(
        json.dumps({"pid": dead.pid, "hostname": "elsewhere", "timestamp": "2026-12-03T19:05:00Z"})
    )
    locks = {lock.path.name: lock for lock in rec.file_backend_locks(f"file://{tmp_path}", "organization/app/dev")}
    assert set(locks) == {"a.json", "b.json", "c.json"}
    assert locks["a.json"].stale() and not locks["b.json"].stale() and not locks["c.json"].stale()
    assert rec.file_backend_locks("https://api.pulumi.com", "organization/app/dev") == []


class FakeCLI(PulumiCLI):
    """Serves an exported checkpoint and stack config; records every command."""

    def __init__(self, exported: dict, config: dict, backend: Optional[str] = None, history: Optional[list] = None):
        super().__init__(stack="dev")
        self.exported, self.config, self.backend, self.history = exported, config, backend, history or []
        self.commands: list[tuple[str, ...]] = []
        self.imported: Optional[dict] = None

    def run(self, *args: str, check: bool = True, stack_scoped: bool = True):
        self.commands.append(args)
        if args[:2] == ("stack", "import"):
            self.imported = json.loads(Path(args[3]).read_text())
        stdout = json.dumps(self.history) if args[:2] == ("stack", "history") else ""
        return subprocess.CompletedProcess(args, 0, stdout, "")

    def export(self):
        return json.loads(json.dumps(self.exported))

    def export_revealed(self):
        return self.export()

    def import_state(self, deployment):
        self.commands.append(("stack", "import"))
        self.imported = json.loads(json.dumps(deployment))

    def config_get(self, key):
        return self.config.get(key)

    def backend_url(self):
        return self.backend

    def stack_name(self):
        return "organization/app/dev"


def _exported(*ops, resources=()):
    return {
        "version": 3,
        "deployment": {
            "resources": [{"urn": STACK_URN, "type": "pulumi:pulumi:Stack"}, *resources],
            "pending_operations": list(ops),
        },
    }


def test_main_dry_run_lists_ambiguous_with_ids_and_changes_nothing(emu, tmp_path):
    a = emu.create_project("dup")["projectId"]
    b = emu.create_project("dup")["projectId"]
    made = emu.create_project("solo")["projectId"]
    exported = _exported(
        _op(rec.PROJECT_T, "dup", name="dup"),
        _op(rec.PROJECT_T, "solo", name="solo"),
        _op(rec.PROJECT_T, "none", name="none"),
    )
    history = [{"startTime": "2020-01-01T00:00:00Z", "endTime": "2020-01-01T00:01:00Z"}]
    cli = FakeCLI(exported, {"dokploy:url": emu.url, "dokploy:apiKey": KEY}, history=history)
    out = io.StringIO()
    assert rec.main(stack="dev", apply=False, clock_skew=120, out=out, cli=cli, cwd=tmp_path) == 2
    text = out.getvalue()
    # The end of an earlier update proves nothing: even the single match is only listed.
    assert f"- UNPROVEN {_urn(rec.PROJECT_T, 'dup')}" in text and a in text and b in text
    assert f"- UNPROVEN {_urn(rec.PROJECT_T, 'solo')}" in text and made in text
    assert f"- CLEAR {_urn(rec.PROJECT_T, 'none')}" in text
    assert "nothing that proves when the interrupted update started" in text
    assert not any(c[:2] in (("stack", "import"), ("refresh", "--yes"), ("cancel", "--yes")) for c in cli.commands)
    assert KEY not in text


def test_main_apply_imports_chosen_and_refreshes_only_those(emu, tmp_path):
    a = emu.create_project("dup")["projectId"]
    emu.create_project("dup")
    exported = _exported(_op(rec.PROJECT_T, "dup", name="dup"), _op(rec.PROJECT_T, "none", name="none"))
    cli = FakeCLI(exported, {"dokploy:url": emu.url, "dokploy:apiKey": KEY})
    out = io.StringIO()
    urn = _urn(rec.PROJECT_T, "dup")
    code = rec.main(stack="dev", apply=True, clock_skew=120, out=out, cli=cli, cwd=tmp_path, choices={urn: a})
    assert code == 0, out.getvalue()
    dep = cli.imported["deployment"]
    assert dep["pending_operations"] == []
    assert [(r["urn"], r.get("id")) for r in dep["resources"][1:]] == [(urn, a)]
    # Recorded as the provider's read stores it: the server's values, env a (plaintext) secret.
    outs = dep["resources"][1]["outputs"]
    assert outs["env"] == rec._secret({}) and outs["created_at"] == emu.get_project(a)["createdAt"]
    assert not any(c[0] == "refresh" for c in cli.commands)
    backups = list(tmp_path.glob("dokploy-recover-backup-*.json"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == exported
    assert "nothing that proves when the interrupted update started" in out.getvalue()
    with pytest.raises(rec.RecoverFailed, match="--choose/--clear name no pending create"):
        rec.main(
            stack="dev",
            apply=False,
            clock_skew=120,
            out=io.StringIO(),
            cli=FakeCLI(exported, {"dokploy:url": emu.url, "dokploy:apiKey": KEY}),
            choices={"urn:nope": a},
        )


def test_main_refuses_while_the_lock_holder_lives(emu, tmp_path):
    folder = tmp_path / ".pulumi" / "locks" / "organization" / "app" / "dev"
    folder.mkdir(parents=True)
    (folder / "x.json").write_text(
        json.dumps({"pid": os.getpid(), "hostname": socket.gethostname(), "timestamp": "2026-12-03T19:04:00Z"})
    )
    cli = FakeCLI(
        _exported(_op(rec.PROJECT_T, "p", name="p")),
        {"dokploy:url": emu.url, "dokploy:apiKey": KEY},
        backend=f"file://{tmp_path}",
    )
    with pytest.raises(rec.RecoverFailed, match="may still be running"):
        rec.main(stack="dev", apply=True, clock_skew=120, out=io.StringIO(), cli=cli, cwd=tmp_path)
    assert not any(c[0] in ("cancel", "stack", "refresh") for c in cli.commands)


def test_a_pending_create_whose_urn_is_already_in_the_state_is_cleared_and_orphans_listed(emu, tmp_path):
    # After a plain `pulumi up` following the kill: the resource exists (the duplicate), the old
    # pending create is still there, and the object the interrupted create made is an orphan.
    orphan = emu.create_project("shop")["projectId"]
    duplicate = emu.create_project("shop")["projectId"]
    exported = _exported(
        _op(rec.PROJECT_T, "shop", name="shop"), resources=[_resource(rec.PROJECT_T, "shop", duplicate)]
    )
    cli = FakeCLI(exported, {"dokploy:url": emu.url, "dokploy:apiKey": KEY})
    out = io.StringIO()
    assert rec.main(stack="dev", apply=True, clock_skew=120, out=out, cli=cli, cwd=tmp_path) == 0
    text = out.getvalue()
    assert f"- CLEAR {_urn(rec.PROJECT_T, 'shop')}" in text and "stale" in text and f"candidate {orphan}" in text
    dep = cli.imported["deployment"]
    assert dep["pending_operations"] == []
    assert [r.get("id") for r in dep["resources"] if r["type"] == rec.PROJECT_T] == [duplicate]
    assert not any(c[0] == "refresh" for c in cli.commands)
