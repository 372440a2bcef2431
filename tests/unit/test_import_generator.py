"""`python -m dokploy_pulumi import`: names, literals, generated code, secrets handling, the CLI.

The server is the emulator; the generated program runs under Pulumi's mocks, so every resource
argument it passes is checked by the real resource classes.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import os
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pulumi
import pytest

from dokploy_pulumi import DokployClient, SealedEnv, SealedEnvError
from dokploy_pulumi import _import as imp
from dokploy_pulumi import _pulumi_cli as cli
from dokploy_pulumi import _sealed as sealed_mod
from dokploy_pulumi.__main__ import main
from dokploy_pulumi.testing import DokployEmulator

KEY = "import-unit-key-0123456789"
NOW = dt.datetime(2026, 12, 3, 12, 0, 0, tzinfo=dt.timezone.utc)
TRICKY_ENV = 'A=1\nQ="say \\"hi\\""\nS=\'it\'\'s\'\nHASH=x # comment\nBS=C:\\path\\n\nML="l1\nl2"\n'


@pytest.fixture
def emu():
    with DokployEmulator(api_key=KEY) as e:
        yield e


def _listed(*items):
    return [imp.ListedProject(project_id=i, name=n, created_at=c, environments=tuple(envs)) for i, n, c, envs in items]


# -- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("My SaaS", "my_saas"),
        ("Café ☕ Ünïcode", "cafe_unicode"),
        ("Straße / Łódź", "strasse_lodz"),
        ("  --weird__name--  ", "weird_name"),
        ("日本語", ""),
        ("", ""),
    ],
)
def test_slug(name, expected):
    assert imp.slug(name) == expected


def test_names_unique_valid_and_independent_of_order_and_selection():
    listed = _listed(
        ("p3", "shop", "2026-01-03T00:00:00.000Z", [("e3", "production", True)]),
        (
            "p1",
            "shop",
            "2026-01-01T00:00:00.000Z",
            [("e1", "production", True), ("e1b", "review", False), ("e1a", "review", False)],
        ),
        ("p2", "Shop 2", "2026-01-02T00:00:00.000Z", [("e2", "production", True)]),
        ("p4", "日本語", "2026-01-04T00:00:00.000Z", [("e4", "本番", False)]),
        ("p5", "class", "2026-01-05T00:00:00.000Z", []),
        ("p6", "2048 game", "2026-01-06T00:00:00.000Z", []),
        ("p7", "config", "2026-01-07T00:00:00.000Z", []),
    )
    names = imp.assign_names(listed)
    # The oldest "shop" keeps the plain name; the natural "shop_2" (from "Shop 2") wins over a suffix.
    assert names.projects == {
        "p1": "shop",
        "p2": "shop_2",
        "p3": "shop_3",
        "p4": "project_p4",
        "p5": "class_",
        "p6": "project_2048_game",
        "p7": "config_",
    }
    # Duplicate environment names get suffixes in id order (e1a before e1b).
    assert names.environments["e1a"] == "shop_review" and names.environments["e1b"] == "shop_review_2"
    assert names.environments["e4"] == "project_p4_env_e4"
    everything = list(names.projects.values()) + list(names.environments.values())
    assert len(everything) == len(set(everything))
    for n in everything:
        assert n.isidentifier() and n.isascii() and not __import__("keyword").iskeyword(n)
    # Same server listed in another order: same names.
    assert imp.assign_names(list(reversed(listed))) == names


# -- literals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'say "hi"',
        "it's",
        'both "\'"',
        "back\\slash",
        "l1\nl2\r\n",
        "tab\tx",
        "\x00\x1b\u2028\U0001f600",
        "é日本 ☕",
        "",
    ],
)
def test_py_str_round_trips_and_prefers_black_quotes(text):
    literal = imp.py_str(text)
    assert ast.literal_eval(literal) == text
    assert "\n" not in literal
    # black/ruff-format: double quotes unless that needs more escapes.
    assert literal[0] == ("'" if text.count('"') > text.count("'") else '"')


def test_safe_url_drops_credentials_and_query():
    assert (
        imp.safe_url("https://user:pw@dokploy.example.com:8443/api/?token=x#f")
        == "https://dokploy.example.com:8443/api"
    )


# -- reading the server and generating -------------------------------------------------------------------


def _seed(emu: DokployEmulator) -> dict[str, str]:
    ids = {}
    ids["a"] = emu.create_project("My SaaS", description="Main app", env=TRICKY_ENV)["projectId"]
    ids["b"] = emu.create_project("My SaaS", description="")["projectId"]
    ids["c"] = emu.create_project("Café ☕ Ünïcode", description=None, env="X=1")["projectId"]
    client = DokployClient(emu.url, KEY)
    staging = client.environment.create(ids["a"], "staging", description='the "pre" one')
    client.environment.update(staging.environment_id, env="DEBUG=1\n")
    ids["staging"] = staging.environment_id
    client.close()
    return ids


def _generate(emu: DokployEmulator, selection: imp.Selection, module: bool = False) -> imp.Generated:
    with DokployClient(emu.url, KEY) as client:
        inv = imp.read_server(client, selection)
    return imp.render(
        inv,
        imp.assign_names(inv.listed, None, inv.tags),
        command="python -m dokploy_pulumi import --all",
        url=emu.url,
        now=NOW,
        module=module,
    )


def test_reads_only_and_generates_every_project_and_environment(emu):
    ids = _seed(emu)
    emu.reset_requests()
    gen = _generate(emu, imp.Selection(all=True))
    assert {r.method for r in emu.requests} == {"GET"}
    assert [r.procedure for r in emu.requests].count("project.all") == 1
    assert gen.projects == 3 and gen.environments == 4
    tree = ast.parse(gen.code)
    compile(tree, "__main__.py", "exec")
    # No env value anywhere in the code; each declared env has one config key.
    for line in TRICKY_ENV.splitlines():
        if len(line) > 3:
            assert line not in gen.code
    assert dict(gen.secrets) == {
        "my_saas_env": TRICKY_ENV,
        "my_saas_staging_env": "DEBUG=1\n",
        "cafe_unicode_env": "X=1",
    }
    assert f'adopt_id="{ids["a"]}"' in gen.code and f'adopt_id="{ids["staging"]}"' in gen.code
    assert "description=None," in gen.code and 'description="",' in gen.code
    assert "description='the \"pre\" one'," in gen.code
    assert 'name="Café ☕ Ünïcode",' in gen.code
    assert gen.code.count('name="production",') == 3
    assert "2026-12-03T12:00:00Z" in gen.code and emu.url in gen.code and KEY not in gen.code
    # Deterministic: the same server and time give the same bytes.
    assert _generate(emu, imp.Selection(all=True)).code == gen.code


def test_selection_by_name_and_id_keeps_global_names(emu):
    ids = _seed(emu)
    by_name = _generate(emu, imp.Selection(names=("My SaaS",)))
    assert by_name.projects == 2 and "cafe_unicode" not in by_name.code
    by_id = _generate(emu, imp.Selection(project_ids=(ids["b"],)))
    # The second "My SaaS" is my_saas_2 whether or not the first one is selected.
    assert by_id.projects == 1 and 'my_saas_2 = Project(\n    "my_saas_2",' in by_id.code
    with pytest.raises(imp.ImportFailed, match="did you mean 'My SaaS'"):
        _generate(emu, imp.Selection(names=("my saas",)))
    with pytest.raises(imp.ImportFailed, match="no project with id 'nope'"):
        _generate(emu, imp.Selection(project_ids=("nope",)))
    with pytest.raises(imp.ImportFailed, match="select projects"):
        imp.Selection()


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args):
        self.created.append(args)
        return [f"id-of-{args.name}", dict(args.inputs)]

    def call(self, args):
        return {}


def test_generated_program_runs_with_the_real_resource_classes(emu, tmp_path):
    ids = _seed(emu)
    gen = _generate(emu, imp.Selection(all=True))
    key = sealed_mod.new_key()
    (tmp_path / imp.SEALED_FILE).write_text(sealed_mod.seal(dict(gen.secrets), key).render())
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="imported", stack="dev", preview=False)
    pulumi.runtime.set_all_config({sealed_mod.KEY_CONFIG: key}, [sealed_mod.KEY_CONFIG])

    @pulumi.runtime.test
    def run():
        program = {"__name__": "__main__", "__file__": str(tmp_path / "__main__.py")}
        exec(compile(gen.code, "__main__.py", "exec"), program)
        return pulumi.Output.from_input(None)

    run()
    by_name = {r.name: r for r in mocks.created}
    assert by_name["my_saas"].typ == "pulumi-python:dynamic/dokploy:Project"
    assert by_name["my_saas"].inputs["adopt_id"] == ids["a"]
    assert by_name["my_saas"].inputs["name"] == "My SaaS"
    assert by_name["my_saas_staging"].inputs["project_id"] == "id-of-my_saas"
    assert by_name["my_saas_staging"].inputs["adopt_id"] == ids["staging"]
    assert by_name["my_saas_2_production"].inputs["name"] == "production"
    # env reaches the resource as the exact text, secret.
    env_input = by_name["my_saas"].inputs["env"]
    assert isinstance(env_input, dict) and env_input.get("value") == TRICKY_ENV
    assert set(by_name) == {
        "my_saas",
        "my_saas_production",
        "my_saas_staging",
        "my_saas_2",
        "my_saas_2_production",
        "cafe_unicode",
        "cafe_unicode_production",
    }


# -- secrets -------------------------------------------------------------------------------------------


def _fake_pulumi(tmp_path: Path) -> Path:
    """A `pulumi` that records argv and stdin of `config set` per key, and prints nothing secret."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(
        "#!" + sys.executable + "\n"
        "import sys, os, json, pathlib\n"
        "rec = pathlib.Path(os.environ['FAKE_PULUMI_DIR'])\n"
        "key = sys.argv[-1]\n"
        "(rec / (key + '.value')).write_bytes(sys.stdin.buffer.read())\n"
        "(rec / (key + '.argv')).write_text(json.dumps(sys.argv[1:]))\n"
    )
    script.chmod(0o755)
    return bin_dir


