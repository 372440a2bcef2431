"""`python -m dokploy_pulumi import` end to end: an existing Dokploy, the generated program, the real CLI.

The first `pulumi up` of the generated program must only read (every request a GET) and leave every
row byte for byte as it was; `pulumi preview --expect-no-changes` must pass right after; destroy
then follows the usual rules (a project holding a service is refused and listed, the rest goes).
"""

from __future__ import annotations

import base64
import json
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _pulumi import PulumiStack, PulumiStackFactory

from dokploy_pulumi import DokployClient
from dokploy_pulumi import _import as imp
from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "imported"
API_KEY = "e2e-import-key-0123456789abcdef"
OURS = "pulumi-python:dynamic/dokploy:"
PROJECT_TYPE = OURS + "Project"

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

    sealed = (stack.program_dir / "dokploy-env.sealed").read_text()
    for value in ('say \\"hi\\"', "MIIB", "eu-1", "example.test", "héllo", "padded"):
        assert value not in sealed  # sealed, so safe to commit

    # Store the key the way the generator said: its script, with the real CLI.
    run = subprocess.run(
        ["sh", str(script)], cwd=stack.program_dir, env=stack.env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    key = stack.run("config", "get", "dokployImport:envKey").stdout.strip()
    assert len(key) == 43 and key not in (stack.program_dir / "Pulumi.e2e.yaml").read_text()  # encrypted

    # Generating again reuses the stack's key, and leaves the sealed file as it was (nothing changed).
    again = _generate(stack, "--all", "--output", "__main__.py", "--force", "--apply-config")
    assert again.returncode == 0, again.stderr
    assert "Sealed with the key the stack already holds (dokployImport:envKey)" in again.stderr
    assert (stack.program_dir / "dokploy-env.sealed").read_text() == sealed
    assert (stack.program_dir / "__main__.py").read_text().split("Each resource")[1] == program.split("Each resource")[
        1
    ]
    assert stack.run("config", "get", "dokployImport:envKey").stdout.strip() == key
    # Stack config does not grow with the estate: the key is the only value the import adds.
    config = json.loads(stack.run("config", "--json").stdout)
    assert set(config) == {"dokploy:url", "dokployImport:envKey"}

    emu.reset_requests()
    stack.up()
    log = [(r.method, r.procedure) for r in emu.requests]
    assert log and all(method == "GET" for method, _ in log), log
    assert emu.projects() == projects_before  # byte for byte, every column
    assert emu.environments() == envs_before
    # Env is a secret in the state: encrypted, as an input and as an output.
    state = json.dumps(stack.export(), ensure_ascii=False)
    for value in ("MIIB", "eu-1", "example.test", "héllo", "padded"):
        assert value not in state
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


def test_an_unreadable_stack_is_an_error_not_an_empty_state(emu: DokployEmulator, pulumi_stack: PulumiStackFactory):
    """Names chosen blind to the state could give a managed object's name to another one."""
    emu.create_project("shop", env="A=1\n")
    stack = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY, DOKPLOY_URL=emu.url))
    stack.init()
    stack.set_config("something", "secret-value", secret=True)
    # A wrong passphrase sharing no 6 characters with the CLI's message: the passphrase is a secret
    # (any run of 6 of its characters is redacted from what the command prints).
    stack.env["PULUMI_CONFIG_PASSPHRASE"] = "wr0ng-Kq81z"
    gen = _generate(stack, "--all", "--output", "__main__.py")
    assert gen.returncode == 1 and "Traceback" not in gen.stderr
    assert gen.stderr.startswith(
        "error: cannot read the stack's config (`pulumi config --json --show-secrets` failed: "
    )
    assert "incorrect passphrase" in gen.stderr and "wr0ng-Kq81z" not in gen.stderr
    assert not (stack.program_dir / "__main__.py").exists()
    # Another stack named on the command line that does not exist: an error too.
    gen = _generate(stack, "--all", "--stack", "nope")
    assert gen.returncode == 1 and "nope" in gen.stderr and "Traceback" not in gen.stderr


# -- at an estate's size (issue 19, case 4) ---------------------------------------------------------------


