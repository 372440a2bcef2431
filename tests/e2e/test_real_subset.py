"""The real tier's e2e subset: two programs and the import generator through the real Pulumi CLI, against `backend`.

`backend` is the emulator by default and a real Dokploy in the real tier (DOKPLOY_URL and
DOKPLOY_API_KEY set; `bash scripts/test-real.sh`). Each program goes through preview, up,
`preview --expect-no-changes`, a change made by hand that `refresh` finds and `up` puts back, an
in-place update and destroy, and every step is checked against the server's own rows.

- examples/quickstart, a copy whose project name comes from its `projectName` config;
- tests/e2e/programs/lookups: look-ups of a project and environment made outside the stack (made
  here through the API first) and the EnvironmentDuplicate/ProjectDuplicate of them;
- `python -m dokploy_pulumi import` of projects made through the API (issue 13): the generated
  program's first `up` only reads, leaves every row as it was, and previews no changes after.

The stack's credentials are DOKPLOY_URL/DOKPLOY_API_KEY in its environment (the recommended way).
Every name carries the run's prefix on a real server; when a test fails, its stack is destroyed
anyway, and the session removes whatever is left with the prefix (see tests/_backend.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from _backend import n
from _pulumi import REPO_ROOT, PulumiStack, PulumiStackFactory

from dokploy_pulumi import DokployClient

QUICKSTART = REPO_ROOT / "examples" / "quickstart"
LOOKUPS = Path(__file__).parent / "programs" / "lookups"
OURS = "pulumi-python:dynamic/dokploy:"

# Each test runs a dozen CLI commands, each up to 240 s on a slow real server in dev mode.
pytestmark = pytest.mark.timeout(1800)


def _stack(pulumi_stack: PulumiStackFactory, program: Path, backend: Any) -> PulumiStack:
    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": backend.url, "DOKPLOY_API_KEY": backend.api_key})
    stack = pulumi_stack(program, env=env)
    return stack


def ops(preview) -> dict[str, str]:
    """The planned step of each of our resources that changes."""
    return {s.name: s.op for s in preview.steps() if s.type.startswith(OURS) and s.op != "same"}


def managed(stack: PulumiStack) -> dict[str, dict[str, Any]]:
    return {r["urn"].split("::")[-1]: r for r in stack.resources() if r["type"].startswith(OURS)}


@contextmanager
def destroyed_on_failure(stack: PulumiStack) -> Iterator[None]:
    """Runs the stack's own destroy when the body fails, then re-raises the failure."""
    try:
        yield
    except BaseException:
        try:
            stack.destroy()
        except Exception as exc:  # the session's cleanup (or the emulator's end) removes the rest
            print(f"destroy after a failed test failed too: {exc}")
        raise


def env_lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.strip())


