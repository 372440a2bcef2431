"""`python -m dokploy_pulumi import` at an estate's size and re-run, through the real CLI, against `backend`.

`backend` is the emulator by default and a real Dokploy in the real tier (DOKPLOY_URL and
DOKPLOY_API_KEY set; `bash scripts/test-real.sh`). Issue 19:

- case 4: more env than the 128 KiB the Python language host can pass to a program in
  PULUMI_CONFIG (a program with one config value per env never starts): the generated program seals
  it into one file, its first `up` only reads, leaves every row byte for byte, and previews no change;
- case 5: a re-run after changes made in the UI (a project deleted, an environment renamed, a
  project and an environment added) keeps every name the stack holds, and the `up` after it renames
  and deletes nothing that exists.

On a real server the scale is modest (40 projects x 4 KB) and the import selects the test's own
projects with `--name` (never `--all` on a shared server); every name carries the run's prefix.
The stacks are not destroyed at the end (destroy is test_real_subset's subject): the backend
removes the test's projects when it ends, and a failing test's stack is destroyed anyway.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _backend import n
from _pulumi import PulumiStack, PulumiStackFactory
from test_import_e2e import _incompressible_env, _plain
from test_real_subset import OURS, _stack, destroyed_on_failure, managed

from dokploy_pulumi import DokployClient
from dokploy_pulumi import _import as imp

PROGRAM = Path(__file__).parent / "programs" / "imported"

# Each test runs several CLI commands over ~80 resources, each up to COMMAND_TIMEOUT_REAL on a slow real server.
pytestmark = pytest.mark.timeout(2400)


def _import(stack: PulumiStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "import", *args],
        cwd=stack.program_dir,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _rows(backend: Any) -> dict[str, dict[str, Any]]:
    """Every row of the test's projects and environments, by id.

    `project.all` lists a project's environments in no fixed order (a real server's query has no
    ORDER BY): they are sorted, so that only a changed row differs.
    """
    projects = {
        p["projectId"]: {**p, "environments": sorted(p.get("environments") or [], key=lambda e: e["environmentId"])}
        for p in backend.projects()
    }
    return projects | {e["environmentId"]: e for e in backend.environments()}


def test_import_past_the_config_limit_adopts_with_reads_only(backend, pulumi_stack: PulumiStackFactory):
    rng = random.Random(4)
    envs: dict[str, str] = {}
    with DokployClient(backend.url, backend.api_key, timeout=120.0) as api:
        for i in range(40):
            env = _incompressible_env(rng, 4096)
            made = api.project.create(n(f"estate-{i:02d}"), description=f"project {i}", env=env)
            envs[made.project.project_id] = env
    assert sum(len(e) for e in envs.values()) > 128 * 1024  # more than PULUMI_CONFIG can carry
    rows_before = _rows(backend)
    assert len(rows_before) == 80

    stack = _stack(pulumi_stack, PROGRAM, backend)
    stack.init()
    select = [arg for i in range(40) for arg in ("--name", n(f"estate-{i:02d}"))]
    backend.reset_requests()
    gen = _import(stack, *select, "--output", "__main__.py", "--apply-config")
    assert gen.returncode == 0, gen.stderr
    assert {r.method for r in backend.requests} == {"GET"}
    assert "Wrote __main__.py: 40 project(s), 40 environment(s)" in gen.stderr
    config = json.loads(stack.run("config", "--json").stdout)
    assert set(config) == {"dokployImport:envKey"}  # the connection is in the environment here
    written = (stack.program_dir / "__main__.py").read_text() + (stack.program_dir / "dokploy-env.sealed").read_text()
    for env in envs.values():
        assert env.splitlines()[0].split("=", 1)[1] not in written + gen.stdout + gen.stderr

    with destroyed_on_failure(stack):
        backend.reset_requests()
        stack.up()
        assert backend.requests and {r.method for r in backend.requests} == {"GET"}
        assert _rows(backend) == rows_before  # every column, env included, byte for byte
        stack.preview(expect_no_changes=True)
        state = json.dumps(stack.export())
        assert not any(env.splitlines()[1].split("=", 1)[1] in state for env in envs.values())
        outputs = {r["id"]: r["outputs"] for r in stack.resources(show_secrets=True) if r["type"] == OURS + "Project"}
        assert {pid: _plain(out["env"]) for pid, out in outputs.items()} == {
            pid: dict(line.split("=", 1) for line in env.splitlines()) for pid, env in envs.items()
        }


def test_rerun_after_ui_changes_keeps_names_and_up_renames_and_deletes_nothing(
    backend, pulumi_stack: PulumiStackFactory
):
    blog, shop = n("blog"), n("shop")
    with DokployClient(backend.url, backend.api_key, timeout=120.0) as api:
        blog1 = api.project.create(blog, env="WHICH=blog-1\n").project.project_id
        blog2 = api.project.create(blog, env="WHICH=blog-2\n").project.project_id
        shop_id = api.project.create(shop, env="WHICH=shop\n").project.project_id
        prod = api.environment.create(shop_id, "prod", description="the live one").environment_id
        api.environment.update(prod, env="WHICH=shop-prod\n")
        api.environment.create(shop_id, "staging")

    stack = _stack(pulumi_stack, PROGRAM, backend)
    stack.init()
    first = _import(stack, "--name", blog, "--name", shop, "--output", "__main__.py", "--apply-config")
    assert first.returncode == 0, first.stderr

    with destroyed_on_failure(stack):
        stack.up()
        before = {name: r["id"] for name, r in managed(stack).items()}
        assert len(before) == 8 and {blog1, blog2, prod} <= set(before.values())
        name_of = {id_: name for name, id_ in before.items()}

        # In the UI: the first blog is deleted, prod renamed, a new "prod" and a third blog made.
        with DokployClient(backend.url, backend.api_key, timeout=120.0) as api:
            api.project.remove(blog1)
            api.environment.update(prod, name="live")
            new_prod = api.environment.create(shop_id, "prod").environment_id
            api.environment.update(new_prod, env="WHICH=new-prod\n")
            blog3 = api.project.create(blog, env="WHICH=blog-3\n").project.project_id
        rows_before = _rows(backend)

        again = _import(stack, "--name", blog, "--name", shop, "--output", "__main__.py", "--force")
        assert again.returncode == 0, again.stderr
        assert f"({blog1}) is in stack" in again.stderr and "no longer on the server" in again.stderr
        declared = {
            id_: logical for _cls, logical, id_ in imp.declared_in((stack.program_dir / "__main__.py").read_text())
        }
        for id_, logical in name_of.items():
            if id_ in rows_before:
                assert declared[id_] == logical  # the same name for the same object
        assert blog1 not in declared
        assert declared[blog3] not in before and declared[new_prod] not in before  # no held name reused

        backend.reset_requests()
        stack.up()
        # Nothing that exists is renamed or deleted: every row is as it was. The only writes are the
        # renamed environment's name, which it already has (its state still said "prod"), and what
        # `up` sends to the deleted project's objects on their way out of the state.
        assert _rows(backend) == rows_before
        for r in backend.requests:
            if r.method != "GET":
                body = r.body if isinstance(r.body, dict) else {}
                target = body.get("environmentId") or body.get("projectId")
                assert target not in rows_before or body == {"environmentId": prod, "name": "live"}, (r.procedure, body)
        after = {name: r["id"] for name, r in managed(stack).items()}
        assert {name: id_ for name, id_ in before.items() if id_ in rows_before}.items() <= after.items()
        assert after[declared[blog3]] == blog3 and after[declared[new_prod]] == new_prod
        assert blog1 not in after.values()
        stack.preview(expect_no_changes=True)
        state = {r["id"]: r["outputs"] for r in stack.resources(show_secrets=True) if r["type"].startswith(OURS)}
        assert _plain(state[prod]["env"]) == {"WHICH": "shop-prod"}
        assert _plain(state[new_prod]["env"]) == {"WHICH": "new-prod"}