def _incompressible_env(rng: random.Random, size: int = 2048) -> str:
    """About `size` bytes of dotenv text whose values are random (base64 of random bytes)."""
    lines, total, i = [], 0, 0
    while total < size:
        line = f"SECRET_{i}={base64.b64encode(rng.randbytes(45)).decode()}\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


# A hang guard, not a speed test: 400 resources through the CLI on 2 cores beside the real tiers;
# its first `up` alone took over 240 s (the CLI commands' default limit) in a cold CI run.
@pytest.mark.timeout(900)
def test_import_of_200_projects_with_2kb_env_each_adopts_with_reads_only(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    """400 KB of env: far past the 128 KiB the language host can pass in PULUMI_CONFIG."""
    rng = random.Random(19)
    envs = {}
    for i in range(200):
        env = _incompressible_env(rng)
        envs[emu.create_project(f"estate {i:03d}", description=f"project {i}", env=env)["projectId"]] = env
    assert sum(len(e) for e in envs.values()) > 3 * 128 * 1024
    projects_before = sorted(emu.projects(), key=lambda p: p["projectId"])
    envs_before = sorted(emu.environments(), key=lambda e: e["environmentId"])
    assert len(projects_before) == 200 and len(envs_before) == 200

    # PULUMI_SKIP_CHECKPOINTS, as Pulumi advises for large stacks: the file backend otherwise writes
    # the whole state (400 resources with 2 KB secrets each) after every step, which was 60% of this
    # test's CPU (108 against 43 CPU-seconds). What the provider is asked, and so every request
    # asserted below, is the same; only the final state is written, and that is what is read here.
    env = _clean_env(DOKPLOY_API_KEY=API_KEY, DOKPLOY_URL=emu.url, PULUMI_SKIP_CHECKPOINTS="true")
    stack = pulumi_stack(PROGRAM, env=env)
    stack.timeout = 600
    stack.init()
    gen = _generate(stack, "--all", "--output", "__main__.py", "--apply-config")
    assert gen.returncode == 0, gen.stderr
    assert "Wrote __main__.py: 200 project(s), 200 environment(s)" in gen.stderr
    assert "Stored the key as secret stack config dokployImport:envKey" in gen.stderr
    written = (stack.program_dir / "__main__.py").read_text() + (stack.program_dir / "dokploy-env.sealed").read_text()
    stack_file = (stack.program_dir / "Pulumi.e2e.yaml").read_text()
    assert len(stack_file) < 1024  # one key, whatever the estate's size
    for env in list(envs.values())[:20]:
        line = env.splitlines()[0]
        assert line.split("=", 1)[1] not in written + stack_file + gen.stdout + gen.stderr

    emu.reset_requests()
    stack.up()
    log = [(r.method, r.procedure) for r in emu.requests]
    assert log and {method for method, _ in log} == {"GET"}, [x for x in log if x[0] != "GET"][:5]
    assert sorted(emu.projects(), key=lambda p: p["projectId"]) == projects_before  # every column, env included
    assert sorted(emu.environments(), key=lambda e: e["environmentId"]) == envs_before
    stack.preview(expect_no_changes=True)

    # Every env is in the state as a secret, byte for byte, and nowhere in clear.
    state = json.dumps(stack.export())
    assert not any(env.splitlines()[1].split("=", 1)[1] in state for env in envs.values())
    outputs = {r["id"]: r["outputs"] for r in stack.resources(show_secrets=True) if r["type"] == PROJECT_TYPE}
    assert {pid: _plain(out["env"]) for pid, out in outputs.items()} == {
        pid: dict(line.split("=", 1) for line in env.splitlines()) for pid, env in envs.items()
    }


# -- re-running import (issue 19, case 5) -----------------------------------------------------------------


def _plain(value):
    """A secret as `stack export --show-secrets` shows it, unwrapped."""
    if isinstance(value, dict) and "plaintext" in value:
        return json.loads(value["plaintext"])
    return value


def _names(stack: PulumiStack) -> dict[str, str]:
    """URN name -> id of each of our resources in the state."""
    return {r["urn"].rsplit("::", 1)[-1]: r["id"] for r in stack.resources() if r["type"].startswith(OURS)}


def test_rerun_after_ui_changes_keeps_every_name_and_drops_nothing(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    c = DokployClient(emu.url, API_KEY)
    blog1 = c.project.create("blog", env="WHICH=blog-1\n")
    blog2 = c.project.create("blog", env="WHICH=blog-2\n")
    shop = c.project.create("shop", env="WHICH=shop\n")
    prod = c.environment.create(shop.project.project_id, "prod", description="the live one")
    c.environment.update(prod.environment_id, env="WHICH=shop-prod\n")
    staging = c.environment.create(shop.project.project_id, "staging")
    c.environment.update(staging.environment_id, env="WHICH=shop-staging\n")

    stack = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY, DOKPLOY_URL=emu.url))
    stack.init()
    first = _generate(stack, "--all", "--output", "__main__.py", "--apply-config")
    assert first.returncode == 0, first.stderr
    stack.up()
    before = _names(stack)
    assert before["blog"] == blog1.project.project_id and before["blog_2"] == blog2.project.project_id
    assert before["shop_prod"] == prod.environment_id and before["shop_staging"] == staging.environment_id
    sealed_before = json.loads((stack.program_dir / "dokploy-env.sealed").read_text())["entries"]

    # In the UI: the first blog is deleted, prod is renamed, a new "prod" and a new "blog" appear.
    c.project.remove(blog1.project.project_id)
    c.environment.update(prod.environment_id, name="live")
    new_prod = c.environment.create(shop.project.project_id, "prod")
    c.environment.update(new_prod.environment_id, env="WHICH=new-prod\n")
    blog3 = c.project.create("blog", env="WHICH=blog-3\n")
    c.close()
    rows_before = {p["projectId"]: p for p in emu.projects()} | {e["environmentId"]: e for e in emu.environments()}

    again = _generate(stack, "--all", "--output", "__main__.py", "--force")
    assert again.returncode == 0, again.stderr
    gone = f"project blog ({blog1.project.project_id}) is in stack organization/dokploy-imported/e2e but no longer"
    assert gone in again.stderr
    program = (stack.program_dir / "__main__.py").read_text()
    declared = {logical: id_ for _cls, logical, id_ in imp.declared_in(program)}
    # Every name the stack holds for an object still on the server names the same object.
    for logical, id_ in before.items():
        if id_ in rows_before:
            assert declared[logical] == id_, logical
    assert "blog" not in declared  # reserved: never given to blog 3
    assert declared["shop_prod"] == prod.environment_id and 'name="live",' in program
    new_names = {
        logical for logical, id_ in declared.items() if id_ in (new_prod.environment_id, blog3.project.project_id)
    }
    assert new_names == {"shop_prod_2", "blog_3"}
    # Sealed entries of unchanged objects are kept byte for byte; each entry stays with its object.
    sealed_after = json.loads((stack.program_dir / "dokploy-env.sealed").read_text())["entries"]
    assert sealed_after["shop_prod_env"] == sealed_before["shop_prod_env"]
    assert sealed_after["blog_2_env"] == sealed_before["blog_2_env"]

    emu.reset_requests()
    stack.up()
    writes = [(r.procedure, r.body, r.status) for r in emu.requests if r.method != "GET"]
    # Renames nothing, deletes nothing that exists. The only writes: the renamed environment's state
    # still says "prod", so `up` sends the name it already has; and the gone project's default
    # environment is restored to its defaults on the way out of the state, which the server refuses
    # because it is gone (`pulumi up --refresh` would send neither).
    assert sorted(writes, key=str) == sorted(
        [
            ("environment.update", {"environmentId": prod.environment_id, "name": "live"}, 200),
            (
                "environment.update",
                {"environmentId": blog1.environment.environment_id, "description": "Production environment", "env": ""},
                400,
            ),
        ],
        key=str,
    )
    rows_after = {p["projectId"]: p for p in emu.projects()} | {e["environmentId"]: e for e in emu.environments()}
    assert rows_after == rows_before
    after = _names(stack)
    for logical, id_ in before.items():
        if id_ in rows_after:
            assert after[logical] == id_, logical
    assert "blog" not in after and after["blog_3"] == blog3.project.project_id
    assert after["shop_prod_2"] == new_prod.environment_id
    stack.preview(expect_no_changes=True)
    state = {r["id"]: r["outputs"] for r in stack.resources(show_secrets=True) if r["type"].startswith(OURS)}
    assert _plain(state[prod.environment_id]["env"]) == {"WHICH": "shop-prod"}
    assert _plain(state[new_prod.environment_id]["env"]) == {"WHICH": "new-prod"}
    assert _plain(state[blog2.project.project_id]["env"]) == {"WHICH": "blog-2"}