SECRETS = (("k_env", TRICKY_ENV), ("odd_env", "NO_NEWLINE='a'\"b\"\\c$HOME`x`"), ("nl_env", "A=1\n\n\n"))


def test_secrets_script_sets_each_value_byte_for_byte_off_argv(tmp_path):
    bin_dir = _fake_pulumi(tmp_path)
    rec = tmp_path / "rec"
    rec.mkdir()
    script = tmp_path / "secrets.sh"
    cli.write_private(script, cli.secrets_script(SECRETS, "dev"))
    assert stat.S_IMODE(script.stat().st_mode) == 0o600
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_PULUMI_DIR=str(rec))
    proc = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, check=True)
    for key, value in SECRETS:
        assert (rec / f"{key}.value").read_bytes() == value.encode()
        argv = (rec / f"{key}.argv").read_text()
        assert argv == f'["config", "set", "--secret", "--raw", "--stack", "dev", "--", "{key}"]'
        assert value not in proc.stdout + proc.stderr


def test_apply_secrets_passes_values_on_stdin_only(tmp_path, monkeypatch):
    bin_dir = _fake_pulumi(tmp_path)
    rec = tmp_path / "rec"
    rec.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_DIR", str(rec))
    cli.apply_secrets(SECRETS, None)
    for key, value in SECRETS:
        assert (rec / f"{key}.value").read_bytes() == value.encode()
        assert value not in (rec / f"{key}.argv").read_text()


