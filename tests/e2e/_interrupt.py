"""Interrupting `pulumi up` for real and running `python -m dokploy_pulumi recover` after it.

Shared by tests/e2e/test_interrupted_e2e.py (emulator) and tests/e2e/test_real_recover.py (the real
tier). The CLI is killed with SIGKILL together with everything it started (the language host and
the dynamic-provider server run in the session the CLI leads). `HoldingProxy` keeps chosen requests
from ever reaching the server (a create killed before it got there) and answers chosen reads
itself (a read failure on a real server, which has no fault hooks). A fake `pulumi` first on PATH
makes one CLI step of `recover --apply` fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from _pulumi import PulumiStack
from _recording_proxy import RecordingProxy


def session_pids(sid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def kill_session(sid: int) -> list[int]:
    """SIGKILL every process of the session the CLI leads (and only those): freeze first, so
    none can start or reap another in between."""
    pids = session_pids(sid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in session_pids(sid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    return pids


def wait_for(predicate, what: str, timeout: float = 90.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def pending(stack: PulumiStack) -> list[str]:
    ops = stack.export()["deployment"].get("pending_operations") or []
    return sorted(op["resource"]["urn"].rsplit("::", 1)[-1] for op in ops if op["type"] == "creating")


def recover(stack: PulumiStack, *args: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dokploy_pulumi", "recover", "--stack", stack.stack, *args],
        cwd=stack.program_dir,
        env=stack.env if env is None else env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def state(stack: PulumiStack) -> dict:
    return stack.export()["deployment"]


def locked(stack: PulumiStack) -> bool:
    return any((stack.program_dir.parent / "state" / ".pulumi" / "locks").rglob("*.json"))


def backups(stack: PulumiStack) -> list[Path]:
    return sorted(stack.program_dir.glob("dokploy-recover-backup-*.json"))


def markers(stack: PulumiStack) -> list[Path]:
    return sorted(stack.program_dir.glob("dokploy-recover-bound-*.json"))


def fake_pulumi(stack: PulumiStack, folder: Path, script: str) -> dict:
    """The stack's environment with a `pulumi` first on PATH that runs `script` (sh, "$@" are the
    arguments, $REAL the real CLI) before handing over to the real one."""
    real = shutil.which("pulumi", path=stack.env["PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    fake = folder / "pulumi"
    fake.write_text(f'#!/bin/sh\nREAL={real}\nHERE={folder}\n{script}\nexec "$REAL" "$@"\n')
    fake.chmod(0o755)
    return {**stack.env, "PATH": f"{folder}{os.pathsep}{stack.env['PATH']}"}


FAIL_ON_IMPORT = 'case " $* " in *" stack import "*) echo "fake pulumi: stack import fails" >&2; exit 1;; esac'
FAIL_ON_EXPORT = 'case " $* " in *" stack export "*) echo "fake pulumi: stack export fails" >&2; exit 1;; esac'
# SIGKILL of `recover` while the import runs: the document has been handed over (read whole from
# stdin), the recover process dies, and the import goes on (its output to a file: the pipes it
# inherited have no reader any more).
KILL_DURING_IMPORT = (
    'case " $* " in *" stack import "*) doc=$(mktemp); cat > "$doc"; kill -9 $PPID; '
    '"$REAL" "$@" < "$doc" > "$HERE/import.out" 2>&1; echo $? > "$HERE/rc.tmp"; mv "$HERE/rc.tmp" "$HERE/import.rc"; exit;; esac'
)


def staging_env_in_state(stack: PulumiStack) -> dict:
    res = next(r for r in stack.resources(show_secrets=True) if r["urn"].endswith("::staging"))
    return json.loads(res["outputs"]["env"]["plaintext"])


FAIL_ON_IMPORT = 'case " $* " in *" stack import "*) echo "fake pulumi: stack import fails" >&2; exit 1;; esac'
FAIL_ON_EXPORT = 'case " $* " in *" stack export "*) echo "fake pulumi: stack export fails" >&2; exit 1;; esac'
# SIGKILL of `recover` while the import runs: the document has been handed over (read whole from
# stdin), the recover process dies, and the import goes on (its output to a file: the pipes it
# inherited have no reader any more; its exit status to import.rc).
KILL_DURING_IMPORT = (
    'case " $* " in *" stack import "*) doc=$(mktemp); cat > "$doc"; kill -9 $PPID; '
    '"$REAL" "$@" < "$doc" > "$HERE/import.out" 2>&1; echo $? > "$HERE/rc.tmp"; mv "$HERE/rc.tmp" "$HERE/import.rc"; '
    "exit;; esac"
)


def env_in_state(stack: PulumiStack, logical: str) -> dict:
    """The env output of a resource as the state holds it (decrypted)."""
    res = next(r for r in stack.resources(show_secrets=True) if r["urn"].endswith(f"::{logical}"))
    return json.loads(res["outputs"]["env"]["plaintext"])


# -- a proxy that keeps chosen requests from the server ---------------------------------------------

#: (method, procedure, JSON body) -> whether to hold the request / the (status, body) to answer.
Rule = Callable[[str, Optional[str], Any], Any]


class HoldingProxy(RecordingProxy):
    """The recording proxy, on 127.0.0.1 in front of `upstream`, with two rules. A request `hold`
    matches is never forwarded and never answered (until `stop`); one `fail` matches gets the
    (status, body) it returns. Every other request and answer (`Date` included) passes unchanged."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.hold: Optional[Rule] = None
        self.fail: Optional[Rule] = None
        self.held: list[tuple[Optional[str], Any]] = []
        self._release = threading.Event()
        self._held_lock = threading.Lock()
        self.start()

    def _connection(self) -> Any:
        return _Gate(self, super()._connection())

    def held_count(self) -> int:
        with self._held_lock:
            return len(self.held)

    def stop(self) -> None:
        self._release.set()
        super().stop()