# -- odd bytes in env --------------------------------------------------------------------------------------

ODD_ENVS = {
    # U+2028/U+2029 (line separators to JavaScript and to str.splitlines, not to dotenv), astral
    # characters, DEL and other controls, a tab.
    "odd-separators": "LS=a\u2028b\nPS=c\u2029d\nEMOJI=\U0001f600\U00010348\nCTRL=x\x7fy\x1bz\nTAB=a\tb\n",
    # CRLF line ends, as a file edited on Windows and pasted into the UI.
    "odd-crlf": "A=1\r\nB=two words\r\nC=\r\n",
    # One 64 KB value, and a very long line of many keys' worth.
    "odd-huge": "BIG=" + "Zq9" * (64 * 1024 // 3) + "\nAFTER=1\n",
}


def test_import_of_odd_bytes_in_env_keeps_them_secret_and_byte_for_byte(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    ids = {name: emu.create_project(name, env=env)["projectId"] for name, env in ODD_ENVS.items()}
    projects_before, envs_before = emu.projects(), emu.environments()
    stack = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY, DOKPLOY_URL=emu.url))
    stack.init()
    gen = _generate(stack, "--all", "--output", "__main__.py", "--apply-config")
    assert gen.returncode == 0, gen.stderr
    assert "Traceback" not in gen.stderr
    written = "".join(p.read_text(encoding="utf-8") for p in stack.program_dir.iterdir() if p.is_file())
    for value in ("a\u2028b", "c\u2029d", "\U0001f600", "x\x7fy", "two words", "Zq9Zq9Zq9"):
        assert value not in written + gen.stdout + gen.stderr
    # Dokploy's dotenv reads each of these back unchanged from some spelling: nothing is refused.
    assert "will refuse" not in gen.stderr, gen.stderr
    emu.reset_requests()
    stack.up()
    assert {r.method for r in emu.requests} == {"GET"}
    assert emu.projects() == projects_before and emu.environments() == envs_before
    stack.preview(expect_no_changes=True)
    state = json.dumps(stack.export(), ensure_ascii=False)
    assert "Zq9Zq9Zq9" not in state and "two words" not in state
    assert set(ids.values()) <= {r.get("id") for r in stack.resources()}