def test_write_private_tightens_an_existing_file(tmp_path):
    path = tmp_path / "s.sh"
    path.write_text("old")
    path.chmod(0o644)
    cli.write_private(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600


# -- the CLI -------------------------------------------------------------------------------------------


def _cli(argv, monkeypatch, emu, cwd: Path):
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("DOKPLOY_URL", emu.url)
    monkeypatch.setenv("DOKPLOY_API_KEY", KEY)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_cli_writes_program_sealed_env_and_private_key_script_and_never_prints_values(emu, monkeypatch, tmp_path):
    _seed(emu)
    code, out, err = _cli(["import", "--all", "--output", "__main__.py"], monkeypatch, emu, tmp_path)
    assert code == 0 and out == ""
    program = (tmp_path / "__main__.py").read_text()
    assert "Generated by `python -m dokploy_pulumi import --all --output __main__.py`" in program
    sealed = (tmp_path / imp.SEALED_FILE).read_text()
    script = tmp_path / imp.SECRETS_SCRIPT
    assert stat.S_IMODE(script.stat().st_mode) == 0o600
    assert "mode 0600" in err and "SECRET key" in err and "safe to commit" in err
    # (Fragments no generated id or name can contain: ids are [A-Za-z0-9_-].)
    for secret in ('Q="say', 'ML="l1', "C:\\path", "DEBUG=1", "X=1"):
        assert secret not in out + err + program + sealed + script.read_text()
    # The script holds the key only, and the key opens every entry.
    key = next(line for line in script.read_text().splitlines() if "config set" in line).split("'")[3]
    opened = sealed_mod.SealedFile.parse(sealed)
    assert {name: opened.open(key, name) for name in opened.entries} == {
        "my_saas_env": TRICKY_ENV,
        "my_saas_staging_env": "DEBUG=1\n",
        "cafe_unicode_env": "X=1",
    }
    assert "dokployImport:envKey" in script.read_text()
    # An existing program is not overwritten without --force.
    code, _, err = _cli(["import", "--all", "--output", "__main__.py"], monkeypatch, emu, tmp_path)
    assert code == 1 and "--force" in err


def test_cli_stdout_mode_prints_code_only(emu, monkeypatch, tmp_path):
    _seed(emu)
    code, out, err = _cli(["import", "--name", "Café ☕ Ünïcode"], monkeypatch, emu, tmp_path)
    assert code == 0 and out.startswith('"""Existing Dokploy projects') and "X=1" not in out + err
    ast.parse(out)


def test_cli_help_documents_the_command():
    proc = subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "import", "--help"], capture_output=True, text=True, check=True
    )
    for needle in (
        "--all",
        "--project-id",
        "--name",
        "--output",
        "--module",
        "--apply-config",
        "--secrets-file",
        "0600",
        "DOKPLOY_URL",
        "dokploy:url",
    ):
        assert needle in proc.stdout


