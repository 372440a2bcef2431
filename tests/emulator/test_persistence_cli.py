"""State file persistence, the ``serve`` CLI and import hygiene."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dokploy_pulumi.testing import DokployEmulator

ROOT = Path(__file__).resolve().parents[2]
KEY = "persist-secret-key"


def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state" / "dokploy.json"
    with DokployEmulator(KEY, state_file=state) as emu:
        client = httpx.Client(base_url=emu.url, headers={"x-api-key": KEY})
        created = client.post("/api/project.create", json={"name": "kept", "env": "A=1"}).json()
        env_id = created["environment"]["environmentId"]
        emu.add_service(env_id, "redis", "cache")
        staging = client.post(
            "/api/environment.create", json={"projectId": created["project"]["projectId"], "name": "staging"}
        ).json()
        client.close()
        organization = emu.organization_id
    document = json.loads(state.read_text())
    assert KEY not in state.read_text()  # keys are never written
    assert [p["name"] for p in document["projects"]] == ["kept"]
    assert not list(state.parent.glob("*.tmp"))  # atomic writes leave no temp file

    with DokployEmulator(KEY, state_file=state) as again:
        assert again.organization_id == organization
        client = httpx.Client(base_url=again.url, headers={"x-api-key": KEY})
        one = client.get("/api/project.one", params={"projectId": created["project"]["projectId"]}).json()
        assert one["env"] == "A=1"
        assert [e["name"] for e in one["environments"]] == ["production", "staging"]
        assert len(one["environments"][0]["redis"]) == 1
        newer = client.post("/api/project.create", json={"name": "newer"}).json()["project"]
        assert newer["createdAt"] > created["project"]["createdAt"]
        assert [p["name"] for p in client.get("/api/project.all").json()] == ["newer", "kept"]
        removed = client.post("/api/environment.remove", json={"environmentId": staging["environmentId"]})
        assert removed.status_code == 200
        client.close()
    assert len(json.loads(state.read_text())["environments"]) == 2


def test_import_has_no_side_effects_and_no_pulumi() -> None:
    # A fresh interpreter importing the real package (its __init__ is lazy): the emulator and the
    # small modules it shares (_ilike) must not pull in pulumi, grpc or pytest, nor start threads.
    code = (
        "import sys, threading\n"
        "before = threading.active_count()\n"
        "import dokploy_pulumi.testing as t\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'grpc', 'pytest', 'google'))\n"
        "assert not heavy, heavy\n"
        "assert threading.active_count() == before, 'thread started'\n"
        "assert t.DokployEmulator\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_cli_serve_subprocess(tmp_path: Path) -> None:
    state = tmp_path / "cli-state.json"
    command = [
        sys.executable, "-m", "dokploy_pulumi.testing", "serve",
        "--port", "0", "--api-key", "cli-secret", "--state", str(state), "--latency", "0",
    ]  # fmt: skip

    def start(*extra: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [*command, *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        return process, match.group(0)

    process, url = start()
    try:
        headers = {"x-api-key": "cli-secret"}
        assert httpx.get(f"{url}/api/health").json() == {"ok": True}
        assert httpx.post(f"{url}/api/project.create", json={"name": "cli"}, headers=headers).status_code == 200
    finally:
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "cli-secret" not in out + err
    assert out == ""  # exactly one line (already read) and nothing logged per request

    process, url = start("--version", "v0.26.7")  # restart on the same state file, as another release
    try:
        headers = {"x-api-key": "cli-secret"}
        projects = httpx.get(f"{url}/api/project.all", headers=headers).json()
        assert [p["name"] for p in projects] == ["cli"]
        assert httpx.get(f"{url}/api/settings.getDokployVersion", headers=headers).json() == "v0.26.7"
        assert httpx.get(f"{url}/api/project.search", headers=headers).status_code == 404
    finally:
        os.kill(process.pid, signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_cli_refuses_a_version_it_cannot_read() -> None:
    command = [sys.executable, "-m", "dokploy_pulumi.testing", "serve", "--port", "0", "--version", "latest"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a Dokploy version" in result.stderr


def _serve_and_create_first(command: list[str], state: Path) -> subprocess.Popen[str]:
    """Start `serve --state state` and create one project named "first" through it."""
    first = subprocess.Popen(
        [*command, "--state", str(state)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+", first.stdout.readline())
        assert url, first.stderr.read() if first.poll() is not None else ""
        made = httpx.post(f"{url.group(0)}/api/project.create", json={"name": "first"}, headers={"x-api-key": "k-1234"})
        assert made.status_code == 200
    except BaseException:
        first.kill()  # the caller's cleanup never runs for a process it was not given
        first.wait(timeout=10)
        raise
    return first


@pytest.mark.skipif(os.name != "posix", reason="flock and signals")
def test_cli_second_serve_on_one_state_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "shared.json"
    command = [sys.executable, "-m", "dokploy_pulumi.testing", "serve", "--port", "0", "--api-key", "k-1234"]
    first = _serve_and_create_first(command, state)
    try:
        # A second process on the same file (another spelling of its path too) would overwrite the
        # first one's writes with its own copy: refused before it loads or serves anything.
        for spelling in (str(state), str(tmp_path / "." / "shared.json")):
            second = subprocess.run(
                [*command, "--state", spelling], cwd=ROOT, capture_output=True, text=True, timeout=60
            )
            assert second.returncode == 2, second
            assert second.stdout == ""
            assert f"is in use by another emulator (process {first.pid})" in second.stderr
        assert [p["name"] for p in json.loads(state.read_text())["projects"]] == ["first"]

        # Another file is no problem while the first runs.
        other = subprocess.Popen(
            [*command, "--state", str(tmp_path / "other.json")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert other.stdout is not None and "listening on" in other.stdout.readline()
        os.kill(other.pid, signal.SIGTERM)
        assert other.wait(timeout=10) == 0
    finally:
        os.kill(first.pid, signal.SIGTERM)
        first.communicate(timeout=10)
    assert first.returncode == 0

    # The lock ends with its holder: the file can be served again, with what the first one wrote.
    again = subprocess.Popen(
        [*command, "--state", str(state)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert again.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+", again.stdout.readline())
        assert url
        projects = httpx.get(f"{url.group(0)}/api/project.all", headers={"x-api-key": "k-1234"}).json()
        assert [p["name"] for p in projects] == ["first"]
    finally:
        os.kill(again.pid, signal.SIGKILL)  # killed, not stopped: the kernel still drops the lock
        again.wait(timeout=10)
    relocked = subprocess.Popen(
        [*command, "--state", str(state)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert relocked.stdout is not None and "listening on" in relocked.stdout.readline()
    finally:
        os.kill(relocked.pid, signal.SIGTERM)
        relocked.communicate(timeout=10)


@pytest.mark.skipif(os.name != "posix", reason="flock, symlinks and signals")
def test_cli_state_file_through_a_symlink_is_the_same_file(tmp_path: Path) -> None:
    # A symlink is another name of one file: a second emulator on the link's target (or the link)
    # must be refused, and saving must write through the link, not replace the link by a file.
    state = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(state.name)
    command = [sys.executable, "-m", "dokploy_pulumi.testing", "serve", "--port", "0", "--api-key", "k-1234"]
    first = _serve_and_create_first(command, link)
    try:
        assert link.is_symlink()
        assert [p["name"] for p in json.loads(state.read_text())["projects"]] == ["first"]

        second = subprocess.run([*command, "--state", str(state)], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second
        assert f"is in use by another emulator (process {first.pid})" in second.stderr
    finally:
        os.kill(first.pid, signal.SIGTERM)
        first.communicate(timeout=10)
    assert first.returncode == 0


@pytest.mark.skipif(os.name != "posix", reason="flock")
def test_cli_state_file_lock_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    # The lock file cannot be opened (here a folder stands in its place; a read-only folder does the
    # same for a user who is not root): one line naming the file and exit 2, no traceback.
    (tmp_path / "s.json.lock").mkdir()
    command = [sys.executable, "-m", "dokploy_pulumi.testing", "serve", "--port", "0", "--api-key", "k-1234"]
    result = subprocess.run(
        [*command, "--state", str(tmp_path / "s.json")], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and str(tmp_path / "s.json.lock") in result.stderr