def test_a_module_import_beside_an_imported_program_keeps_the_programs_sealed_entries(
    emu: DokployEmulator, pulumi_stack: PulumiStackFactory
):
    """The whole estate imported as __main__.py; later, what appeared since is imported as a module
    beside it (so the program's own edits stay). Both read dokploy-env.sealed in that folder: the
    module's import must not drop the entries the program opens."""
    shop = emu.create_project("shop", env="SHOP_TOKEN=s-1\n")["projectId"]
    stack = pulumi_stack(PROGRAM, env=_clean_env(DOKPLOY_API_KEY=API_KEY, DOKPLOY_URL=emu.url))
    stack.init()
    gen = _generate(stack, "--all", "--output", "__main__.py", "--apply-config")
    assert gen.returncode == 0, gen.stderr
    stack.up()

    blog = emu.create_project("blog", env="BLOG_TOKEN=b-2\n")["projectId"]
    gen = _generate(stack, "--all", "--module", "dokploy_existing.py", "--force")
    assert gen.returncode == 0, gen.stderr
    module = (stack.program_dir / "dokploy_existing.py").read_text()
    assert blog in module and shop not in module  # the program declares shop already
    main = stack.program_dir / "__main__.py"
    main.write_text(main.read_text() + "\nimport dokploy_existing  # noqa: E402,F401\n")

    projects_before, envs_before = emu.projects(), emu.environments()
    emu.reset_requests()
    stack.up()
    assert {r.method for r in emu.requests} == {"GET"}
    assert emu.projects() == projects_before and emu.environments() == envs_before
    stack.preview(expect_no_changes=True)
    assert {shop, blog} <= {r.get("id") for r in stack.resources()}
