"""What `drift` counts as held, from the state's resources (no server, no CLI: `_drift.compare`).

The e2e test (tests/e2e/test_drift_e2e.py) covers Project and Environment through the real CLI;
here the other resource types, their outputs, and resources with their own connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dokploy_pulumi import _import as imp
from dokploy_pulumi import _sealed
from dokploy_pulumi.__main__ import _write_adoption
from dokploy_pulumi._connection import Settings
from dokploy_pulumi._drift import (
    DriftFailed,
    StackHolds,
    _collect,
    compare,
    generation_held,
    read_stacks,
    refuse_dropping_held,
)
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
        config={"dokploy:apiKey": "k", "team:apiKey": "another key"},
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


def test_resources_on_another_server_or_key_or_with_a_secret_connection_are_not_compared():
    secret = {SECRET_SIG_KEY: SECRET_SIG, "ciphertext": "x"}
    a = holds(
        "a",
        res("a", "Project", "elsewhere", "P1", inputs={"connection": {"url": "https://other.example"}}),
        res("a", "Project", "hidden", "P2", inputs={"connection": secret}),
        res("a", "Environment", "bad_url", "E2", inputs={"connection": {"url": "not a url"}}),
        res(
            "a",
            "Project",
            "here",
            "P3",
            inputs={"connection": {"url": SERVER + "/api", "api_key_config": "dokploy:apiKey"}},
        ),
        # Same server, another key (another user or organization: project.all would not list its objects).
        res(
            "a",
            "Environment",
            "other_key",
            "E3",
            inputs={"connection": {"url": SERVER, "api_key_config": "team:apiKey"}},
        ),
        res(
            "a", "Environment", "no_key", "E1b", inputs={"connection": {"url": SERVER, "api_key_env": "NO_SUCH_VAR_X"}}
        ),
    )
    report = compare(LISTED, [a])
    assert [o["id"] for o in report.unmanaged] == ["P1", "E1", "E1b", "P2", "E2", "E3"]
    assert report.gone == ()
    assert [o["resource"] for o in report.not_compared] == ["elsewhere", "hidden", "bad_url", "other_key", "no_key"]
    assert "not compared" in report.to_text()


def test_generation_reserves_every_stacks_names_and_declares_nothing_held():
    a = holds("a", res("a", "Project", "one", "P1", {"default_environment_id": "E1"}))
    b = holds("b", res("b", "ProjectGuard", "g", "P3"))
    held = generation_held([a, b])
    assert {"P1", "E1", "P3"} <= held.elsewhere
    assert "one" in held.reserved and held.projects == {"P1": "one"}


def test_text_shows_hostile_names_on_one_inert_line_each():
    # The UI takes any text: a newline could forge a "No drift" line, an escape sequence drive the terminal.
    listed = (ListedProject("P1", "x\nNo drift: \x1b[2J", "2026-01-01", (("E1", "e\"\r\n'v", False),)),)
    text = compare(listed, [holds("a")]).to_text()
    assert "\x1b" not in text and "\r" not in text
    assert text.splitlines()[1:] == [
        "Unmanaged (on the server, held by no stack): 2",
        "  project     x\\nNo drift: \\x1b[2J (P1)",
        "  environment x\\nNo drift: \\x1b[2J / e\"\\r\\n'v (E1)",
    ]


def test_an_external_resource_holds_nothing():
    # `Project(..., opts=ResourceOptions(id=...))` only reads its object: the state marks it external.
    external = {**res("a", "Project", "looked_up", "P1", {"default_environment_id": "E1"}), "external": True}
    report = compare(LISTED, [holds("a", external)])
    assert [o["id"] for o in report.unmanaged] == ["P1", "E1", "E1b", "P2", "E2", "P3", "E3"]


ADOPTED = 'blog = Project(\n    "blog",\n    ProjectArgs(\n        name="blog",\n        adopt_id="P1",\n    ),\n)\n'


def test_generate_refuses_to_write_over_a_program_whose_objects_a_stack_holds(tmp_path: Path):
    # The second `--generate FILE --force` after a stack adopted FILE: the new file would drop what
    # that stack holds, and its next `pulumi up` would delete those objects.
    adopted = holds("blog", res("blog", "Project", "blog", "P1", {"default_environment_id": "E1"}))
    with pytest.raises(DriftFailed) as failed:
        refuse_dropping_held(ADOPTED, tmp_path / "x.py", [holds("a"), adopted])
    assert "1 object(s) a compared stack holds: blog (stack blog)" in str(failed.value)
    # Not adopted yet (no stack holds P1): written again, P1 keeps the file's name.
    refuse_dropping_held(ADOPTED, tmp_path / "x.py", [holds("a")])
    assert generation_held([holds("a")], ADOPTED.replace('"blog"', '"blog_kept"')).projects == {"P1": "blog_kept"}


class FakeCLI:
    """`read_stack`'s view of the pulumi CLI, for a state written here."""

    def __init__(self, deployment: dict[str, Any], cwd: Path, stack: str | None = None, key: str = "k" * 32) -> None:
        self.stack, self.cwd, self.deployment, self.key = stack, cwd, deployment, key
        self.env = {"PATH": str(cwd)}  # read_stack looks for `pulumi` on it

    def stack_name(self) -> str:
        return "s"

    def export(self) -> dict[str, Any]:
        return {"deployment": self.deployment}

    def config(self) -> dict[str, str]:
        return {"dokploy:url": SERVER, "dokploy:apiKey": self.key}

    def config_get(self, key: str) -> str | None:
        return self.config().get(key)


