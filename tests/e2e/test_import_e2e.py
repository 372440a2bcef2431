"""`python -m dokploy_pulumi import` end to end: an existing Dokploy, the generated program, the real CLI.

The first `pulumi up` of the generated program must only read (every request a GET) and leave every
row byte for byte as it was; `pulumi preview --expect-no-changes` must pass right after; destroy
then follows the usual rules (a project holding a service is refused and listed, the rest goes).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi import DokployClient
from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "imported"
API_KEY = "e2e-import-key-0123456789abcdef"

# Quotes of every kind, `#` in and out of quotes, backslashes (literal for Dokploy's parser), a
# multi-line double-quoted value, a trailing space and no newline at the very end.
TRICKY_ENV = (
    "LOG_LEVEL=info\n"
    'GREETING="say \\"hi\\" # not a comment"\n'
    "SINGLE='it''s # literal'\n"
    "HASHED=abc # trailing comment\n"
    "WIN_PATH=C:\\new\\table\\\n"
    'PEM="-----BEGIN KEY-----\nMIIB\\nAAA\n-----END KEY-----"\n'
    "export EXPORTED=1\n"
    "EMPTY=\n"
    "SPACED=  padded  "
)
STAGING_ENV = "# staging only\nDEBUG=1\nURL=https://example.test/?a=1&b=2\n\n"
UNICODE_ENV = "GRÜSSE=héllo wörld ☕\nJA=日本語\n"


def _clean_env(**extra: str) -> dict:
    env: dict = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update(extra)
    return env


@pytest.fixture
def emu():
    with DokployEmulator(api_key=API_KEY) as e:
        yield e


def _seed(emu: DokployEmulator) -> dict[str, str]:
    """A server as a Dokploy UI user leaves it."""
    ids: dict[str, str] = {}
    c = DokployClient(emu.url, API_KEY)
    try:
        saas = c.project.create("My SaaS", description="Main app", env=TRICKY_ENV)
        ids["saas"] = saas.project.project_id
        default = saas.environment.environment_id
        c.environment.update(default, description="Prod (EU)", env='REGION="eu-1"\n')
        staging = c.environment.create(ids["saas"], "staging")  # description null
        c.environment.update(staging.environment_id, env=STAGING_ENV)
        c.environment.create(ids["saas"], "review-42", description="")
        # The same name twice; empty description.
        ids["saas2"] = c.project.create("My SaaS", description="").project.project_id
        ids["cafe"] = c.project.create("Café ☕ Ünïcode", env=UNICODE_ENV).project.project_id
        # A project holding a service, a null default-environment description, two same-named envs.
        jp = c.project.create("日本語プロジェクト", description="説明\n二行目")
        ids["jp"] = jp.project.project_id
        emu.set_environment_fields(jp.environment.environment_id, description=None)
        ids["service"] = emu.add_service(jp.environment.environment_id, "application", "web")
        c.environment.create(ids["jp"], "qa", description="first")
        c.environment.create(ids["jp"], "qa", description="second")
        ids["comment_only"] = c.project.create("notes", env="# nothing set yet\n").project.project_id
    finally:
        c.close()
    return ids


def _generate(stack: PulumiStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "import", *args],
        cwd=stack.program_dir,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generated_program_adopts_everything_with_reads_only(emu: DokployEmulator, pulumi_stack: PulumiStackFactory):
    ids = _seed(emu)
    projects_before, envs_before = emu.projects(), emu.environments()
    assert len(projects_before) == 5 and len(envs_before) == 9

    # The URL comes from the stack's dokploy:url (`pulumi config get`), the key from the environment.
    stack = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY))
    stack.init()
    stack.set_config("dokploy:url", emu.url)

    emu.reset_requests()
    gen = _generate(stack, "--all", "--output", "__main__.py")
    assert gen.returncode == 0, gen.stderr
    assert {r.method for r in emu.requests} == {"GET"}  # the generator only reads too
    program = (stack.program_dir / "__main__.py").read_text()
    script = stack.program_dir / "dokploy-import-secrets.sh"
    assert stat.S_IMODE(script.stat().st_mode) == 0o600
    assert "mode 0600" in gen.stderr
    # Env values appear nowhere but in the 0600 script: not in the code, not on stdout or stderr.
    for value in ('say \\"hi\\"', "MIIB", "eu-1", "example.test", "héllo", "padded"):
        assert value not in program + gen.stdout + gen.stderr
    assert API_KEY not in program + gen.stdout + gen.stderr
    assert f"from {emu.url} (Dokploy v0.30.2)" in program

    # Store the env values the way the generator said: its script, with the real CLI.
    run = subprocess.run(
        ["sh", str(script)], cwd=stack.program_dir, env=stack.env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    stored = stack.run("config", "get", "my_saas_env").stdout
    assert stored == TRICKY_ENV + "\n"  # `config get` adds one newline; the value is byte-exact
    assert stack.run("config", "get", "my_saas_staging_env").stdout == STAGING_ENV + "\n"

    # Generating again with --apply-config stores the same values directly (stdin only).
    again = _generate(stack, "--all", "--output", "__main__.py", "--force", "--apply-config")
    assert again.returncode == 0, again.stderr
    assert "Stored 5 env(s) as secret stack config" in again.stderr
    assert stack.run("config", "get", "cafe_unicode_env").stdout == UNICODE_ENV + "\n"
    for key in ("my_saas_env", "my_saas_production_env", "my_saas_staging_env", "cafe_unicode_env", "notes_env"):
        assert key in (stack.program_dir / "Pulumi.e2e.yaml").read_text()
    assert "héllo" not in (stack.program_dir / "Pulumi.e2e.yaml").read_text()  # encrypted

    emu.reset_requests()
    stack.up()
    log = [(r.method, r.procedure) for r in emu.requests]
    assert log and all(method == "GET" for method, _ in log), log
    assert emu.projects() == projects_before  # byte for byte, every column
    assert emu.environments() == envs_before
    stack.preview(expect_no_changes=True)
    emu.reset_requests()
    stack.refresh(expect_no_changes=True)  # the state holds exactly what the server holds
    assert {r.method for r in emu.requests} == {"GET"}

    # Every object is now in the state, adopted by id.
    managed = {r["id"] for r in stack.resources() if r["type"].startswith("pulumi-python:dynamic/dokploy:")}
    assert managed == {p["projectId"] for p in projects_before} | {e["environmentId"] for e in envs_before}

    # Destroy: the project holding a service is refused and listed; everything else is deleted.
    result = stack.destroy(expect_failure=True)
    assert "application 'web'" in result.output and ids["service"] in result.output
    assert [p["projectId"] for p in emu.projects()] == [ids["jp"]]
    assert {e["name"] for e in emu.environments()} == {"production"}  # the two qa are gone; default stays


def test_selection_and_errors(emu: DokployEmulator, pulumi_stack: PulumiStackFactory):
    ids = _seed(emu)
    stack = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY, DOKPLOY_URL=emu.url))
    stack.init()  # in a Pulumi project folder the stack's config is read (here: nothing set, so the environment)
    gen = _generate(stack, "--name", "My SaaS", "--project-id", ids["cafe"], "--module", "existing.py")
    assert gen.returncode == 0, gen.stderr
    module = (stack.program_dir / "existing.py").read_text()
    assert module.count("= Project(") == 3 and "cafe_unicode = Project(" in module
    assert "Import this module from a Pulumi program" in module
    missing = _generate(stack, "--name", "my saas")
    assert missing.returncode == 1 and "did you mean 'My SaaS'" in missing.stderr
    nothing = _generate(stack)
    assert nothing.returncode == 1 and "select projects" in nothing.stderr
    no_key = subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "import", "--all"],
        cwd=stack.program_dir,
        env={k: v for k, v in stack.env.items() if k != "DOKPLOY_API_KEY"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert no_key.returncode == 1
    assert no_key.stderr == f"error: No Dokploy API key for {emu.url}: set config dokploy:apiKey or $DOKPLOY_API_KEY.\n"
