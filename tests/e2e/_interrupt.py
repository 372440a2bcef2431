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
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from _pulumi import PulumiStack


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

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"})
#: (method, procedure, JSON body) -> whether to hold the request / the (status, body) to answer.
Rule = Callable[[str, Optional[str], Any], Any]


class HoldingProxy:
    """A proxy on 127.0.0.1 in front of `upstream`. A request `hold` matches is never forwarded and
    never answered (until `stop`); one `fail` matches gets the (status, body) it returns. Every
    other request and answer (the `Date` header included) passes unchanged."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.scheme == "http" and parts.hostname == "127.0.0.1", "tests talk to 127.0.0.1 only"
        self._port = parts.port or 80
        self.hold: Optional[Rule] = None
        self.fail: Optional[Rule] = None
        self.held: list[tuple[str, Any]] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlsplit(self.path).path
                procedure = path[len("/api/") :] if path.startswith("/api/") else None
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                if proxy.hold is not None and proxy.hold(self.command, procedure, body):
                    with proxy._lock:
                        proxy.held.append((str(procedure), body))
                    proxy._release.wait()
                    self.close_connection = True
                    return
                failure = proxy.fail(self.command, procedure, body) if proxy.fail is not None else None
                if failure is not None:
                    status, payload = failure
                    self._answer(status, [("Content-Type", "application/json")], json.dumps(payload).encode())
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn = http.client.HTTPConnection("127.0.0.1", proxy._port, timeout=300)
                try:
                    conn.request(self.command, self.path, body=raw or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                    kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
                    self._answer(answer.status, [(k, v) for k, v in kept if k.lower() != "content-length"], data)
                finally:
                    conn.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response_only(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def held_count(self) -> int:
        with self._lock:
            return len(self.held)

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


def killed_up(stack: PulumiStack, ready: Callable[[], bool], log: Path) -> None:
    """Run `pulumi up` and SIGKILL it (with all it started) once `ready()` holds."""
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
            kill_session(proc.pid)
        finally:
            if proc.poll() is None:
                kill_session(proc.pid)
            proc.wait(timeout=30)
    wait_for(lambda: session_pids(proc.pid) == [], "the killed processes to be reaped", timeout=30)