def test_cli_keys_dokploy_accepts_pass_the_providers_check(emu, monkeypatch, tmp_path):
    # Node's dotenv (Dokploy) reads `my-key` and `a.b`; so does the providers' check: no warning.
    emu.create_project("legacy", env="my-key=s3cr3t-value\na.b=2\nOK=1\n")
    code, out, err = _cli(["import", "--all"], monkeypatch, emu, tmp_path)
    assert code == 0
    assert "warning" not in err
    assert "s3cr3t-value" not in out + err


# -- the sealed env file ---------------------------------------------------------------------------------


def test_sealed_file_round_trips_and_binds_each_entry_to_its_name_and_key():
    key = sealed_mod.new_key()
    values = {"a_env": TRICKY_ENV, "b_env": "B=2\n", "c_env": "日本=語\n"}
    sealed = sealed_mod.seal(values, key)
    text = sealed.render()
    for value in values.values():
        assert value not in text and value.strip() not in text
    parsed = sealed_mod.SealedFile.parse(text)
    assert {name: parsed.open(key, name) for name in values} == values
    # An entry moved to another name does not open: entries cannot be swapped between objects.
    swapped = sealed_mod.SealedFile(parsed.key_check, {**parsed.entries, "a_env": parsed.entries["b_env"]})
    with pytest.raises(sealed_mod.SealedEnvError, match="'a_env' .* is damaged"):
        swapped.open(key, "a_env")
    # One changed character is detected, never decrypted to something else.
    raw = parsed.entries["b_env"]
    tampered = raw[:20] + ("A" if raw[20] != "A" else "B") + raw[21:]
    with pytest.raises(sealed_mod.SealedEnvError, match="damaged"):
        sealed_mod.SealedFile(parsed.key_check, {"b_env": tampered}).open(key, "b_env")
    # Another key is told apart from damage.
    with pytest.raises(sealed_mod.SealedEnvError, match="sealed with another key"):
        parsed.open(sealed_mod.new_key(), "a_env")
    with pytest.raises(sealed_mod.SealedEnvError, match="not a sealed-env key"):
        parsed.open("not-a-key", "a_env")
    # Resealing keeps the entries whose value did not change, byte for byte.
    again = sealed_mod.seal({**values, "b_env": "B=3\n"}, key, parsed)
    assert again.entries["a_env"] == parsed.entries["a_env"] and again.entries["c_env"] == parsed.entries["c_env"]
    assert again.entries["b_env"] != parsed.entries["b_env"] and again.open(key, "b_env") == "B=3\n"
    # Under a new key everything is sealed anew.
    other = sealed_mod.new_key()
    assert sealed_mod.seal(values, other, parsed).open(other, "a_env") == TRICKY_ENV


