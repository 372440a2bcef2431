"""`python -m dokploy_pulumi drift` end to end: two stacks of one project, the real CLI, the emulator.

Stack a creates project alpha with an environment staging; stack b creates beta and adopts alpha
too. By hand: a project with env (a secret value), an environment in beta, and alpha's staging
deleted. drift must then report exactly: unmanaged the hand-made project, its default environment
and beta's new environment; gone staging (stack a); shared alpha (a and b); exit 1. The program
`--generate` writes is adopted by a stack of a new project (named FOLDER:STACK); once a refreshes
and b forgets alpha, drift is clean (exit 0). Stacks pointing at two servers: exit 2, naming them, before any request.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _pulumi import PulumiStack

from dokploy_pulumi import DokployClient
from dokploy_pulumi._import import declared_in
from dokploy_pulumi.testing import DokployEmulator

PROGRAM = Path(__file__).parent / "programs" / "drift"
API_KEY = "e2e-drift-key-0123456789abcdef"
SECRET_VALUE = "hand-made-s3cret-value"


@pytest.fixture
def emu():
    with DokployEmulator(api_key=API_KEY) as e:
        yield e


def drift(stack: PulumiStack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "drift", *args],
        cwd=stack.program_dir,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def findings(result: subprocess.CompletedProcess) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_drift_two_stacks_categories_generate_and_clean(emu: DokployEmulator, pulumi_bin_dir: Path, tmp_path: Path):
    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": emu.url, "DOKPLOY_API_KEY": API_KEY})
    # One project folder and one backend for stacks a and b, as a team's repository has.
    work = tmp_path / "project"
    a = PulumiStack(PROGRAM, work, pulumi_bin_dir, stack="a", env=env)
    b = PulumiStack(PROGRAM, work, pulumi_bin_dir, stack="b", env=env)
    a.init()
    a.set_config("projects", json.dumps({"alpha": "alpha"}))
    a.set_config("environments", json.dumps({"alpha": ["staging"]}))
    a.up(skip_preview=True)
    alpha, staging = a.outputs()["alpha_id"], a.outputs()["alpha_staging_id"]
    same_backend = {**env, "PULUMI_BACKEND_URL": a.env["PULUMI_BACKEND_URL"]}  # for stacks of other projects
    b.init()
    b.set_config("projects", json.dumps({"beta": "beta"}))
    b.set_config("adopt", json.dumps({"alpha_too": [alpha, "alpha"]}))
    b.up(skip_preview=True)
    beta = b.outputs()["beta_id"]

    # By hand, in the UI.
    with DokployClient(emu.url, API_KEY) as c:
        hand = c.project.create("handmade", env=f"TOKEN={SECRET_VALUE}\n")
        hotfix = c.environment.create(beta, "hotfix").environment_id
    handmade, handmade_prod = hand.project.project_id, hand.environment.environment_id
    emu.delete_environment(staging)

    emu.reset_requests()
    text = drift(a)  # no --stack: every stack of the project (a and b)
    assert text.returncode == 1, text.stderr
    assert [(r.method, r.procedure) for r in emu.requests] == [("GET", "project.all")]  # reads only, once
    assert text.stdout == (
        f"Dokploy {emu.url}; stacks: a, b\n"
        "Unmanaged (on the server, held by no stack): 3\n"
        f"  project     handmade ({handmade})\n"
        f"  environment handmade / production ({handmade_prod})\n"
        f"  environment beta / hotfix ({hotfix})\n"
        "Gone (held by a stack, not on the server): 1\n"
        f"  environment {staging}: stack a, resource alpha_staging\n"
        "Held by more than one stack or resource: 1\n"
        f"  project     alpha ({alpha}): a (alpha), b (alpha_too)\n"
    )

    as_json = drift(a, "--json", "--stack", "b", "--stack", "a")
    assert as_json.returncode == 1, as_json.stderr
    report = findings(as_json)
    assert report["stacks"] == ["b", "a"] and report["clean"] is False
    assert {(o["kind"], o["id"]) for o in report["unmanaged"]} == {
        ("project", handmade),
        ("environment", handmade_prod),
        ("environment", hotfix),
    }
    assert report["gone"] == [{"kind": "environment", "id": staging, "stack": "a", "resource": "alpha_staging"}]
    assert [(o["id"], o["held_by"]) for o in report["shared"]] == [
        (alpha, [{"stack": "b", "resource": "alpha_too"}, {"stack": "a", "resource": "alpha"}])
    ]
    assert report["not_compared"] == []
    for out in (text, as_json):
        assert SECRET_VALUE not in out.stdout + out.stderr and API_KEY not in out.stdout + out.stderr

    # --generate: the program adopting the three unmanaged objects, with `import`'s names, in a
    # new project's folder (made by the command).
    generated = drift(a, "--generate", "adopt/__main__.py")
    assert generated.returncode == 1, generated.stderr
    folder = a.program_dir / "adopt"
    code = (folder / "__main__.py").read_text()
    assert "handmade = Project(" in code and "handmade_production = Environment(" in code
    assert f'beta_hotfix = Environment(\n    "beta_hotfix",\n    EnvironmentArgs(\n        project_id="{beta}",' in code
    assert "alpha" not in code.split('"""', 2)[2] and 'Project(\n    "beta"' not in code
    assert stat.S_IMODE((folder / "dokploy-import-secrets.sh").stat().st_mode) == 0o600
    for written in (code, (folder / "dokploy-env.sealed").read_text(), generated.stdout + generated.stderr):
        assert SECRET_VALUE not in written and API_KEY not in written

    # A new stack of a new project (same backend) adopts them: its first up only reads.
    (folder / "Pulumi.yaml").write_text("name: dokploy-drift-adopted\nruntime: python\n")
    adopted = PulumiStack(folder, tmp_path / "adopt", pulumi_bin_dir, stack="adopted", env=same_backend)
    adopted.init()  # selects it: the script stores the key for the selected stack
    stored = subprocess.run(
        ["sh", "dokploy-import-secrets.sh"], cwd=adopted.program_dir, env=adopted.env, capture_output=True, text=True
    )
    assert stored.returncode == 0, stored.stderr
    emu.reset_requests()
    adopted.up(skip_preview=True)
    assert {r.method for r in emu.requests} == {"GET"}

    # The rest is the stacks' own business: a refresh drops staging, b stops holding alpha.
    a.refresh()
    b.run("state", "delete", "urn:pulumi:b::dokploy-drift::pulumi-python:dynamic/dokploy:Project::alpha_too", "--yes")
    other_project = f"{adopted.program_dir}:adopted"  # FOLDER:STACK, a stack of another project
    clean = drift(a, "--stack", "a", "--stack", "b", "--stack", other_project)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == (
        f"Dokploy {emu.url}; stacks: a, b, {other_project}\n"
        "No drift: every project and environment is held by exactly one stack, and every one is there.\n"
    )

    # The header's "regenerate with --force", once a stack holds what the file declares: refused (the
    # new file would drop them and that stack's next up delete them), nothing written. Something new
    # by hand makes it a real regeneration.
    with DokployClient(emu.url, API_KEY) as c:
        c.project.create("later")
    again = drift(a, "--stack", "a", "--stack", other_project, "--generate", "adopt/__main__.py", "--force")
    assert again.returncode == 2 and "3 object(s) a compared stack holds" in again.stderr, again.stderr
    assert (folder / "__main__.py").read_text() == code

    # Stacks on two servers: nothing is compared, exit 2, every stack named.
    elsewhere = PulumiStack(PROGRAM, work, pulumi_bin_dir, stack="elsewhere", env=env)
    elsewhere.init()
    elsewhere.set_config("dokploy:url", "http://127.0.0.1:9")
    emu.reset_requests()
    split = drift(a, "--stack", "a", "--stack", "b", "--stack", "elsewhere")
    assert split.returncode == 2 and split.stdout == ""
    assert split.stderr == (
        f"error: the stacks point at different Dokploy servers ({emu.url}: a, b; http://127.0.0.1:9: elsewhere): "
        "compare them one server at a time\n"
    )
    assert emu.requests == []
    missing = drift(a, "--stack", "nope")
    assert missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr


HOSTILE = ("a\"b'c", "x\nNo drift: fake", "\x1b[2Jünï 💥", "import os")


def test_drift_hostile_names_and_generate_twice(emu: DokployEmulator, pulumi_bin_dir: Path, tmp_path: Path):
    """No `pulumi up`: an empty stack, objects made by hand with names the UI accepts."""
    env: dict[str, Any] = {k: None for k in os.environ if k.startswith("DOKPLOY_")}
    env.update({"DOKPLOY_URL": emu.url, "DOKPLOY_API_KEY": API_KEY})
    a = PulumiStack(PROGRAM, tmp_path / "project", pulumi_bin_dir, stack="a", env=env)
    a.init()
    ids: set[str] = set()
    with DokployClient(emu.url, API_KEY) as c:
        for name in HOSTILE:
            made = c.project.create(name, env=f"TOKEN={SECRET_VALUE}\n")
            ids |= {made.project.project_id, made.environment.environment_id}
            ids.add(c.environment.create(made.project.project_id, name + "\n'env\"").environment_id)

    text = drift(a)
    assert text.returncode == 1, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 2 + len(ids) and "\x1b" not in text.stdout  # one line per object, inert
    assert lines[1] == f"Unmanaged (on the server, held by no stack): {len(ids)}"

    emu.reset_requests()
    first = drift(a, "--generate", "adopt/__main__.py")
    assert first.returncode == 1, first.stderr
    assert sorted(r.procedure for r in emu.requests) == sorted(
        ["project.all", "settings.getDokployVersion"] + ["project.one"] * len(HOSTILE)
    )
    code = (a.program_dir / "adopt" / "__main__.py").read_text()
    compile(code, "adopt/__main__.py", "exec")
    declared = declared_in(code)
    assert {id_ for _, _, id_ in declared} == ids and len(declared) == len(ids)
    for out in (code, first.stdout + first.stderr, (a.program_dir / "adopt" / "dokploy-env.sealed").read_text()):
        assert SECRET_VALUE not in out and API_KEY not in out

    forced = drift(a, "--generate", "adopt/__main__.py", "--force")
    assert forced.returncode == 1, forced.stderr
    # Not adopted yet: written again, every object under the name it had.
    assert declared_in((a.program_dir / "adopt" / "__main__.py").read_text()) == declared
