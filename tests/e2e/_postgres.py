"""A throwaway PostgreSQL 15 server for Pulumi's PostgreSQL state backend (postgres://).

Debian's binaries (package postgresql-15; scripts/setup.sh installs it where it is missing), a
data folder and socket in a temporary folder, TCP on 127.0.0.1 only, trust authentication (nothing
but this machine can reach it, and no password then sits in a backend URL or a log). initdb and
the server refuse to run as root, so as root they run as the `postgres` user the package creates.
The server is our own child process, stopped by its PID.
"""

from __future__ import annotations

import base64
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

PG_BIN = Path(os.environ.get("DOKPLOY_PULUMI_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "pulumi"
# Bounded waits (seconds): a server that is not up by then is a failure, not a hang.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
#: Starts tried, each on a new port, when the server exits before it is ready (its port was taken).
START_ATTEMPTS = 5


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the server's child: SIGINT (PostgreSQL's fast shutdown) when the test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT)


class PostgresServer:
    """`with PostgresServer() as pg: pg.backend_url()`; everything is removed on exit."""

    def __init__(self) -> None:
        missing = [name for name in ("initdb", "postgres", "pg_isready", "psql") if not (PG_BIN / name).is_file()]
        if missing:
            raise RuntimeError(
                f"PostgreSQL 15 is not installed ({', '.join(missing)} missing in {PG_BIN}): "
                "run scripts/setup.sh (it installs Debian's postgresql-15) or apt-get install postgresql-15"
            )
        self.port = 0
        self.dir: Optional[Path] = None
        self.proc: Optional[subprocess.Popen[bytes]] = None
        # Root cannot run initdb or postgres; the package's own user can.
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), user=self._user, capture_output=True, text=True, check=False, timeout=START_TIMEOUT
        )

    def start(self) -> PostgresServer:
        self.dir = Path(tempfile.mkdtemp(prefix="pulumi-postgres-"))
        try:
            if self._user:
                entry = pwd.getpwnam(self._user)
                os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            data = self.dir / "data"
            init = self._run(
                str(PG_BIN / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"
            )
            if init.returncode != 0:
                raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
            # The port is free when chosen, not necessarily when the server binds it (another
            # process, another test's PostgreSQL, may take it meanwhile): a server that exits
            # before it is ready tries again on another port.
            for _ in range(START_ATTEMPTS):
                if self._serve(data):
                    return self
            raise RuntimeError(
                f"PostgreSQL did not start in {START_ATTEMPTS} attempts:\n"
                + (self.dir / "server.log").read_text(errors="replace")
            )
        except BaseException:
            self.stop()  # nothing left behind: no server, no folder
            raise

    def _serve(self, data: Path) -> bool:
        """Start the server on a new port; True once it accepts connections, False if it exited first."""
        assert self.dir is not None
        self.port = _free_port()
        log = open(self.dir / "server.log", "wb")  # the child keeps its own copy
        self.proc = subprocess.Popen(
            [
                str(PG_BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "listen_addresses=127.0.0.1",
                # Test data: no crash safety, so no fsync cost on a shared 2-core machine.
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            user=self._user,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Stopped with the test process even when that is killed (a timeout, SIGKILL), when
            # `stop` never runs. Set after the child took the postgres user, which would clear it.
            preexec_fn=_die_with_parent,
        )
        log.close()
        # pg_isready answers at once while the server is still starting: ask until it accepts
        # connections (exit 0), the server has died, or the bounded wait is over. Asked through
        # the Unix socket in our own folder: whatever else listens on the TCP port is not ours.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            ready = self._run(str(PG_BIN / "pg_isready"), "-q", "-h", str(self.dir), "-p", str(self.port))
            if ready.returncode == 0:
                return True
            if self.proc.poll() is not None:
                self.proc = None
                return False
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL did not start (pg_isready exit {ready.returncode}):\n"
                    + (self.dir / "server.log").read_text(errors="replace")
                )
            time.sleep(0.05)

    def backend_url(self, table: Optional[str] = None) -> str:
        """A Pulumi backend URL on this server; each `table` is a backend of its own (default: a new one)."""
        table = table or f"pulumi_state_{uuid.uuid4().hex[:12]}"
        return f"postgres://{USER}@127.0.0.1:{self.port}/postgres?sslmode=disable&table={table}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # SIGINT is PostgreSQL's fast shutdown: clients are disconnected, no waiting for them.
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def postgres_blobs(backend_url: str) -> list[str]:
    """Every blob a Pulumi PostgreSQL backend holds (its state files), as text."""
    parsed = urlsplit(backend_url)
    table = parse_qs(parsed.query)["table"][0]
    # Pulumi 3.260 keeps each blob as a JSON object {"data": <the blob in base64>}: one line a row.
    query = f"SELECT data->>'data' FROM {table}"
    proc = subprocess.run(
        [
            str(PG_BIN / "psql"),
            "-At",
            "-h",
            str(parsed.hostname),
            "-p",
            str(parsed.port),
            "-U",
            USER,
            "-d",
            "postgres",
            "-c",
            query,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=START_TIMEOUT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed ({proc.returncode}): {proc.stderr}")
    return [base64.b64decode(line).decode(errors="replace") for line in proc.stdout.splitlines() if line]