def test_quickstart_lifecycle(backend, pulumi_stack: PulumiStackFactory):
    stack = _stack(pulumi_stack, QUICKSTART, backend)
    # The example asks for `virtualenv: venv` (a user's setup). Here the program runs with the
    # tests' interpreter ($PULUMI_PYTHON_CMD, set by the harness), which has this checkout installed.
    (stack.program_dir / "Pulumi.yaml").write_text(
        "name: dokploy-quickstart\nruntime: python\ndescription: examples/quickstart, as the real tier runs it\n"
    )
    name = n("quickstart")
    stack.init()
    stack.set_config("projectName", name)

    preview = stack.preview()
    assert ops(preview) == {"app": "create", "staging": "create", "prod": "create"}
    assert [p for p in backend.projects() if p["name"] == name] == []  # preview changes nothing

    with destroyed_on_failure(stack):
        stack.up()
        out = stack.outputs()
        pid = out["project_id"]
        project = backend.get_project(pid)
        assert project["name"] == name and project["description"] == "Managed by Pulumi"
        assert env_lines(project["env"]) == ["LOG_LEVEL=info"]
        staging = backend.get_environment(out["staging_environment_id"])
        assert staging["projectId"] == pid and staging["name"] == "staging" and not staging["isDefault"]
        assert staging["description"] == "Pre-release checks" and env_lines(staging["env"]) == ["DEBUG=1"]
        # "production" was adopted: it is the default environment project.create made.
        assert out["production_environment_id"] == out["default_environment_id"] and out["production_is_default"]
        prod = backend.get_environment(out["production_environment_id"])
        assert prod["isDefault"] and prod["name"] == "production" and env_lines(prod["env"]) == ["LOG_LEVEL=warn"]
        assert prod["description"] == "Production environment"  # not declared: left as the server made it
        assert sorted(e["environmentId"] for e in backend.environments() if e["projectId"] == pid) == sorted(
            [out["staging_environment_id"], out["production_environment_id"]]
        )
        stack.preview(expect_no_changes=True)

        # Changed by hand (in the UI): refresh finds it, up puts the program's values back.
        backend.set_project_fields(pid, description="changed by hand", env="LOG_LEVEL=error\n")
        backend.set_environment_fields(out["staging_environment_id"], description="edited in the UI")
        stack.refresh()
        state = managed(stack)
        assert state["app"]["outputs"]["description"] == "changed by hand"
        assert state["staging"]["outputs"]["description"] == "edited in the UI"
        assert ops(stack.preview()) == {"app": "update", "staging": "update"}
        stack.up()
        project = backend.get_project(pid)
        assert project["description"] == "Managed by Pulumi" and env_lines(project["env"]) == ["LOG_LEVEL=info"]
        assert backend.get_environment(out["staging_environment_id"])["description"] == "Pre-release checks"
        stack.preview(expect_no_changes=True)
        stack.refresh(expect_no_changes=True)

        # An in-place update: a rename keeps the project (and its environments) as they are.
        renamed = n("quickstart-renamed")
        stack.set_config("projectName", renamed)
        assert ops(stack.preview()) == {"app": "update"}
        stack.up()
        assert stack.outputs()["project_id"] == pid and stack.outputs()["project_name"] == renamed
        assert backend.get_project(pid)["name"] == renamed
        assert backend.get_environment(out["staging_environment_id"])["projectId"] == pid
        stack.preview(expect_no_changes=True)

        stack.destroy()
    assert managed(stack) == {}
    assert backend.get_project(pid) is None
    assert backend.get_environment(out["staging_environment_id"]) is None
    assert backend.get_environment(out["production_environment_id"]) is None


def test_lookups_and_duplicates_lifecycle(backend, pulumi_stack: PulumiStackFactory):
    # The project and environment the program looks up are made outside the stack.
    shop_id = backend.create_project(n("shop"))["projectId"]
    with DokployClient(backend.url, backend.api_key) as api:
        staging_id = api.environment.create(shop_id, "staging").environment_id
    backend.set_environment_fields(staging_id, env="FEATURE=on\nTOKEN=stg-secret-99\n")

    stack = _stack(pulumi_stack, LOOKUPS, backend)
    stack.init()
    stack.set_config("shopName", n("shop"))
    stack.set_config("sandboxName", n("shop-sandbox"))

    assert ops(stack.preview()) == {"review": "create", "sandbox": "create"}
    assert [p for p in backend.projects() if p["name"] == n("shop-sandbox")] == []

    with destroyed_on_failure(stack):
        stack.up()
        out = stack.outputs()
        assert out["shop_id"] == shop_id and out["staging_env"] == "[secret]"
        assert stack.outputs(show_secrets=True)["staging_env"] == {"FEATURE": "on", "TOKEN": "stg-secret-99"}
        assert "stg-secret-99" not in json.dumps(stack.export())
        review = backend.get_environment(out["review_id"])
        assert review["projectId"] == shop_id and out["review_project_id"] == shop_id
        assert review["name"] == "review-1" and review["description"] == "copy of staging" and not review["isDefault"]
        # The server copies the source's env into the copy (v0.30.2); v0.26.7 leaves it empty.
        # Copied on every release (on v0.26.7, where the server copies none, by the provider).
        assert env_lines(review["env"]) == ["FEATURE=on", "TOKEN=stg-secret-99"]
        sandbox = backend.get_project(out["sandbox_id"])
        assert sandbox["name"] == n("shop-sandbox") and sandbox["description"] == "sandbox"
        assert out["sandbox_found_id"] == out["sandbox_id"]  # the look-up waited for its create (depends_on)
        sandbox_envs = [e for e in backend.environments() if e["projectId"] == out["sandbox_id"]]
        assert [(e["environmentId"], e["isDefault"]) for e in sandbox_envs] == [
            (out["sandbox_default_environment_id"], True)
        ]
        stack.preview(expect_no_changes=True)

        # Changed by hand: refresh finds it, up puts the program's values back.
        backend.set_environment_fields(out["review_id"], description="edited by hand")
        backend.set_project_fields(out["sandbox_id"], description="edited by hand")
        stack.refresh()
        state = managed(stack)
        assert state["review"]["outputs"]["description"] == "edited by hand"
        assert state["sandbox"]["outputs"]["description"] == "edited by hand"
        assert ops(stack.preview()) == {"review": "update", "sandbox": "update"}
        stack.up()
        assert backend.get_environment(out["review_id"])["description"] == "copy of staging"
        assert backend.get_project(out["sandbox_id"])["description"] == "sandbox"
        stack.preview(expect_no_changes=True)

        # An in-place update: renaming the copy keeps it.
        stack.set_config("reviewName", "review-2")
        assert ops(stack.preview()) == {"review": "update"}
        stack.up()
        assert stack.outputs()["review_id"] == out["review_id"]
        assert backend.get_environment(out["review_id"])["name"] == "review-2"
        stack.preview(expect_no_changes=True)

        stack.destroy()
    assert managed(stack) == {}
    assert backend.get_environment(out["review_id"]) is None
    assert backend.get_project(out["sandbox_id"]) is None
    assert backend.get_project(shop_id) is not None  # looked up, never owned
    assert backend.get_environment(staging_id) is not None


