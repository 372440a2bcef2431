"""The package as users get it: sdist and wheel built, checked, installed and used.

Builds the sdist and, from it, the wheel (`python -m build`, setuptools pinned by
constraints.txt), checks both with `twine check --strict`, looks inside them, then installs the
wheel into a fresh virtualenv and runs examples/quickstart through the real Pulumi CLI from that
install against the emulator started from that install. The repository is on no path there: the
program runs from a copy in a temporary folder, with the clean virtualenv as its `virtualenv`,
PULUMI_PYTHON_CMD and first `python` on PATH, and no PYTHONPATH.

pip's cache is reused, so after the first run this takes about a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO_ROOT / "constraints.txt"
QUICKSTART = REPO_ROOT / "examples" / "quickstart"
VERSION = re.search(r'__version__ = "([^"]+)"', (REPO_ROOT / "dokploy_pulumi" / "_version.py").read_text()).group(1)  # type: ignore[union-attr]

API_KEY = "package-test-key"
# Per command; the whole module stays well under pytest's timeout below.
COMMAND_TIMEOUT = 240

pytestmark = pytest.mark.timeout(600)


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path


def _run(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"$ {' '.join(map(str, args))}\nexit code {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc


# Left out of the copy the build starts from: they are big, or local state of this checkout.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".tools", ".demo", "build", "dist", "*.egg-info", "__pycache__",
    ".pytest_cache", ".hypothesis", ".pulumi-state", "venv", ".venv-matrix", ".test-logs", "node_modules",
)  # fmt: skip


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """sdist, then the wheel built from the sdist (build's default), from a copy of the tree.

    Building from a copy keeps build/ and *.egg-info out of the checkout other tests use.
    """
    src = tmp_path_factory.mktemp("src") / "dokploy-pulumi"
    shutil.copytree(REPO_ROOT, src, ignore=_NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    # PIP_CONSTRAINT reaches the pip that fills build's isolated environment: the exact
    # setuptools of constraints.txt, not whatever is newest.
    env = {**os.environ, "PIP_CONSTRAINT": str(CONSTRAINTS), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    _run([sys.executable, "-m", "build", "--outdir", out, src], env=env)
    sdists = list(out.glob("*.tar.gz"))
    wheels = list(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return Dists(sdist=sdists[0], wheel=wheels[0])


def test_file_names_carry_the_version(dists: Dists) -> None:
    assert dists.sdist.name == f"dokploy_pulumi-{VERSION}.tar.gz"
    assert dists.wheel.name == f"dokploy_pulumi-{VERSION}-py3-none-any.whl"


def test_twine_check_strict(dists: Dists) -> None:
    result = _run([sys.executable, "-m", "twine", "check", "--strict", dists.sdist, dists.wheel])
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_contents_and_metadata(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as whl:
        names = whl.namelist()
        dist_info = f"dokploy_pulumi-{VERSION}.dist-info"
        metadata = whl.read(f"{dist_info}/METADATA").decode()
        entry_points = (
            whl.read(f"{dist_info}/entry_points.txt").decode() if f"{dist_info}/entry_points.txt" in names else ""
        )

    for required in (
        "dokploy_pulumi/__init__.py",
        "dokploy_pulumi/py.typed",
        "dokploy_pulumi/providers.py",
        "dokploy_pulumi/testing/__init__.py",
        "dokploy_pulumi/testing/__main__.py",
        "dokploy_pulumi/testing/pytest_plugin.py",
        f"{dist_info}/licenses/LICENSE",
    ):
        assert required in names, f"{required} missing from the wheel"
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"dokploy_pulumi", dist_info}, top_level
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    fields = _metadata_fields(metadata)
    assert fields["Name"] == ["dokploy-pulumi"]
    assert fields["Version"] == [VERSION]
    assert fields["License-Expression"] == ["Apache-2.0"]
    assert fields["License-File"] == ["LICENSE"]
    assert fields["Requires-Python"] == [">=3.10"]
    assert "Typing :: Typed" in fields["Classifier"]
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in fields["Classifier"]
    # setuptools >= 77 refuses License :: classifiers beside an SPDX expression; none slipped in.
    assert not [c for c in fields["Classifier"] if c.startswith("License ::")]
    assert fields["Author"] == ["dokploy-pulumi contributors"]
    assert {"pytest", "test"} <= set(fields["Provides-Extra"])
    requires = fields["Requires-Dist"]
    assert any(r.startswith("pytest") and 'extra == "pytest"' in r for r in requires), requires
    assert any(r.startswith("pulumi") and "extra" not in r for r in requires), requires
    # Exact pins belong in constraints.txt, not in what users install.
    assert not [r for r in requires if "==" in r.split(";", 1)[0]], requires
    # The pytest plugin is opt-in (pytest_plugins = [...]), not auto-loaded.
    assert "pytest11" not in entry_points
    # The README is the long description.
    assert fields["Description-Content-Type"] == ["text/markdown"]
    readme_title = (REPO_ROOT / "README.md").read_text().splitlines()[0]
    assert readme_title in metadata.split("\n\n", 1)[1]


def test_sdist_contents(dists: Dists) -> None:
    prefix = f"dokploy_pulumi-{VERSION}"
    with tarfile.open(dists.sdist) as sdist:
        names = [m.name for m in sdist.getmembers()]
    for required in ("PKG-INFO", "pyproject.toml", "README.md", "LICENSE", "dokploy_pulumi/py.typed",
                     "dokploy_pulumi/testing/pytest_plugin.py"):  # fmt: skip
        assert f"{prefix}/{required}" in names, f"{required} missing from the sdist"
    relative = [n[len(prefix) + 1 :] for n in names if n.startswith(prefix + "/")]
    unwanted = [
        n for n in relative if n.split("/", 1)[0] in {"tests", "scripts", "benchmarks", ".venv", ".tools", ".git"}
    ]
    assert not unwanted, unwanted


# -- the wheel in a clean virtualenv, running the quickstart -----------------------------------


@pytest.fixture(scope="module")
def pulumi_bin_dir() -> Path:
    """The folder holding `pulumi` and upstream's Python language host (scripts/install-pulumi.sh)."""
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "install-pulumi.sh")],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        pytest.fail(f"scripts/install-pulumi.sh failed:\n{result.stdout}\n{result.stderr}")
    return Path(lines[-1])