def test_sealed_env_gives_each_env_as_a_secret_output(tmp_path):
    key = sealed_mod.new_key()
    path = tmp_path / "env.sealed"
    path.write_text(sealed_mod.seal({"x_env": "X=1\n"}, key).render())
    pulumi.runtime.set_mocks(_Mocks(), project="imported", stack="dev", preview=False)
    pulumi.runtime.set_all_config({sealed_mod.KEY_CONFIG: key}, [sealed_mod.KEY_CONFIG])
    seen = {}

    @pulumi.runtime.test
    def run():
        env = SealedEnv(path)  # the key from stack config by default
        out = env.get("x_env")
        assert key not in repr(env)
        with pytest.raises(SealedEnvError, match="no entry 'y_env'"):
            env.get("y_env")

        async def inspect():
            seen["secret"] = await out.is_secret()
            seen["value"] = await out.future()

        return pulumi.Output.from_input(inspect())

    run()
    assert seen == {"secret": True, "value": "X=1\n"}


# -- re-running: names the stack holds -------------------------------------------------------------------


def _estate(*projects):
    return [
        imp.ListedProject(project_id=pid, name=name, created_at=f"2026-01-0{i + 1}T00:00:00Z", environments=tuple(envs))
        for i, (pid, name, envs) in enumerate(projects)
    ]


P, E = imp.PROJECT_TYPE, imp.ENVIRONMENT_TYPE


def test_names_the_state_holds_win_and_gone_names_stay_reserved():
    first = _estate(
        ("p1", "blog", [("p1d", "production", True)]),
        ("p2", "blog", [("p2d", "production", True)]),
        ("p3", "shop", [("p3d", "production", True), ("e1", "prod", False)]),
    )
    names = imp.assign_names(first)
    assert names.projects == {"p1": "blog", "p2": "blog_2", "p3": "shop"}
    assert names.environments["e1"] == "shop_prod"
    state = [(P, n, i) for i, n in names.projects.items()] + [(E, n, i) for i, n in names.environments.items()]
    state.append(("pulumi:providers:pulumi-python", "default", "x"))  # not ours: ignored

    # In the UI: blog p1 deleted, prod renamed to live, a new prod and a new blog.
    after = _estate(
        ("p2", "blog", [("p2d", "production", True)]),
        ("p3", "shop", [("p3d", "production", True), ("e1", "live", False), ("e2", "prod", False)]),
        ("p4", "blog", [("p4d", "production", True)]),
    )
    held = imp.held_names(state)
    again = imp.assign_names(after, held)
    assert again.projects == {"p2": "blog_2", "p3": "shop", "p4": "blog_3"}
    assert again.environments == {
        "p2d": "blog_2_production",
        "p3d": "shop_production",
        "e1": "shop_prod",
        "e2": "shop_prod_2",
        "p4d": "blog_3_production",
    }
    # Without the state (what a2b6a6c did), the names shift onto other objects.
    blind = imp.assign_names(after)
    assert blind.projects["p2"] == "blog" and blind.environments["e2"] == "shop_prod"