# What a Dokploy UI user leaves: quotes, `#`, a backslash path, a multi-line value, unicode.
IMPORT_ENV = (
    'GREETING="say \\"hi\\" # not a comment"\nWIN=C:\\tmp\nPEM="-----BEGIN KEY-----\nMIIB\n-----END KEY-----"\n'
)


def test_import_adopts_an_existing_server_with_reads_only(backend, pulumi_stack: PulumiStackFactory):
    """`python -m dokploy_pulumi import` on objects made outside Pulumi: the first `up` only reads."""
    shop = n("shop")
    with DokployClient(backend.url, backend.api_key) as api:
        made = api.project.create(shop, description="Main shop", env=IMPORT_ENV)
        api.environment.update(made.environment.environment_id, description="Prod (EU)", env='REGION="eu-1"\n')
        staging = api.environment.create(made.project.project_id, "staging")
        api.environment.update(staging.environment_id, env="# staging only\nURL=https://example.test/?a=1&b=2\n")
        api.environment.create(made.project.project_id, "review-42", description="")
        api.project.create(shop, description="")  # the same name twice
        api.project.create(n("Café ☕"), env="GRÜSSE=héllo wörld ☕\n")
    projects_before = sorted(backend.projects(), key=lambda p: p["projectId"])
    envs_before = sorted(backend.environments(), key=lambda e: e["environmentId"])
    assert len(projects_before) == 3 and len(envs_before) == 5

    stack = _stack(pulumi_stack, Path(__file__).parent / "programs" / "imported", backend)
    stack.init()
    backend.reset_requests()
    select = ["--name", shop, "--name", n("Café ☕")]
    gen = subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "import", *select, "--output", "__main__.py", "--apply-config"],
        cwd=stack.program_dir,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert gen.returncode == 0, gen.stderr
    assert {r.method for r in backend.requests} == {"GET"}
    program = (stack.program_dir / "__main__.py").read_text()
    assert program.count("= Project(") == 3 and program.count("= Environment(") == 5
    for secret in ("MIIB", "eu-1", "example.test", "héllo", backend.api_key):
        assert secret not in program + gen.stdout + gen.stderr

    with destroyed_on_failure(stack):
        backend.reset_requests()
        stack.up()
        assert backend.requests and {r.method for r in backend.requests} == {"GET"}, backend.requests
        assert sorted(backend.projects(), key=lambda p: p["projectId"]) == projects_before  # every column
        assert sorted(backend.environments(), key=lambda e: e["environmentId"]) == envs_before
        stack.preview(expect_no_changes=True)
        managed_ids = {r["id"] for r in managed(stack).values()}
        assert managed_ids == {p["projectId"] for p in projects_before} | {e["environmentId"] for e in envs_before}
        stack.destroy()
    assert backend.projects() == []
