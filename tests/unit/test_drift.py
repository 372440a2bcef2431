"""What `drift` counts as held, from the state's resources (no server, no CLI: `_drift.compare`).

The e2e test (tests/e2e/test_drift_e2e.py) covers Project and Environment through the real CLI;
here the other resource types, their outputs, and resources with their own connection.
"""

from __future__ import annotations

from typing import Any

from dokploy_pulumi._connection import Settings
from dokploy_pulumi._drift import StackHolds, _collect, compare, generation_held
from dokploy_pulumi._import import ListedProject
from dokploy_pulumi._pulumi_cli import StackView
from dokploy_pulumi._recover import SECRET_SIG, SECRET_SIG_KEY

T = "pulumi-python:dynamic/dokploy:"
SERVER = "http://127.0.0.1:3000"


def res(stack: str, type_: str, name: str, id_: str, outputs: Any = None, inputs: Any = None) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:{stack}::p::{T}{type_}::{name}",
        "type": T + type_,
        "id": id_,
        "inputs": inputs or {},
        "outputs": outputs or {},
    }


def holds(name: str, *states: dict[str, Any]) -> StackHolds:
    view = StackView(
        name=name,
        resources=tuple((s["type"], s["urn"].rsplit("::", 1)[-1], s["id"]) for s in states),
        config={},
        states=states,
    )
    stack = StackHolds(name=name, settings=Settings(SERVER, "k", True, 30.0), view=view)
    _collect(stack, "http://127.0.0.1:3000/api/")
    return stack


LISTED = (
    ListedProject("P1", "one", "2026-01-01", (("E1", "production", True), ("E1b", "dev", False))),
    ListedProject("P2", "copy", "2026-01-02", (("E2", "production", True),)),
    ListedProject("P3", "other", "2026-01-03", (("E3", "production", True),)),
)


def test_duplicates_and_guards_hold_their_ids_and_a_duplicate_its_default_environment():
    a = holds(
        "a",
        res("a", "Project", "one", "P1", {"default_environment_id": "E1"}),
        res("a", "EnvironmentDuplicate", "dev", "E1b"),
        res("a", "ProjectDuplicate", "copy", "P2", {"default_environment_id": "E2"}),
    )
    b = holds("b", res("b", "ProjectGuard", "guard", "P1"), res("b", "Environment", "gone", "E9"))
    report = compare(LISTED, [a, b])
    assert [o["id"] for o in report.unmanaged] == ["P3", "E3"]
    assert report.gone == ({"kind": "environment", "id": "E9", "stack": "b", "resource": "gone"},)
    # The guard holds P1 too; E1 comes with a's Project only, so it is nobody's second hold.
    assert [(o["id"], [h["stack"] for h in o["held_by"]]) for o in report.shared] == [("P1", ["a", "b"])]


def test_a_default_environment_is_covered_but_never_gone_or_shared():
    a = holds("a", res("a", "Project", "one", "P9", {"default_environment_id": "E9"}))
    b = holds("b", res("b", "Project", "three", "P3", {"default_environment_id": "E3"}))
    b2 = holds("c", res("c", "Environment", "three_production", "E3"))
    report = compare(LISTED, [a, b, b2])
    assert [o["id"] for o in report.gone] == ["P9"]  # not E9: a's Project holds it only by its output
    assert report.shared == ()  # E3: c declares it, b's Project only covers it


def test_resources_on_another_server_or_with_a_secret_connection_are_not_compared():
    secret = {SECRET_SIG_KEY: SECRET_SIG, "ciphertext": "x"}
    a = holds(
        "a",
        res("a", "Project", "elsewhere", "P1", inputs={"connection": {"url": "https://other.example"}}),
        res("a", "Project", "hidden", "P2", inputs={"connection": secret}),
        res("a", "Environment", "bad_url", "E2", inputs={"connection": {"url": "not a url"}}),
        res("a", "Project", "here", "P3", inputs={"connection": {"url": SERVER + "/api"}}),
    )
    report = compare(LISTED, [a])
    assert [o["id"] for o in report.unmanaged] == ["P1", "E1", "E1b", "P2", "E2", "E3"]
    assert [o["resource"] for o in report.not_compared] == ["elsewhere", "hidden", "bad_url"]
    assert "not compared" in report.to_text()


def test_generation_reserves_every_stacks_names_and_declares_nothing_held():
    a = holds("a", res("a", "Project", "one", "P1", {"default_environment_id": "E1"}))
    b = holds("b", res("b", "ProjectGuard", "g", "P3"))
    held = generation_held([a, b])
    assert {"P1", "E1", "P3"} <= held.elsewhere
    assert "one" in held.reserved and held.projects == {"P1": "one"}
