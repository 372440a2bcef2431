"""scripts/test-real.sh's orchestration (bring-up lock, failed bring-ups, the deadline), with a fake recipe.

No Dokploy is built or reached. The script runs from a copy of the repository's shape in tmp_path: its
own scripts/test-real.sh (copied from this checkout, so the test checks the script as it is now), the
release table it reads for Redis (dokploy_pulumi, linked), this interpreter's venv (linked), no-op
setup/install-pulumi scripts and a one-test tier. The script puts its locks under its own root
(`.test-logs/real-<version>.lock`), so the copy keeps them apart from a real run's locks in the
repository (a real `--prepare` running meanwhile is neither blocked nor blocking).

The fake recipe's start.sh keeps the real one's contract: it starts a long-lived server detached
(`setsid nohup ... &`, closing only stdin/stdout/stderr, as the real recipe does: any other descriptor
it was given is inherited), once per version (idempotent), writes an env file with
REAL_DOKPLOY_URL/REAL_DOKPLOY_API_KEY and prints its path last. Every process it starts records its
pid, and each test kills those by pid when it ends. Versions are v0.30.2 and later: they need no
Redis, so the script never reaches apt-get.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The fake recipe. FAKE_MODE_<version without dots> picks what start.sh does for that version.
FAKE_START = r"""#!/usr/bin/env bash
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$1
var="FAKE_MODE_${version//./_}"
mode=${!var:-up}
echo "fake recipe: bringing up $version ($mode)" >&2
# Two bring-ups of one release at once (what the lock prevents) fail, as the real recipe's do.
if ! mkdir "$here/busy-$version" 2>/dev/null; then
  echo "fake recipe: $version is being brought up by another start.sh at once" >&2
  exit 1
fi
trap 'rmdir "$here/busy-$version"' EXIT
case $mode in
  fail) echo "fake recipe: the build failed" >&2; exit 1 ;;
  hang) echo $$ >> "$here/pids"; exec sleep 300 ;;
  noenv) exit 0 ;;
  nokey) printf 'REAL_DOKPLOY_URL=http://127.0.0.1:9\n' > "$here/env-$version"; echo "$here/env-$version"; exit 0 ;;
esac
if [ ! -f "$here/up-$version" ]; then
  # As the real recipe starts Dokploy, Postgres and Redis: detached, only 0-2 redirected.
  setsid nohup bash -c 'echo $$ >> "$1"; echo $$ > "$2"; exec sleep 300' _ "$here/pids" "$here/server-$version" \
    >/dev/null 2>&1 </dev/null &
  # As the real recipe waits for its server's health: up means the server runs (its pid is recorded).
  until [ -s "$here/server-$version" ]; do sleep 0.05; done
  touch "$here/up-$version"
fi
sleep "${FAKE_UP_SECONDS:-0}"
printf 'REAL_DOKPLOY_URL=http://127.0.0.1:9\nREAL_DOKPLOY_API_KEY=fake-key\n' > "$here/env-$version"
echo "$here/env-$version"
"""

# The tier (two files of it): a test that sees the server it was given, and one that FAKE_TIER_HANG=1
# makes hang (recording its pid) for the deadline tests. Its session finalizer (as the real tier's
# sweep of what a run left on the server) takes FAKE_FINALIZER_SECONDS and records that it ended.
FAKE_TIER = """
import os
import time

import pytest


@pytest.fixture(scope="session")
def swept():
    yield
    time.sleep(float(os.environ.get("FAKE_FINALIZER_SECONDS", "0")))
    with open(os.environ["FAKE_PIDS"] + ".finalized", "a") as done:
        done.write(f"{os.getpid()}\\n")


def test_server_given():
    assert os.environ.get("FAKE_TIER_FAIL") != "1", "asked to fail"
    assert os.environ["DOKPLOY_URL"] == "http://127.0.0.1:9"
    assert os.environ["DOKPLOY_API_KEY"] == "fake-key"


def test_hangs_if_asked(swept):
    if os.environ.get("FAKE_TIER_HANG") == "1":
        with open(os.environ["FAKE_PIDS"], "a") as pids:
            pids.write(f"{os.getpid()}\\n")
        time.sleep(300)