def project_folder(path: Path) -> None:
    """A Pulumi project folder with a `pulumi` on FakeCLI's PATH, as `read_stack` checks for."""
    (path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (path / "pulumi").write_text("#!/bin/sh\n")
    (path / "pulumi").chmod(0o755)


def test_a_stack_with_pending_operations_is_an_error(tmp_path: Path):
    project_folder(tmp_path)
    creating = res("s", "Project", "blog", "")
    deployment = {"resources": [], "pending_operations": [{"resource": creating, "type": "creating"}]}
    with pytest.raises(DriftFailed) as failed:
        read_stacks(["s"], lambda stack, cwd: FakeCLI(deployment, tmp_path, stack))
    assert "stack s has 1 pending operation(s) from an interrupted update (creating blog)" in str(failed.value)
    assert "recover --stack s" in str(failed.value)
    deployment["pending_operations"] = []
    assert read_stacks(["s"], lambda stack, cwd: FakeCLI(deployment, tmp_path, stack))[0].holds == []


def test_one_stack_named_twice_is_compared_once(tmp_path: Path):
    # "a" and "organization/project/a" are one stack: it must not share its objects with itself.
    project_folder(tmp_path)
    deployment = {"resources": [res("a", "Project", "blog", "P1", {"default_environment_id": "E1"})]}
    stacks = read_stacks(["a", "organization/p/a"], lambda stack, cwd: FakeCLI(deployment, tmp_path, stack))
    assert [s.name for s in stacks] == ["a"]
    assert compare(LISTED, stacks).shared == ()


def test_generate_beside_another_programs_sealed_env_leaves_it_alone(tmp_path: Path):
    # An `import` program's folder: its sealed file holds entries under that stack's key. A new
    # file beside it, even for objects with no env, would have resealed it under a new key: empty.
    key = _sealed.new_key()
    sealed = tmp_path / imp.SEALED_FILE
    sealed.write_text(_sealed.seal({"blog_env": "TOKEN=x\n"}, key).render())
    before = sealed.read_text()
    env = imp.EnvironmentSnapshot("E1", "production", None, "", True, None, 0)
    project = imp.ProjectSnapshot("P1", "new", None, "", "2026-01-01", (env,))
    inventory = imp.Inventory(listed=(LISTED[0],), selected=(project,))
    with pytest.raises(DriftFailed) as failed:
        _write_adoption(inventory, imp.Held(), tmp_path / "drift.py", SERVER, ["drift"], True)
    assert "holds 1 sealed env entries other code opens (blog_env)" in str(failed.value)
    assert sealed.read_text() == before and not (tmp_path / "drift.py").exists()


def test_an_object_two_resources_of_one_stack_hold_is_shared_but_not_a_project_and_its_guard():
    a = holds(
        "a",
        res("a", "Project", "one", "P1", {"default_environment_id": "E1"}),
        res("a", "ProjectGuard", "one_guard", "P1"),
        res("a", "Environment", "dev", "E1b"),
        res("a", "Environment", "dev_again", "E1b"),  # adopt_id of the same environment, twice
    )
    report = compare(LISTED, [a])
    assert [(o["id"], o["held_by"]) for o in report.shared] == [
        ("E1b", [{"stack": "a", "resource": "dev"}, {"stack": "a", "resource": "dev_again"}])
    ]


def test_stacks_with_different_api_keys_for_one_server_are_an_error(tmp_path: Path):
    # Another key may be another organization's: project.all would not list its stacks' objects.
    project_folder(tmp_path)
    deployment: dict[str, Any] = {"resources": []}
    keys = {"a": "a" * 32, "b": "b" * 32, "c": "a" * 32}
    with pytest.raises(DriftFailed) as failed:
        read_stacks(["a", "b", "c"], lambda stack, cwd: FakeCLI(deployment, tmp_path, stack, keys[stack]))
    assert "the stacks use 2 different API keys for http://127.0.0.1:3000 (stacks by key: a, c; b)" in str(failed.value)
    assert "a" * 32 not in str(failed.value) and "b" * 32 not in str(failed.value)
