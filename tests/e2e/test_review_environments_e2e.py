"""examples/review-environments end to end: the platform stack with the real CLI, review.py (the
Automation API, which runs the same CLI) for the PRs, all against the emulator.

review.py runs as CI would run it: a subprocess with the environment of the platform stack's
isolated CLI (its file backend, private PULUMI_HOME, passphrase, PYTHONPATH, PULUMI_PYTHON_CMD and
the CLI's folder first on PATH, from tests/e2e/_pulumi.py), so both stacks share one backend and
the StackReference resolves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

import pytest
from _postgres import postgres_blobs
from _pulumi import REPO_ROOT, PulumiStack, PulumiStackFactory

from dokploy_pulumi._dotenv import parse_env as _parse_env
from dokploy_pulumi.testing import DokployEmulator, RecordedRequest

EXAMPLE = REPO_ROOT / "examples" / "review-environments"
REVIEW = EXAMPLE / "review.py"
API_KEY = "e2e-review-envs-key-0123456789"
STAGING_ENV = {"LOG_LEVEL": "debug", "DATABASE_URL": "postgres://staging-db:5432/shop"}
REVIEW_TIMEOUT = 240.0
LIST_TIMEOUT = 60.0


def parse_env(text: str) -> dict[str, str]:
    """What Dokploy's services see of env text (Node's dotenv, ported)."""
    return _parse_env(text)


def mutations(requests: list[RecordedRequest]) -> list[tuple[str, Any]]:
    """(procedure, id it acted on) of every POST, in order: what changed on the server."""
    found = []
    for r in requests:
        if r.method == "POST":
            body = r.body if isinstance(r.body, dict) else {}
            found.append((r.procedure, body.get("environmentId") or body.get("projectId")))
    return found


class Review:
    """Runs examples/review-environments/review.py like a CI job does."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd

    def __call__(self, *args: str, timeout: float = REVIEW_TIMEOUT) -> subprocess.CompletedProcess:
        # A session of its own: on a timeout the CLI processes review.py started (a hung
        # `pulumi stack ls`) go with it instead of outliving the test.
        with subprocess.Popen(
            [sys.executable, str(REVIEW), *args],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        ) as child:
            try:
                stdout, stderr = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.communicate()
                raise
        proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
        assert proc.returncode == 0, (
            f"review.py {' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
        return proc

    def list(self) -> list[dict[str, Any]]:
        # A hang (Pulumi's PostgreSQL backend deadlocks `stack ls` without review.py's
        # workaround) fails here, in a minute, instead of stalling CI for REVIEW_TIMEOUT.
        return json.loads(self("list", "--json", timeout=LIST_TIMEOUT).stdout)


def up_platform(
    pulumi_stack: PulumiStackFactory, emu: DokployEmulator, backend: Optional[str] = None
) -> tuple[PulumiStack, dict[str, Any], dict[str, str]]:
    """The platform stack up on `backend` (default: the fixture's file backend), its outputs, and
    the environment review.py then runs with: the platform CLI's, so both share one backend."""
    env: dict[str, Optional[str]] = {k: None for k in os.environ if k.startswith(("DOKPLOY_", "REVIEW_"))}
    env.update({"DOKPLOY_URL": emu.url, "DOKPLOY_API_KEY": API_KEY})
    if backend:
        env["PULUMI_BACKEND_URL"] = backend
    platform = pulumi_stack(EXAMPLE / "platform", env=env, stack="e2e")
    platform.init()
    platform.set_config("projectName", "shop")
    platform.set_config("stagingEnv", json.dumps(STAGING_ENV), secret=True)
    platform.up()
    outputs = platform.outputs()
    assert outputs["staging_env"] == "[secret]"
    review_env = dict(platform.env)
    review_env["REVIEW_PLATFORM_STACK"] = "organization/dokploy-platform/e2e"
    return platform, outputs, review_env


def assert_state_holds_no_secrets(review_env: dict[str, str], ids: list[str], clear_values: list[str]) -> None:
    """The backend holds the review stacks (each of `ids`), never the API key nor a variable's
    value in clear."""
    url = review_env["PULUMI_BACKEND_URL"]
    if url.startswith("postgres://"):
        texts = postgres_blobs(url)
    else:
        state_dir = Path(url.removeprefix("file://"))
        texts = [f.read_text(errors="replace") for f in state_dir.rglob("*") if f.is_file()]
    for env_id in ids:
        assert any(env_id in t for t in texts), f"no state in the backend holds {env_id}"
    for clear in (API_KEY, STAGING_ENV["DATABASE_URL"], *clear_values):
        assert not any(clear in t for t in texts), f"{clear!r} is in the state in clear"


# About 24 CLI-driving processes in sequence: ~3 minutes on 2 idle cores, nearer 5 when the
# machine is busy; the limit only keeps a loaded CI runner from failing it for time alone.
@pytest.mark.timeout(900)
def test_review_environments_up_push_down_list(pulumi_stack: PulumiStackFactory, tmp_path: Path):
    with DokployEmulator(api_key=API_KEY) as emu:
        # -- the platform stack: a normal program, run by the CLI ----------------------------
        platform, pout, review_env = up_platform(pulumi_stack, emu)
        project_id, staging_id = pout["project_id"], pout["staging_environment_id"]
        project_before = emu.get_project(project_id)
        staging_before = emu.get_environment(staging_id)
        assert parse_env(staging_before["env"]) == STAGING_ENV
        envs_before = {e["environmentId"] for e in emu.environments()}
        assert envs_before == {staging_id, _default_env_id(emu, project_id)}

        # The platform CLI's isolation, which review.py inherits: nothing outside tmp_path.
        assert review_env["PULUMI_BACKEND_URL"].startswith(f"file://{tmp_path}/")
        assert review_env["PULUMI_HOME"].startswith(str(tmp_path))
        assert "PULUMI_ACCESS_TOKEN" not in review_env
        review = Review(review_env, tmp_path)

        assert review.list() == []
        assert review("list").stdout.strip() == "no review environments"

        def expected_env(pr: int, url: str, sha: str) -> dict[str, str]:
            return {**STAGING_ENV, "PR_NUMBER": str(pr), "PREVIEW_URL": url, "GIT_SHA": sha}

        # -- PR 101 opened -------------------------------------------------------------------
        emu.reset_requests()
        url101 = "https://pr-101.preview.test"
        out = review("up", "101", "--url", url101, "--set", "GIT_SHA=aaa111")
        listed = review.list()
        rows = [(r["pr"], r["environment_name"], r["preview_url"]) for r in listed]
        assert rows == [(101, "pr-101", url101)]
        env101 = listed[0]["environment_id"]
        assert f"PR #101: review environment pr-101 created (environment id {env101})" in out.stdout
        row = emu.get_environment(env101)
        assert row["name"] == "pr-101" and row["projectId"] == project_id and row["isDefault"] is False
        assert row["description"] == "Review environment of pull request #101 (review.py)"
        assert parse_env(row["env"]) == expected_env(101, url101, "aaa111")
        # Created as a copy of the staging environment (then its env set), nothing else changed.
        assert mutations(emu.requests) == [
            ("environment.duplicate", staging_id),
            ("environment.update", env101),
        ]

        # -- PR 102 opened -------------------------------------------------------------------
        url102 = "https://pr-102.preview.test"
        out = review("up", "102", "--url", url102, "--set", "GIT_SHA=bbb222")
        listed = review.list()
        assert [(r["pr"], r["environment_name"], r["preview_url"]) for r in listed] == [
            (101, "pr-101", url101),
            (102, "pr-102", url102),
        ]
        assert listed[0]["environment_id"] == env101
        env102 = listed[1]["environment_id"]
        assert f"PR #102: review environment pr-102 created (environment id {env102})" in out.stdout
        assert env102 not in (env101, staging_id)
        assert parse_env(emu.get_environment(env102)["env"]) == expected_env(102, url102, "bbb222")
        table = review("list").stdout
        assert table.splitlines()[0].split() == ["PR", "ENVIRONMENT", "ENVIRONMENT", "ID", "PREVIEW", "URL"]
        assert f"101  pr-101       {env101}  {url101}" in table and f"{env102}  {url102}" in table

        # -- PR 101 pushed again: a changed override is an in-place update --------------------
        row102_before = emu.get_environment(env102)
        emu.reset_requests()
        url101b = "https://pr-101-v2.preview.test"
        out = review("up", "101", "--url", url101b, "--set", "GIT_SHA=ccc333")
        # review.py names the engine's step for the environment: an update, not a replace.
        assert f"PR #101: review environment pr-101 updated (environment id {env101})" in out.stdout
        listed = review.list()
        assert [(r["pr"], r["environment_id"], r["preview_url"]) for r in listed] == [
            (101, env101, url101b),
            (102, env102, url102),
        ]
        assert parse_env(emu.get_environment(env101)["env"]) == expected_env(101, url101b, "ccc333")
        assert mutations(emu.requests) == [("environment.update", env101)]
        assert emu.get_environment(env102) == row102_before

        # -- the same push again: nothing to do ----------------------------------------------
        emu.reset_requests()
        out = review("up", "101", "--url", url101b, "--set", "GIT_SHA=ccc333")
        assert f"PR #101: review environment pr-101 unchanged (environment id {env101})" in out.stdout
        assert mutations(emu.requests) == []

        # -- PR 102 closed -------------------------------------------------------------------
        emu.reset_requests()
        out = review("down", "102")
        assert f"PR #102: review environment pr-102 destroyed (environment id {env102})" in out.stdout
        assert mutations(emu.requests) == [("environment.remove", env102)]
        assert emu.get_environment(env102) is None
        listed = review.list()
        assert [(r["pr"], r["environment_id"], r["preview_url"]) for r in listed] == [(101, env101, url101b)]

        # -- closing a PR that has no environment (never opened, or closed already) ----------
        emu.reset_requests()
        out = review("down", "7")
        assert "PR #7: no review environment (stack pr-7 does not exist); nothing to do" in out.stdout
        assert emu.requests == []  # not even a read
        assert [r["pr"] for r in review.list()] == [101]

        # -- the platform stack is untouched -------------------------------------------------
        emu.reset_requests()
        platform.preview(expect_no_changes=True)
        assert mutations(emu.requests) == []
        assert emu.get_project(project_id) == project_before
        assert emu.get_environment(staging_id) == staging_before
        assert {e["environmentId"] for e in emu.environments()} == envs_before | {env101}

        # -- what the backend holds: no API key, and env values only encrypted ----------------
        assert_state_holds_no_secrets(review_env, [env101], ["GIT_SHA", "ccc333"])

        # -- PR 101's environment deleted by hand: list says so, the next up creates it again ----
        emu.delete_environment(env101)
        listed = review.list()
        assert [(r["pr"], r["environment_id"], r["deleted_outside_pulumi"]) for r in listed] == [(101, None, True)]
        assert env101 not in review("list").stdout  # never a dead id
        emu.reset_requests()
        out = review("up", "101", "--url", url101b, "--set", "GIT_SHA=ccc333")
        (row,) = review.list()
        env101b = row["environment_id"]
        assert env101b not in (None, env101) and row["deleted_outside_pulumi"] is False
        assert (
            f"PR #101: review environment pr-101 created again (its environment {env101} was deleted outside "
            f"Pulumi) (environment id {env101b})" in out.stdout
        )
        assert mutations(emu.requests) == [("environment.duplicate", staging_id), ("environment.update", env101b)]
        assert parse_env(emu.get_environment(env101b)["env"]) == expected_env(101, url101b, "ccc333")

        # -- destroying the platform while PR 101 is up: refused before anything is deleted ------
        rows_before = {e["environmentId"]: e for e in emu.environments()}
        assert set(rows_before) == envs_before | {env101b}
        emu.reset_requests()
        refused = platform.destroy(expect_failure=True)
        assert "holds 1 environment(s) this stack does not declare: 'pr-101'" in refused.output
        assert "KeyboardInterrupt" not in refused.output
        assert mutations(emu.requests) == []  # nothing deleted, nothing changed
        assert {e["environmentId"]: e for e in emu.environments()} == rows_before
        assert emu.get_project(project_id) == project_before
        platform.preview(expect_no_changes=True)  # the platform's state still holds all of it
        assert (
            review("up", "101", "--url", url101b, "--set", "GIT_SHA=ccc333")
            .stdout.strip()
            .endswith(f"unchanged (environment id {env101b})")
        )

        # -- PR 101 closed: now the platform goes, with everything it made -------------------------
        review("down", "101")
        platform.destroy()
        assert emu.get_project(project_id) is None and emu.environments() == []


PIPELINE_PRS = range(201, 209)


# Eight pull requests' CI jobs at once (`up`), a `list` of all eight, then all eight closed at once
# (`down`); on the file backend and on Pulumi's PostgreSQL backend (what a team without Pulumi
# Cloud shares between CI runners). GOMAXPROCS=2 there gives every machine a 2-core runner's
# connection pool, where `pulumi stack ls` deadlocks from 4 stacks on without review.py's
# workaround. Lean on purpose (18 review.py runs): the sequential test above covers each
# command's behaviour; this one covers jobs at once on a shared backend. Measured: ~95 s CPU per
# backend (the PostgreSQL server itself ~1.5 s to start, once a session), so ~50 s on 2 idle cores.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", ["file", "postgres"])
def test_review_environments_eight_pipelines_at_once(
    backend: str, pulumi_stack: PulumiStackFactory, tmp_path: Path, request: pytest.FixtureRequest
):
    url: Optional[str] = None
    if backend == "postgres":
        url = request.getfixturevalue("postgres_server").backend_url()
    with DokployEmulator(api_key=API_KEY) as emu:
        _, pout, review_env = up_platform(pulumi_stack, emu, url)
        project_id, staging_id = pout["project_id"], pout["staging_environment_id"]
        if url:
            assert review_env["PULUMI_BACKEND_URL"] == url
            review_env["GOMAXPROCS"] = "2"
        review = Review(review_env, tmp_path)

        def at_once(command: str) -> dict[int, str]:
            def job(pr: int) -> str:
                extra = (
                    ["--url", f"https://pr-{pr}.preview.test", "--set", f"GIT_SHA=sha{pr}"] if command == "up" else []
                )
                return review(command, str(pr), *extra, "--quiet").stdout

            with ThreadPoolExecutor(max_workers=len(PIPELINE_PRS)) as pool:
                return dict(zip(PIPELINE_PRS, pool.map(job, PIPELINE_PRS), strict=True))

        opened = at_once("up")
        listed = review.list()
        assert [(r["pr"], r["environment_name"], r["deleted_outside_pulumi"]) for r in listed] == [
            (pr, f"pr-{pr}", False) for pr in PIPELINE_PRS
        ]
        ids = {r["pr"]: r["environment_id"] for r in listed}
        assert len(set(ids.values())) == len(PIPELINE_PRS) and staging_id not in ids.values()
        for pr, stdout in opened.items():
            assert f"PR #{pr}: review environment pr-{pr} created (environment id {ids[pr]})" in stdout
            row = emu.get_environment(ids[pr])
            assert row["name"] == f"pr-{pr}" and row["projectId"] == project_id
            assert parse_env(row["env"]) == {
                **STAGING_ENV,
                "PR_NUMBER": str(pr),
                "PREVIEW_URL": f"https://pr-{pr}.preview.test",
                "GIT_SHA": f"sha{pr}",
            }
        assert_state_holds_no_secrets(review_env, list(ids.values()), [f"sha{pr}" for pr in PIPELINE_PRS])

        closed = at_once("down")
        for pr, stdout in closed.items():
            assert f"PR #{pr}: review environment pr-{pr} destroyed (environment id {ids[pr]})" in stdout
        assert review.list() == []
        assert {e["environmentId"] for e in emu.environments()}.isdisjoint(ids.values())


def _default_env_id(emu: DokployEmulator, project_id: str) -> str:
    (default,) = [e for e in emu.environments() if e["projectId"] == project_id and e["isDefault"]]
    return default["environmentId"]