"""


# scripts/test.sh's other tiers: static checks and the emulator tiers pass at once (or, with
# FAKE_EMULATOR_FAIL=1, the emulator tiers fail one test; this test's interpreter runs the real
# tier's pytest); the matrix runs, as its pytest would, until stopped.
FAKE_PYTHON = """#!/usr/bin/env bash
case " $* " in *" --maxprocesses "*)
  if [ "${FAKE_EMULATOR_FAIL:-0}" = 1 ]; then
    printf '%s\n' "== short test summary info ==" "FAILED tests/unit/test_x.py::test_y - boom" "== 1 failed in 1s =="
    exit 1
  fi
  if [ "${FAKE_EMULATOR_AFTER_REAL:-0}" = 1 ]; then  # ends 3 s after the real tier
    until [ -f .test-logs/real-summary.txt ]; do sleep 0.1; done
    sleep 3
  fi
  echo "fake emulator tiers: passed"; exit 0 ;;
esac
exec PYTHON "$@"
"""
FAKE_MATRIX = """echo $$ >> "$FAKE_PIDS"
sleep "${FAKE_MATRIX_SECONDS:-300}" &
echo $! >> "$FAKE_PIDS"
wait
"""


@dataclass
class Sandbox:
    root: Path
    recipe: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def twin(self) -> Sandbox:
        """Another checkout on the same machine: the same recipe and servers, its own runs."""
        twin = Sandbox(_checkout(self.root.parent / f"repo{len(list(self.root.parent.glob('repo*')))}"), self.recipe)
        twin.procs = self.procs  # ended with the first's
        return twin

    def env(self, versions: str, **extra: str) -> dict[str, str]:
        # None of the caller's settings for the scripts (a CI run's REAL_DOKPLOY_SERIAL, say).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY_", "REAL_DOKPLOY_", "REAL_DEADLINE"))}
        env |= {
            "REAL_DOKPLOY_RECIPE": str(self.recipe),
            "REAL_DOKPLOY_VERSIONS": versions,
            "REAL_DOKPLOY_UP_WAIT": "5",
            "FAKE_PIDS": str(self.recipe / "pids"),
            # The machine's bring-up locks, here the test's own.
            "REAL_DOKPLOY_LOCK_DIR": str(self.recipe.parent / "locks"),
            # The fake tier needs no plugin but xdist (for the real tier's workers, where a test
            # asks for them) and pytest-timeout (the tier's --timeout): its pytest starts faster
            # without the others. One process by default.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTEST_PLUGINS": "xdist.plugin,pytest_timeout",
            "REAL_TIER_WORKERS": "0",
        }
        return env | extra

    def start(
        self, *args: str, versions: str = "v0.30.2", script: str = "test-real.sh", **extra: str
    ) -> subprocess.Popen[str]:
        # Its own session: the test can end it with everything it started (bar the detached
        # servers, which record their pids).
        proc = subprocess.Popen(
            ["bash", f"scripts/{script}", *args],
            cwd=self.root,
            env=self.env(versions, **extra),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            # SIGINT as a terminal gives it: a run started in the background by a non-interactive
            # shell (`bash .ci/run &`) inherits it ignored, and bash cannot trap a signal ignored
            # on entry, so every stop-by-SIGINT test here hung until its timeout.
            preexec_fn=_default_sigint,
        )
        self.procs.append(proc)
        return proc

    def run(self, *args: str, versions: str = "v0.30.2", **extra: str) -> tuple[int, str]:
        proc = self.start(*args, versions=versions, **extra)
        out, _ = proc.communicate(timeout=120)
        return proc.returncode, out

    def pids(self) -> list[int]:
        path = self.recipe / "pids"
        return [int(line) for line in path.read_text().split()] if path.exists() else []


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _checkout(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    for script in ("test.sh", "test-real.sh", "failed-tests.sh"):
        shutil.copy(REPO / "scripts" / script, root / "scripts" / script)
    (root / "scripts" / "setup.sh").write_text("exit 0\n")
    (root / "scripts" / "install-pulumi.sh").write_text('echo "$PWD"\n')
    (root / "scripts" / "test-matrix.sh").write_text(FAKE_MATRIX)
    (root / "dokploy_pulumi").symlink_to(REPO / "dokploy_pulumi")
    venv = root / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text(FAKE_PYTHON.replace("PYTHON", shlex.quote(sys.executable)))
    for tool in ("python", "ruff", "mypy"):
        if tool != "python":
            (venv / tool).write_text("#!/bin/sh\nexit 0\n")
        (venv / tool).chmod(0o755)
    for suite in ("conformance", "provider", "e2e"):
        (root / "tests" / suite).mkdir(parents=True)
    (root / "tests" / "conformance" / "test_tier.py").write_text(FAKE_TIER)
    (root / "tests" / "e2e" / "test_real_tier.py").write_text(FAKE_TIER)
    # The real tier's plugin for a stop on xdist workers, loaded as tests/conftest.py loads it.
    shutil.copy(REPO / "tests" / "_xdist_stop.py", root / "tests")
    (root / "tests" / "conftest.py").write_text('pytest_plugins = ["_xdist_stop"]\n')
    return root


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    root = _checkout(tmp_path / "repo")
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    (recipe / "start.sh").write_text(FAKE_START)
    box = Sandbox(root, recipe)
    try:
        yield box
    finally:
        for proc in box.procs:  # a run the test did not see end: with everything it started
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for pid in box.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too (it waits for a parent that is gone or busy).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _wait_gone(pids: list[int]) -> list[int]:
    """The pids still alive after a while (the processes a signal ended take a moment to go)."""
    for _ in range(100):
        left = [pid for pid in pids if _alive(pid)]
        if not left:
            return []
        time.sleep(0.1)
    return left


WAITED = "being brought up by another run"


def test_prepare_twice_does_not_wait_on_the_servers_it_started(sandbox: Sandbox) -> None:
    # The first run starts the (fake) server detached; the lock must not stay with it.
    rc, out = sandbox.run("--prepare")
    assert rc == 0, out
    assert "Dokploy v0.30.2 is up at http://127.0.0.1:9" in out
    assert len(sandbox.pids()) == 1 and _alive(sandbox.pids()[0]), out
    rc, out = sandbox.run("--prepare")
    assert rc == 0, out
    assert WAITED not in out and "Dokploy v0.30.2 is up at http://127.0.0.1:9" in out
    assert len(sandbox.pids()) == 1, "start.sh is idempotent: the second run starts no second server"


@pytest.mark.parametrize("twin", [False, True], ids=["one-checkout", "two-checkouts"])
def test_prepare_two_at_once_both_find_the_server_up(sandbox: Sandbox, twin: bool) -> None:
    # start.sh takes a second, so the two overlap: one brings the server up, the other waits for it
    # (saying so) and then finds it up, instead of waiting on the lock the server would hold. The
    # servers are the machine's: runs from two checkouts (CI's clone and a working copy) take turns too.
    boxes = (sandbox, sandbox.twin() if twin else sandbox)
    procs = [box.start("--prepare", FAKE_UP_SECONDS="1") for box in boxes]
    outs = [proc.communicate(timeout=120)[0] for proc in procs]
    for proc, out in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out
        assert "Dokploy v0.30.2 is up at http://127.0.0.1:9" in out
    assert len(sandbox.pids()) == 1, outs


def test_the_tier_runs_after_prepare(sandbox: Sandbox) -> None:
    # scripts/test.sh's order: servers brought up, then the tier against them (a `-k` of the tier).
    assert sandbox.run("--prepare")[0] == 0
    rc, out = sandbox.run("-q", "-p", "no:cacheprovider")
    assert rc == 0, out
    assert WAITED not in out
    assert "real tier against Dokploy v0.30.2 (http://127.0.0.1:9): 4 passed, 0 failed" in out


def test_on_two_workers_the_summary_does_not_claim_nothing_was_deselected(sandbox: Sandbox) -> None:
    # xdist's controller reports no deselected tests (its workers deselect): it said "0 deselected".
    rc, out = sandbox.run("-q", "-p", "no:cacheprovider", "-k", "server_given", REAL_TIER_WORKERS="2")
    assert rc == 0, out
    tier = "real tier against Dokploy v0.30.2 (http://127.0.0.1:9): "
    assert f"{tier}2 passed, 0 failed, 0 skipped, deselected not counted (xdist) in " in out, out


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        pytest.param("fail", "Dokploy v0.30.2: could not be brought up", id="start-fails"),
        pytest.param("noenv", "Dokploy v0.30.2: start.sh printed no env file", id="no-env-file"),
        pytest.param("nokey", "sets no URL or key", id="env-without-key"),
    ],
)
def test_a_server_not_brought_up_fails_the_run_naming_it(sandbox: Sandbox, mode: str, says: str) -> None:
    rc, out = sandbox.run("--prepare", FAKE_MODE_v0_30_2=mode)
    assert rc == 1, out
    assert f"{says}" in out and out.rstrip().splitlines()[-1].endswith("FAILED"), out
    assert "is up at" not in out


def test_a_version_the_release_table_cannot_read_is_an_error(sandbox: Sandbox) -> None:
    # Before: python3's ValueError exited 1, read as "needs no Redis", and the (fake) recipe
    # brought "v0.30" up.
    rc, out = sandbox.run("--prepare", versions="v0.30")
    assert rc == 1, out
    assert "cannot tell whether Dokploy v0.30 needs Redis" in out and "not a Dokploy version" in out, out
    assert "fake recipe" not in out and "is up at" not in out, out


def test_no_version_is_an_error(sandbox: Sandbox) -> None:
    rc, out = sandbox.run("-q", versions=" ")
    assert rc == 1 and "REAL_DOKPLOY_VERSIONS names no version" in out, out


@pytest.mark.parametrize("workers", ["abc", "-1"])
def test_a_bad_worker_count_is_an_error_before_any_bring_up(sandbox: Sandbox, workers: str) -> None:
    # Before: pytest's `-n` refused it (exit 4), but only once the server was up (a cold build: many minutes).
    rc, out = sandbox.run("-q", REAL_TIER_WORKERS=workers)
    assert rc == 1, out
    assert f"REAL_TIER_WORKERS is a number of pytest workers per server (0: one process), not '{workers}'" in out, out
    assert "fake recipe" not in out and "real tier against" not in out, out


def test_one_server_failing_keeps_the_other_servers_result(sandbox: Sandbox) -> None:
    rc, out = sandbox.run("-q", "-p", "no:cacheprovider", versions="v0.30.2 v0.30.3", FAKE_MODE_v0_30_3="fail")
    assert rc == 1, out
    summary = out.rstrip().splitlines()[-2:]
    assert summary[0].startswith("real tier against Dokploy v0.30.2 (http://127.0.0.1:9): 4 passed, 0 failed"), out
    assert not summary[0].endswith("FAILED"), out
    assert summary[1].startswith("Dokploy v0.30.3: could not be brought up") and summary[1].endswith("FAILED"), out


def _wait_for_pids(sandbox: Sandbox, count: int, proc: subprocess.Popen[str]) -> list[int]:
    for _ in range(600):
        if len(sandbox.pids()) >= count or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert len(sandbox.pids()) >= count, f"the hanging bring-up and tier never started:\n{proc.communicate()[0]}"
    return sandbox.pids()


@pytest.mark.parametrize(
    ("sig", "name", "workers"),
    [
        # What scripts/test.sh's `timeout -s INT` does at REAL_DEADLINE, and Ctrl-C on a terminal:
        # SIGINT to the script's process group.
        pytest.param(signal.SIGINT, "INT", "0", id="deadline-or-ctrl-c-INT"),
        # The same with the tier's default two pytest workers (as CI runs it).
        pytest.param(signal.SIGINT, "INT", "2", id="deadline-or-ctrl-c-INT-two-workers"),
        # A plain `kill` of the run (its group), or `timeout` without -s.
        pytest.param(signal.SIGTERM, "TERM", "0", id="TERM"),
    ],
)
def test_a_stopped_run_says_which_server_was_still_busy(
    sandbox: Sandbox, sig: signal.Signals, name: str, workers: str
) -> None:
    # v0.30.2's tier hangs, v0.30.3's bring-up hangs, v0.30.4 cannot be brought up (ended before the stop).
    proc = sandbox.start(
        "-q",
        "-p",
        "no:cacheprovider",
        versions="v0.30.2 v0.30.3 v0.30.4",
        FAKE_MODE_v0_30_3="hang",
        FAKE_MODE_v0_30_4="fail",
        FAKE_TIER_HANG="1",
        REAL_TIER_WORKERS=workers,
        # Longer than the 5 s xdist gives a worker told to exit by its controller: the finalizers
        # of a stop on two workers were cut off there (tests/_xdist_stop.py).
        FAKE_FINALIZER_SECONDS="6" if workers == "2" else "0",
    )
    # The fake server, the hanging start.sh and the hanging test (on two workers: both, one per file)
    # record their pids.
    pids = _wait_for_pids(sandbox, 3 if workers == "0" else 4, proc)
    os.killpg(proc.pid, sig)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 128 + sig, out
    summary = out[out.index(f"test-real: stopped by SIG{name}") :]
    assert f"Dokploy v0.30.3: still being brought up when stopped by SIG{name}  FAILED" in summary, out
    assert "Dokploy v0.30.4: could not be brought up" in summary, out
    # The hanging test was ended: by TERM outright; by INT as pytest's KeyboardInterrupt (exit 2), after
    # which pytest reports what had run (the first test) and its tier writes its summary.
    tier = "real tier against Dokploy v0.30.2 (http://127.0.0.1:9): "
    if sig == signal.SIGTERM:
        assert f"{tier}still running when stopped by SIGTERM  FAILED" in summary, out
    elif workers == "0":
        assert f"{tier}1 passed, 0 failed" in summary and "(pytest exit 2)  FAILED" in summary, out
    else:  # xdist's count of an interrupted run is its own; the tier fails all the same
        assert f"{tier}" in summary and "(pytest exit 2)  FAILED" in summary, out
        assert "still running" not in summary, out
    server = int((sandbox.recipe / "server-v0.30.2").read_text())
    stopped = [pid for pid in pids if pid != server]
    # The hanging start.sh and hanging test (each of the two workers hangs in a file of its own).
    assert len(stopped) == (2 if workers == "0" else 3), pids
    assert _alive(server), "the detached server outlives the run, as the real ones do"
    assert _wait_gone(stopped) == [], out
    # Every worker's hanging test was interrupted and its session finalizer ran to the end (not
    # with SIGTERM, which pytest does not handle: the real tier's stops are SIGINTs).
    if sig == signal.SIGINT:
        finalized = [int(pid) for pid in (sandbox.recipe / "pids.finalized").read_text().split()]
        assert len(finalized) == len(stopped) - 1 and set(finalized) <= set(stopped), (finalized, out)


def test_a_stopped_serial_run_says_so_too(sandbox: Sandbox) -> None:
    # REAL_DOKPLOY_SERIAL=1: v0.30.4 failed, then v0.30.2's tier hangs in the script's foreground.
    proc = sandbox.start(
        "-q", versions="v0.30.4 v0.30.2", FAKE_MODE_v0_30_4="fail", FAKE_TIER_HANG="1", REAL_DOKPLOY_SERIAL="1"
    )
    pids = _wait_for_pids(sandbox, 2, proc)
    os.killpg(proc.pid, signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    summary = [line for line in out[out.index("test-real: stopped by SIGINT") :].splitlines() if line]
    assert summary[1].startswith("Dokploy v0.30.4: could not be brought up"), out
    # The trap runs once the tier's pytest has ended, before the tier writes its summary.
    assert (
        summary[2]
        == "real tier against Dokploy v0.30.2 (http://127.0.0.1:9): still running when stopped by SIGINT  FAILED"
    )
    server = int((sandbox.recipe / "server-v0.30.2").read_text())
    assert _wait_gone([pid for pid in pids if pid != server]) == [], out


def test_ctrl_c_of_test_sh_ends_the_background_tiers(sandbox: Sandbox) -> None:
    # scripts/test.sh with its real tier (v0.30.2's tier hanging) and the matrix in the background.
    # Ctrl-C reaches neither by itself: the real tier is in `timeout`'s process group, and the
    # matrix was started with SIGINT ignored.
    proc = sandbox.start(script="test.sh", FAKE_TIER_HANG="1")
    # The fake server, the hanging test, the matrix and its pytest stand-in record their pids.
    pids = _wait_for_pids(sandbox, 4, proc)
    os.killpg(proc.pid, signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "test.sh: stopped by SIGINT" in out, out
    # The real tier's stopped summary (shown by test.sh: the tier's log is not printed otherwise):
    # its pytest was interrupted (SIGINT) and reported what ran.
    assert "test-real: stopped by SIGINT" in out, out
    assert "real tier against Dokploy v0.30.2 (http://127.0.0.1:9): 1 passed, 0 failed" in out, out
    server = int((sandbox.recipe / "server-v0.30.2").read_text())
    stopped = [pid for pid in pids if pid != server]
    assert len(stopped) == 3 and _alive(server), out
    assert _wait_gone(stopped) == [], out


def test_a_whole_test_sh_run_waits_for_its_background_tiers_and_sums_them_up(sandbox: Sandbox) -> None:
    # scripts/test.sh from start to end: the real tier (two releases, in the background from the
    # start), the matrix after the emulator tiers; the summary has a line for each, and the run's
    # status is theirs.
    proc = sandbox.start(script="test.sh", versions="v0.30.2 v0.31.0", FAKE_MATRIX_SECONDS="0")
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out
    summary = out.split("=== summary", 1)[1]
    assert "ok      real tier against Dokploy v0.30.2 v0.31.0 built from source" in summary, out
    assert "ok      matrix:" in summary, out
    assert "real tier against Dokploy v0.30.2 (http://127.0.0.1:9): 4 passed, 0 failed" in out, out
    assert "real tier against Dokploy v0.31.0 (http://127.0.0.1:9): 4 passed, 0 failed" in out, out
    assert "NOT RUN" not in out, out


def test_the_summary_at_the_end_names_each_servers_result_and_the_failed_tests(sandbox: Sandbox) -> None:
    # CI shows only the end of a run's output: the summary there must say which release failed and
    # which tests, not only that the real tier did (a CI run once failed with nothing more).
    proc = sandbox.start(
        script="test.sh",
        versions="v0.30.2 v0.31.0",
        FAKE_MATRIX_SECONDS="0",
        FAKE_TIER_FAIL="1",
        FAKE_EMULATOR_FAIL="1",
    )
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1, out
    summary = out.split("=== summary", 1)[1]
    assert "FAILED  emulator tiers" in summary, out
    assert "    FAILED tests/unit/test_x.py::test_y - boom" in summary, out
    assert "FAILED  real tier against Dokploy v0.30.2 v0.31.0 built from source" in summary, out
    for version in ("v0.30.2", "v0.31.0"):
        line = f"real tier against Dokploy {version} (http://127.0.0.1:9): 2 passed, 2 failed"
        assert line in summary, out
    failed = [ln.strip() for ln in summary.splitlines() if ln.strip().startswith("FAILED tests/")]
    # Each server's failed tests under its line: both files' test_server_given, on both servers.
    assert sorted(ln.split(" - ")[0] for ln in failed) == sorted(
        ["FAILED tests/unit/test_x.py::test_y"]
        + 2
        * [
            "FAILED tests/conformance/test_tier.py::test_server_given",
            "FAILED tests/e2e/test_real_tier.py::test_server_given",
        ]
    ), out


# Failures whose lines are odd: a very long parametrized id with `%`, `\\` and non-ASCII (pytest
# escapes it), a failure message (shown whole on CI) with multi-byte characters across the cut at
# 200 characters, a test that prints a line looking like pytest's, and an error in a fixture.
ODD_TIER = """
import pytest


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