def test_names_from_the_file_being_regenerated_and_objects_managed_elsewhere():
    listed = _estate(("p1", "blog", [("p1d", "production", True)]), ("p2", "shop", [("p2d", "production", True)]))
    code = imp.render(
        imp.Inventory(listed=tuple(listed), selected=()),
        imp.assign_names(listed),
        command="c",
        url="http://127.0.0.1:1",
        now=NOW,
    ).code
    module = 'from dokploy_pulumi import Project, ProjectArgs\nweblog = Project("weblog", ProjectArgs(name="blog", adopt_id="p1"))\n'
    # Not in the state yet: the file's name is kept; the state wins where both have one.
    held = imp.held_names([(P, "the_shop", "p2")], module)
    assert held.projects == {"p2": "the_shop", "p1": "weblog"} and held.elsewhere == frozenset()
    assert imp.assign_names(listed, held).projects == {"p1": "weblog", "p2": "the_shop"}
    # For a module, what the state holds but the module does not declare is declared elsewhere.
    held = imp.held_names([(P, "the_shop", "p2"), (imp.PROJECT_TYPE + "Duplicate", "copy", "p9")], module, module=True)
    assert held.elsewhere == {"p2", "p9"}
    assert imp.declared_in(code) == []  # nothing selected, nothing declared
    assert imp.declared_in("not python (") == []


def test_a_held_name_that_is_no_identifier_keeps_its_urn_name_with_a_variable_of_its_own(emu):
    pid = emu.create_project("app", env="A=1")["projectId"]
    with DokployClient(emu.url, KEY) as client:
        inv = imp.read_server(client, imp.Selection(all=True))
    default_env = inv.selected[0].environments[0].environment_id
    held = imp.held_names([(P, "my-app", pid), (E, "config", default_env)])
    gen = imp.render(inv, imp.assign_names(inv.listed, held), command="c", url=emu.url, now=NOW, held=held)
    assert 'my_app = Project(\n    "my-app",' in gen.code
    assert 'config_ = Environment(\n    "config",' in gen.code and "project_id=my_app.id," in gen.code
    assert dict(gen.secrets) == {"my-app_env": "A=1"}
    compile(gen.code, "__main__.py", "exec")