@dataclass
class _Canned:
    """An answer the proxy gives itself, shaped as `http.client.HTTPResponse` is used."""

    status: int
    body: bytes

    def read(self) -> bytes:
        return self.body

    def getheaders(self) -> list[tuple[str, str]]:
        return [("Content-Type", "application/json"), ("Date", formatdate(usegmt=True))]


class _Gate:
    """The upstream connection of one proxied request, applying the proxy's rules first."""

    def __init__(self, proxy: HoldingProxy, conn: Any) -> None:
        self._proxy, self._conn = proxy, conn
        self._canned: Optional[_Canned] = None

    def request(self, method: str, url: str, body: Optional[bytes] = None, headers: Any = None) -> None:
        path = urlsplit(url).path
        procedure = path.split("/api/", 1)[1] if "/api/" in path else None
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        proxy = self._proxy
        if proxy.hold is not None and proxy.hold(method, procedure, payload):
            with proxy._held_lock:
                proxy.held.append((procedure, payload))
            proxy._release.wait()
            raise ConnectionAbortedError("held until the proxy stopped: never forwarded")
        failure = proxy.fail(method, procedure, payload) if proxy.fail is not None else None
        if failure is not None:
            self._canned = _Canned(failure[0], json.dumps(failure[1]).encode())
            return
        self._conn.request(method, url, body=body, headers=headers)

    def getresponse(self) -> Any:
        return self._canned or self._conn.getresponse()

    def close(self) -> None:
        self._conn.close()


def killed_up(
    stack: PulumiStack, ready: Callable[[], bool], log: Path, at_kill: Callable[[], Any] = lambda: None
) -> tuple[list[int], Any]:
    """Run `pulumi up` and SIGKILL it (with all it started) once `ready()` holds. Returns the pids
    killed and what `at_kill()` saw right after the kill."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--color=never", "--stack", stack.stack],
            cwd=stack.program_dir,
            env=stack.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(lambda: ready() or proc.poll() is not None, "the moment to kill `pulumi up`", timeout=600)
            assert proc.poll() is None, f"`pulumi up` ended before it could be killed:\n{log.read_text()}"
            killed = kill_session(proc.pid)
            seen = at_kill()
        finally:
            if proc.poll() is None:
                kill_session(proc.pid)
            proc.wait(timeout=30)
    wait_for(lambda: session_pids(proc.pid) == [], "the killed processes to be reaped", timeout=30)
    return killed, seen