@pytest.mark.parametrize("arg", ["%s %d"], ids=["%s-%d-%%-\\\\-é-" + "x" * 250])
def test_odd_long(arg):
    assert not arg


def test_odd_unicode():
    assert False, "x" + "é" * 300  # an odd count of ASCII bytes before the cut: a byte cut splits an é


def test_odd_prints():
    print("FAILED tests/not_a_test.py::printed_by_a_test - not pytest's")
    assert False


def test_odd_errors(broken):
    pass
"""


def test_the_failed_tests_listed_are_pytests_own_cut_at_200_characters(sandbox: Sandbox) -> None:
    # Before: every line of the log that began "FAILED " was listed (a test's captured output too),
    # and lines were cut at 200 bytes, through a multi-byte character (the run's output did not
    # decode as UTF-8).
    (sandbox.root / "tests" / "provider" / "test_odd.py").write_text(ODD_TIER)
    proc = sandbox.start("-q", "-p", "no:cacheprovider", "-k", "odd", CI="true")
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1, out
    report = out.split("short test summary info", 1)[1].replace("[Dokploy v0.30.2] ", "")
    pytests = [ln for ln in report.splitlines() if ln.startswith(("FAILED ", "ERROR "))]
    assert len(pytests) == 4 and any(len(ln) > 200 and "é" in ln[190:210] for ln in pytests), out
    assert "%s-%d-%%-" in pytests[0] and len(pytests[0]) > 250, out
    listed = out.rsplit("real tier against Dokploy v0.30.2 (http://127.0.0.1:9): ", 1)[1].splitlines()[1:]
    assert listed == [f"    {ln[:200]}" for ln in pytests], out


def test_a_real_tier_killed_before_its_summary_is_said_to_be_so_not_summed_up_by_its_log(sandbox: Sandbox) -> None:
    # test-real.sh killed (REAL_DEADLINE's --kill-after, a crash) amid its tiers' output: test.sh took
    # the last block of its log (up to 40 lines of a tier's progress) for the servers' summary.
    progress = "".join(f'echo "[Dokploy v0.30.2] tests/provider/test_p.py::test_{i} PASSED"\n' for i in range(60))
    (sandbox.root / "scripts" / "test-real.sh").write_text(progress + "kill -KILL $$\n")
    proc = sandbox.start(script="test.sh", FAKE_MATRIX_SECONDS="0")
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1, out
    summary = out.split("=== summary", 1)[1].splitlines()
    real = next(i for i, ln in enumerate(summary) if "real tier against" in ln)
    assert summary[real].startswith("FAILED  real tier against"), out
    assert (
        summary[real + 1] == "    scripts/test-real.sh ended (exit 137) without its summary; its log's last lines:"
    ), out
    shown = [ln for ln in summary if "[Dokploy v0.30.2]" in ln]
    assert [ln.strip() for ln in shown] == [
        f"[Dokploy v0.30.2] tests/provider/test_p.py::test_{i} PASSED" for i in range(55, 60)
    ]


# A real tier that ends (by itself, or on the stop test.sh passes on) while a process it started still
# runs: a tier's pytest still in its finalizers when test-real.sh stops waiting for it (30 s), which
# ignores the stop's SIGINT, as a finalizer's clean-up does not end on it.
LEAVES_A_PROCESS = """trap 'exit 130' INT
sleep 300 &
echo $! >> "$FAKE_PIDS"
[ "${FAKE_REAL_STOPPED:-0}" = 1 ] || exit 0
wait
"""


@pytest.mark.parametrize("stopped", [False, True], ids=["ended", "stopped-by-ctrl-c"])
def test_nothing_the_real_tier_started_outlives_test_sh(sandbox: Sandbox, stopped: bool) -> None:
    # `timeout` ends with test-real.sh, not with the processes it leaves: those ran on after the run.
    (sandbox.root / "scripts" / "test-real.sh").write_text(LEAVES_A_PROCESS)
    extra = {"FAKE_REAL_STOPPED": "1"} if stopped else {"FAKE_MATRIX_SECONDS": "0"}
    proc = sandbox.start(script="test.sh", **extra)
    if stopped:  # the real tier's process, the matrix and its sleep record their pids
        _wait_for_pids(sandbox, 3, proc)
        os.killpg(proc.pid, signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == (130 if stopped else 0), out
    assert _wait_gone(sandbox.pids()) == [], out


def test_each_real_e2e_file_gives_a_test_longer_than_one_cli_command() -> None:
    # A CLI command against a real server stops at COMMAND_TIMEOUT_REAL so that a hang fails with the
    # CLI's output (tests/e2e/_pulumi.py). test_real_drift.py had no per-test timeout: test-real.sh's
    # --timeout, as long, ended its hung `pulumi up` first, as a bare Timeout.
    command = re.search(r"^COMMAND_TIMEOUT_REAL = ([0-9.]+)$", (REPO / "tests/e2e/_pulumi.py").read_text(), re.M)
    tier = re.search(r"--timeout=(\d+)", (REPO / "scripts" / "test-real.sh").read_text())
    assert command is not None and tier is not None
    files = sorted((REPO / "tests" / "e2e").glob("test_real_*.py"))
    assert files
    for path in files:
        own = re.findall(r"^pytestmark = pytest\.mark\.timeout\((\d+)\)", path.read_text(), re.MULTILINE)
        per_test = int(own[0]) if own else int(tier[1])
        assert per_test > float(command[1]), path.name


def test_a_background_tiers_time_is_its_own_not_the_wait_for_it(sandbox: Sandbox) -> None:
    # The real tier ends 3 s before the emulator tiers: its line gave the time until test.sh waited for
    # it (after the emulator tiers), the whole run's.
    proc = sandbox.start(script="test.sh", FAKE_MATRIX_SECONDS="0", FAKE_EMULATOR_AFTER_REAL="1")
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 0, out
    summary = out.split("=== summary (", 1)[1]
    total = int(summary.split(" s in all)", 1)[0])
    real = re.search(r"^ok +real tier against .* built from source +(\d+) s \(beside", summary, re.MULTILINE)
    assert real is not None and int(real[1]) <= total - 1, out