def test_generated_code_is_stable_under_ruff_format(emu):
    _seed(emu)
    gen = _generate(emu, imp.Selection(all=True))
    # The project's ruff (the dev extra); the matrix venvs install only the test extra.
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        ruff = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "ruff"
    proc = subprocess.run([str(ruff), "format", "--check", "-"], input=gen.code, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- preflight: every message true ---------------------------------------------------------------------


def test_cli_warns_about_env_values_no_spelling_carries_back_and_preview_would_refuse_them(emu, monkeypatch, tmp_path):
    # Node's dotenv reads `K="# x\` as `# x\`; no spelling carries that value back once a line follows.
    emu.create_project("legacy", env='OK=1\nK="# s3cr3t\\"')
    code, out, err = _cli(["import", "--all"], monkeypatch, emu, tmp_path)
    assert code == 0 and "s3cr3t" not in out + err
    problem = next(line for line in err.splitlines() if line.startswith("warning: `pulumi preview` will refuse"))
    assert problem.startswith("warning: `pulumi preview` will refuse legacy: env: env values of 'K' cannot reach")
    assert "change them in Dokploy, then run the import again" in err
    assert "Dokploy accepts these env keys" not in err and "rename" not in err  # keys are not the problem
    # And it is true: the providers' own check refuses exactly that.
    from dokploy_pulumi.providers import ProjectProvider

    failures = ProjectProvider().check({}, {"name": "legacy", "env": 'OK=1\nK="# s3cr3t\\"'}).failures
    assert [(f.property, "'K'" in f.reason) for f in failures] == [("env", True)]


# -- tags ----------------------------------------------------------------------------------------------


def test_tags_become_tag_resources_and_the_tags_of_tagged_projects(emu, tmp_path):
    api = DokployClient(emu.url, KEY)
    client_tag = api.tag.create("Client: ACME", color="#ef4444")
    team_tag = api.tag.create("team")
    api.tag.create("unused")
    tagged = api.project.create("Tagged").project.project_id
    api.project.create("Plain")
    api.tag.bulk_assign(tagged, [team_tag.tag_id, client_tag.tag_id])
    emu.reset_requests()
    gen = _generate(emu, imp.Selection(all=True))
    assert {r.procedure for r in emu.requests} <= {"project.all", "project.one", "settings.getDokployVersion"}
    assert gen.tags == 2 and "unused" not in gen.code and "1 tag" not in gen.code and "2 tag(s)" in gen.code
    assert gen.code.count("= Tag(") == 2 and gen.code.count("tags=[") == 1  # the untagged project owns none

    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="imported", stack="dev", preview=False)

    @pulumi.runtime.test
    def run():
        exec(compile(gen.code, "__main__.py", "exec"), {"__name__": "__main__", "__file__": str(tmp_path / "m.py")})
        return pulumi.Output.from_input(None)

    run()
    by_name = {r.name: r for r in mocks.created}
    acme = by_name["tag_client_acme"]
    assert acme.typ == "pulumi-python:dynamic/dokploy:Tag"
    assert (acme.inputs["name"], acme.inputs["color"], acme.inputs["adopt_id"]) == (
        "Client: ACME",
        "#ef4444",
        client_tag.tag_id,
    )
    assert "color" not in by_name["tag_team"].inputs  # null color: not declared
    assert sorted(by_name["tagged"].inputs["tags"]) == ["id-of-tag_client_acme", "id-of-tag_team"]
    assert "tags" not in by_name["plain"].inputs

    # Regenerating keeps the names the stack holds, also for a renamed tag.
    held = imp.held_names([("pulumi-python:dynamic/dokploy:Tag", "acme", client_tag.tag_id)])
    api.tag.update(client_tag.tag_id, name="Client: ACME Corp")
    inv = imp.read_server(api, imp.Selection(all=True))
    names = imp.assign_names(inv.listed, held, inv.tags)
    assert names.tags[client_tag.tag_id] == "acme" and names.tags[team_tag.tag_id] == "tag_team"
    api.close()


def test_hostile_tag_names_give_valid_code_and_distinct_names(emu, tmp_path):
    api = DokployClient(emu.url, KEY)
    names = ['say "hi"\nbye\\', "日本語", "a-b", "a_b", "team", "tag team", "'''", "x" * 300]
    tags = [api.tag.create(name) for name in names]
    project = api.project.create("tag team").project.project_id  # its slug is tag_team too
    api.tag.bulk_assign(project, [t.tag_id for t in tags])
    gen = _generate(emu, imp.Selection(all=True))
    ast.parse(gen.code)
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, project="imported", stack="dev", preview=False)

    @pulumi.runtime.test
    def run():
        exec(compile(gen.code, "__main__.py", "exec"), {"__name__": "__main__", "__file__": str(tmp_path / "m.py")})
        return pulumi.Output.from_input(None)

    run()
    made = [r for r in mocks.created if r.typ == "pulumi-python:dynamic/dokploy:Tag"]
    assert sorted(r.inputs["name"] for r in made) == sorted(names)
    assert len({r.name for r in mocks.created}) == len(mocks.created)  # no two resources share a name
    (tagged,) = [r for r in mocks.created if r.typ == "pulumi-python:dynamic/dokploy:Project"]
    assert sorted(tagged.inputs["tags"]) == sorted(f"id-of-{r.name}" for r in made)
    api.close()