@dataclass(frozen=True)
class Installed:
    program: Path  # a copy of examples/quickstart, with the clean virtualenv in program/venv
    python: Path
    env: dict[str, str]  # for anything run from the install: no repository anywhere


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing that could point Python at the checkout, or the CLI at a service.
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PULUMI_ACCESS_TOKEN",
                       "PULUMI_API", "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL"}
        and not key.startswith(("DOKPLOY_", "PULUMI_RUNTIME_"))
    }  # fmt: skip
    path = [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not Path(entry).resolve().is_relative_to(REPO_ROOT)
    ]
    env.update(extra)
    env["PATH"] = os.pathsep.join([*extra.get("PATH", "").split(os.pathsep), *path])
    return env


@pytest.fixture(scope="module")
def installed(dists: Dists, pulumi_bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("quickstart")
    program = work / "quickstart"
    # The example as a user has it, minus requirements.txt (which installs from a checkout):
    # its Pulumi.yaml says `virtualenv: venv`, so the clean virtualenv goes there.
    shutil.copytree(QUICKSTART, program, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    (program / "requirements.txt").unlink()
    venv = program / "venv"
    # The interpreter running the tests; `-m venv` from a virtualenv bases the new one on the
    # base interpreter, so nothing of .venv (or the editable install) is visible in it.
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    env = _clean_env(
        {
            "PATH": os.pathsep.join([str(pulumi_bin_dir), str(venv / "bin")]),
            "PULUMI_PYTHON_CMD": str(python),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    _run([python, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, dists.wheel], cwd=work, env=env)
    return Installed(program=program, python=python, env=env)


def test_installed_package_is_the_wheel_and_not_the_checkout(installed: Installed) -> None:
    probe = _run(
        [installed.python, "-c",
         "import json, sys, dokploy_pulumi; "
         "print(json.dumps({'file': dokploy_pulumi.__file__, 'version': dokploy_pulumi.__version__, "
         "'path': sys.path}))"],
        cwd=installed.program.parent, env=installed.env,
    )  # fmt: skip
    found = json.loads(probe.stdout)
    assert Path(found["file"]).is_relative_to(installed.program / "venv"), found["file"]
    assert found["version"] == VERSION
    assert not [p for p in found["path"] if p and Path(p).resolve().is_relative_to(REPO_ROOT)]


@pytest.fixture
def emulator(installed: Installed) -> Iterator[str]:
    """The emulator of the installed package (`python -m dokploy_pulumi.testing serve`)."""
    proc = subprocess.Popen(
        [str(installed.python), "-m", "dokploy_pulumi.testing", "serve", "--port", "0",
         "--api-key", API_KEY],
        cwd=installed.program.parent, env=installed.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            proc.kill()
            pytest.fail(f"the emulator did not start: {line!r} {proc.communicate()[1]}")
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get(url: str, procedure: str, **params: str) -> Any:
    response = httpx.get(f"{url}/api/{procedure}", params=params, headers={"x-api-key": API_KEY}, timeout=10)
    response.raise_for_status()
    return response.json()


def _projects(url: str) -> list[dict[str, Any]]:
    return list(_get(url, "project.all"))


@pytest.mark.e2e
def test_quickstart_up_and_destroy_from_the_wheel(installed: Installed, emulator: str, tmp_path: Path) -> None:
    home = tmp_path / "pulumi-home"
    state = tmp_path / "state"
    home.mkdir()
    state.mkdir()
    env = {
        **installed.env,
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "package-test",
        "PULUMI_SKIP_UPDATE_CHECK": "1",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "DOKPLOY_URL": emulator,
        "DOKPLOY_API_KEY": API_KEY,
    }

    def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
        return _run(["pulumi", *args, "--non-interactive", "--color=never"], cwd=installed.program, env=env)

    assert _projects(emulator) == []
    pulumi("stack", "init", "dev")
    pulumi("up", "--yes")
    outputs = json.loads(pulumi("stack", "output", "--json").stdout)

    projects = _projects(emulator)
    assert [(p["projectId"], p["name"]) for p in projects] == [(outputs["project_id"], "My SaaS")]
    project = projects[0]
    assert project["description"] == "Managed by Pulumi"
    environments = {e["name"]: e for e in project["environments"]}
    assert set(environments) == {"production", "staging"}
    assert environments["staging"]["environmentId"] == outputs["staging_environment_id"]
    assert environments["production"]["environmentId"] == outputs["production_environment_id"]
    assert outputs["production_is_default"] is True
    assert "LOG_LEVEL=info" in _get(emulator, "project.one", projectId=outputs["project_id"])["env"]
    for name, line in (("staging", "DEBUG=1"), ("production", "LOG_LEVEL=warn")):
        environment_id = environments[name]["environmentId"]
        assert line in _get(emulator, "environment.one", environmentId=environment_id)["env"]

    # The state names the provider classes of the installed package, by reference.
    deployment = json.loads(pulumi("stack", "export").stdout)["deployment"]
    types = sorted(r["type"] for r in deployment["resources"])
    assert types.count("pulumi-python:dynamic/dokploy:Environment") == 2
    assert "pulumi-python:dynamic/dokploy:Project" in types

    pulumi("destroy", "--yes")
    assert _projects(emulator) == []


def _metadata_fields(metadata: str) -> dict[str, list[str]]:
    """The header fields of a METADATA file (everything before the description body)."""
    fields: dict[str, list[str]] = {}
    for line in metadata.split("\n\n", 1)[0].splitlines():
        if ": " in line and not line.startswith(" "):
            key, value = line.split(": ", 1)
            fields.setdefault(key, []).append(value)
    return fields
