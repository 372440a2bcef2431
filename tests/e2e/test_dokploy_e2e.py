"""Real Pulumi programs, run by the real Pulumi CLI, against the emulator over HTTP.

The URL comes from stack config (`dokploy:url`) and the API key from DOKPLOY_API_KEY: the engine
stores the whole stack config as the inputs of the default `pulumi-python` provider, so a key kept in
config would enter state (encrypted). The config-key path is tested separately below.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "basic"
PROJECT_T = "pulumi-python:dynamic/dokploy:Project"
ENV_T = "pulumi-python:dynamic/dokploy:Environment"
API_KEY = "e2e-api-key-0123456789abcdef"


@pytest.fixture
def emu():
    with DokployEmulator(api_key=API_KEY) as e:
        yield e


def _clean_env(**extra: str) -> dict:
    env: dict = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update(extra)
    return env


@pytest.fixture
def stack(emu: DokployEmulator, pulumi_stack: PulumiStackFactory) -> PulumiStack:
    s = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY))
    s.init()
    s.set_config("dokploy:url", emu.url)
    return s


@pytest.fixture
def config_key_stack(emu: DokployEmulator, pulumi_stack: PulumiStackFactory) -> PulumiStack:
    """URL and key both from stack config only; no DOKPLOY_* variable at all."""
    s = pulumi_stack(PROGRAM, env=_clean_env())
    s.init()
    s.set_config("dokploy:url", emu.url)
    s.set_config("dokploy:apiKey", API_KEY, secret=True)
    return s


def ops(preview) -> dict[str, str]:
    """The planned step of each of our resources that changes (`preview --json` omits "same")."""
    return {step.name: step.op for step in preview.steps() if step.type in (PROJECT_T, ENV_T) and step.op != "same"}


def managed(stack: PulumiStack) -> dict[str, dict]:
    return {r["urn"].split("::")[-1]: r for r in stack.resources() if r["type"] in (PROJECT_T, ENV_T)}


def test_fresh_stack_preview_up_then_no_changes(stack: PulumiStack, emu: DokployEmulator):
    preview = stack.preview()
    assert ops(preview) == {"app": "create", "other": "create", "staging": "create", "prod": "create"}
    assert emu.projects() == []  # preview makes no request that changes anything
    stack.up()
    out = stack.outputs()
    assert {p["name"] for p in emu.projects()} == {"e2e-app", "e2e-other"}
    staging = emu.get_environment(out["staging_id"])
    assert staging["projectId"] == out["app_id"] and staging["env"].strip() == "DEBUG=1"
    # "production" was adopted, not created: it is the project's default environment.
    assert out["prod_id"] == out["default_environment_id"] and out["prod_is_default"] is True
    assert emu.get_environment(out["prod_id"])["env"].strip() == "LOG_LEVEL=warn"
    assert len([e for e in emu.environments() if e["projectId"] == out["app_id"]]) == 2
    stack.preview(expect_no_changes=True)


def test_updates_in_place_replace_and_pending_project_update(stack: PulumiStack, emu: DokployEmulator):
    stack.up()
    before = stack.outputs()
    stack.set_config("appDescription", "now described")
    stack.set_config("logLevel", "debug")
    preview = stack.preview()
    # A pending Project update keeps its id known: its Environments show no change at all.
    assert ops(preview) == {"app": "update"}
    stack.up()
    row = emu.get_project(before["app_id"])
    assert row["description"] == "now described" and "LOG_LEVEL=debug" in row["env"]
    stack.set_config("stagingDescription", "pre-release")
    stack.set_config("debug", "0")
    assert ops(stack.preview())["staging"] == "update"
    stack.up()
    assert emu.get_environment(before["staging_id"])["description"] == "pre-release"
    # moving staging to another project replaces it
    stack.set_config("stagingIn", "other")
    assert ops(stack.preview())["staging"] == "replace"
    stack.up()
    after = stack.outputs()
    assert after["staging_id"] != before["staging_id"]
    assert emu.get_environment(before["staging_id"]) is None
    assert emu.get_environment(after["staging_id"])["projectId"] == after["other_id"]
    stack.preview(expect_no_changes=True)


def test_drift_is_found_by_refresh_and_fixed_by_up(stack: PulumiStack, emu: DokployEmulator):
    stack.up()
    out = stack.outputs()
    emu.set_project_fields(out["app_id"], description="changed by hand", env="LOG_LEVEL=error\n")
    stack.refresh()
    app = managed(stack)["app"]
    assert app["outputs"]["description"] == "changed by hand"
    preview = stack.preview()
    assert ops(preview)["app"] == "update"
    stack.up()
    row = emu.get_project(out["app_id"])
    assert row["description"] in ("", None) and "LOG_LEVEL=info" in row["env"]
    stack.preview(expect_no_changes=True)
    stack.refresh(expect_no_changes=True)


def test_object_deleted_outside_pulumi_leaves_state_on_refresh(stack: PulumiStack, emu: DokployEmulator):
    stack.up()
    out = stack.outputs()
    emu.delete_environment(out["staging_id"])
    stack.refresh()
    assert "staging" not in managed(stack)
    assert ops(stack.preview())["staging"] == "create"
    stack.up()
    assert emu.get_environment(stack.outputs()["staging_id"]) is not None


def test_default_environment_adopted_updated_and_restored(stack: PulumiStack, emu: DokployEmulator):
    stack.up()
    out = stack.outputs()
    stack.set_config("prodDescription", "live traffic")
    stack.set_config("prodLogLevel", "error")
    assert ops(stack.preview())["prod"] == "update"
    stack.up()
    row = emu.get_environment(out["prod_id"])
    assert row["description"] == "live traffic" and row["env"].strip() == "LOG_LEVEL=error"
    assert row["name"] == "production" and row["isDefault"]
    # Removing it from the program "destroys" it: restored to its defaults and forgotten.
    stack.set_config("withProd", "false")
    assert ops(stack.preview())["prod"] == "delete"
    stack.up()
    row = emu.get_environment(out["prod_id"])
    assert row is not None and row["description"] == "Production environment" and row["env"] == ""
    assert "prod" not in managed(stack)


def test_destroy_leaves_nothing_the_stack_created(stack: PulumiStack, emu: DokployEmulator):
    unrelated = emu.create_project("not ours")
    stack.up()
    stack.destroy()
    remaining = emu.projects()
    assert [p["name"] for p in remaining] == ["not ours"]
    assert {e["projectId"] for e in emu.environments()} == {unrelated["projectId"]}
    assert managed(stack) == {}


def test_destroy_refuses_project_with_services_and_keeps_state(stack: PulumiStack, emu: DokployEmulator):
    stack.up()
    out = stack.outputs()
    svc = emu.add_service(out["default_environment_id"], type="postgres", name="db")
    result = stack.destroy(expect_failure=True)
    text = result.output
    assert "postgres 'db'" in text and svc in text and "force_destroy" in text
    # What users read: the resource, the operation and the reason on one line, no Python traceback.
    assert f"Project 'e2e-app' ({out['app_id']}): delete failed: it still holds" in text
    assert "Traceback" not in text and "__main__.py" not in text
    assert emu.get_project(out["app_id"]) is not None
    assert "app" in managed(stack)
    # Opting in lets it go.
    stack.set_config("forceDestroy", "true")
    stack.up()
    stack.destroy()
    assert emu.get_project(out["app_id"]) is None


def test_exports_hold_no_credential_and_env_only_encrypted(stack: PulumiStack, emu: DokployEmulator):
    stack.set_config("secretToken", "tok-very-secret-e2e-42", secret=True)
    stack.up()
    plain = json.dumps(stack.export())
    shown = json.dumps(stack.export(show_secrets=True))
    for text in (plain, shown):
        assert API_KEY not in text and "apiKey" not in text
    assert "tok-very-secret-e2e-42" not in plain and "tok-very-secret-e2e-42" in shown
    assert "LOG_LEVEL" not in plain and "DEBUG" not in plain  # env only as ciphertext
    assert "LOG_LEVEL" in shown
    # nothing else is needlessly secret: names and descriptions are plain
    assert '"name": "e2e-app"' in plain
    stack.refresh()  # refresh rewrites inputs: still encrypted afterwards
    assert "tok-very-secret-e2e-42" not in json.dumps(stack.export())
    assert "LOG_LEVEL" not in json.dumps(stack.export())


def _rotate(emu: DokployEmulator, stack: PulumiStack) -> str:
    new_key = "e2e-rotated-key-fedcba9876543210"
    emu.add_api_key(new_key, organization_id=emu.get_project(stack.outputs()["app_id"])["organizationId"])
    emu.rate_limit_after(0)  # the old key stops working
    return new_key


def test_rotated_key_still_refreshes_and_destroys(stack: PulumiStack, emu: DokployEmulator):
    stack.up()
    new_key = _rotate(emu, stack)
    stack.env["DOKPLOY_API_KEY"] = new_key
    stack.refresh()
    stack.destroy()
    assert emu.projects() == []


def test_config_key_works_and_stays_out_of_our_resources(config_key_stack: PulumiStack, emu: DokployEmulator):
    stack = config_key_stack
    stack.up()
    plain = stack.export()
    assert API_KEY not in json.dumps(plain)
    shown = stack.resources(show_secrets=True)
    holders = [r["type"] for r in shown if API_KEY in json.dumps(r)]
    # Only the engine's own default provider holds it (the engine stores the whole stack config as
    # its inputs, secrets encrypted); none of our resources, their inputs, outputs or blob.
    assert holders == ["pulumi:providers:pulumi-python"]
    # A rotated config key: plain refresh would configure the provider from that stored state, so
    # refresh and destroy run the program to pick up today's config.
    new_key = _rotate(emu, stack)
    stack.set_config("dokploy:apiKey", new_key, secret=True)
    failed = stack.refresh(expect_failure=True)
    # The stored (old) key never worked in this provider process: "check the key", not "rate-limited".
    assert "failed with 401: Unauthorized" in failed.output
    assert "Check the API key (config dokploy:apiKey or DOKPLOY_API_KEY)" in failed.output
    assert "rate-limited" not in failed.output
    stack.run("refresh", "--yes", "--run-program")
    stack.run("destroy", "--yes", "--run-program")
    assert emu.projects() == []


def test_import_and_get_outcomes_with_the_pinned_sdk(stack: PulumiStack, emu: DokployEmulator):
    made = emu.create_project("made elsewhere", description="by hand")
    pid = made["projectId"]
    # Pulumi's import_ does not work for dynamic providers: the engine sends no __provider.
    stack.set_config("importId", pid)
    failed = stack.up(expect_failure=True)
    assert "KeyError: '__provider'" in failed.output
    assert emu.get_project(pid)["name"] == "made elsewhere"  # untouched
    # A get-style read works with the pinned SDK: it reads the project and changes nothing.
    stack.set_config("importId", "")
    stack.set_config("getId", pid)
    stack.up()
    assert stack.outputs()["got_name"] == "made elsewhere"
    assert emu.get_project(pid)["name"] == "made elsewhere"
    got = next(r for r in stack.resources() if r["urn"].endswith("::got"))
    assert got.get("external") is True  # read, not managed: destroy leaves it alone
    stack.destroy()
    assert emu.get_project(pid) is not None
