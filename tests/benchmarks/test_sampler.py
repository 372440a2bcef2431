"""The one /proc sampler: a process's CPU and peak RSS, and a command's process tree by role.

The tree is real processes whose command lines look like a Pulumi run's; the CPU asserted is CPU
time the child itself measured having used (process_time), never a wall-clock duration.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.sampler import TreeWatcher, classify, peak_rss_mb, process_cpu_seconds  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="the sampler reads Linux /proc")

# Burns CPU until it has used 0.3 s of it, says so, then holds a 20 MB buffer until stdin closes.
BURN = (
    "import sys, time\n"
    "while time.process_time() < 0.3: pass\n"
    "buf = bytearray(20 * 1024 * 1024)\n"
    "print('burnt', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_cpu_and_peak_rss_of_a_process() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "burnt"
        cpu, rss = process_cpu_seconds(proc.pid), peak_rss_mb(proc.pid)
        proc.stdin.close()
    assert cpu is not None and cpu >= 0.28  # clock ticks of 10 ms: at most one short
    assert rss is not None and rss >= 20
    assert process_cpu_seconds(proc.pid) is None and peak_rss_mb(proc.pid) is None  # gone


@pytest.mark.parametrize(
    "cmdline, parent, role",
    [
        ("/venv/bin/python -u -m pulumi.dynamic 127.0.0.1:4000", "cli", "provider"),
        ("/venv/bin/python -m pip list --format json", "language_host", "pip"),
        ("python /x/pulumi-language-python-exec --monitor m --engine e", "language_host", "program"),
        ("/bin/pulumi-language-python 127.0.0.1:4000", "cli", "language_host"),
        ("/venv/bin/python -c import sys; print(sys.version)", "language_host", "host_probe"),
        ("/venv/bin/python __main__.py", "language_host", "program"),
        ("/bin/sh -c something", "cli", "other"),
    ],
)
def test_classify(cmdline: str, parent: str, role: str) -> None:
    assert classify(cmdline, parent) == role


def test_tree_watcher_follows_the_tree_by_role() -> None:
    # A "CLI" that starts a "provider" (python ... pulumi.dynamic) burning CPU, and waits for it.
    provider = [sys.executable, "-c", BURN, "-m", "pulumi.dynamic"]
    cli = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen({provider!r}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
        "print(child.stdout.readline().strip(), flush=True)\n"
        "sys.stdin.readline()\n"
        "child.stdin.close(); child.wait()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", cli], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        seen: list[tuple[int, str]] = []
        watcher = TreeWatcher(proc.pid, on_process=lambda pid, role: seen.append((pid, role))).start()
        assert proc.stdout.readline().strip() == "burnt"

        # The watcher polls: wait until it has sampled the provider after its burn and its 20 MB
        # (the CPU reading can come before the allocation; pytest's timeout ends the test if the
        # readings never come; nothing is asserted about how long they took).
        def sampled() -> bool:
            provider = watcher.by_role().get("provider")
            return provider is not None and provider["cpu_s"] >= 0.28 and (provider["peak_rss_mb"] or 0) >= 20

        while not any(role == "provider" for _, role in seen) or not sampled():
            time.sleep(0.02)
        proc.stdin.write("done\n")
        proc.stdin.close()
        proc.wait()
        watcher.stop()
    roles = watcher.by_role()
    assert set(roles) == {"cli", "provider"}
    assert roles["cli"]["processes"] == 1 and roles["provider"]["processes"] == 1
    assert roles["provider"]["cpu_s"] >= 0.28
    assert roles["provider"]["peak_rss_mb"] >= 20
    assert {pid for pid, role in seen if role == "cli"} == {proc.pid}
