"""The real Node `dotenv` 16.4.5 (the parser Dokploy uses), as a session fixture.

`npm ci` installs it from the committed package-lock.json into tests/oracle/node_modules when it is
missing or another version; one `node parse_server.js` process then answers every parse. Without
node/npm, or if the install fails, the oracle tests fail (never skip): they are what shows that
`dokploy_pulumi._dotenv` matches what services see.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DOTENV_VERSION = "16.4.5"


class NodeDotenv:
    """A running `node parse_server.js`: `parse` / `parse_many` call dotenv's `parse` in Node."""

    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen(
            [node, str(HERE / "parse_server.js")], cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        hello = self._read()
        if hello != {"dotenv": DOTENV_VERSION}:
            self.close()
            pytest.fail(f"tests/oracle/parse_server.js loaded dotenv {hello!r}, want {DOTENV_VERSION}")

    def _read(self) -> object:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the node dotenv helper exited (code {self._proc.poll()})")
        return json.loads(line.decode("utf-8"))

    def parse_many(self, texts: list[str]) -> list[dict[str, str]]:
        assert self._proc.stdin is not None
        # ensure_ascii: no raw line separators in the request line.
        self._proc.stdin.write(json.dumps(texts, ensure_ascii=True).encode("ascii") + b"\n")
        self._proc.stdin.flush()
        results = self._read()
        assert isinstance(results, list) and len(results) == len(texts)
        return results

    def parse(self, text: str) -> dict[str, str]:
        return self.parse_many([text])[0]

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _installed_version() -> str | None:
    try:
        return json.loads((HERE / "node_modules" / "dotenv" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _ensure_installed() -> None:
    if _installed_version() == DOTENV_VERSION:
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not on PATH: the dotenv oracle tests need Node.js and npm (install Node >= 18)")
    # One `npm ci` at a time when several pytest sessions share this checkout (it empties node_modules).
    with open(HERE / "package.json", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_version() == DOTENV_VERSION:
            return
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("`npm ci` in tests/oracle took more than 300 s")
    if done.returncode != 0:
        pytest.fail(f"`npm ci` in tests/oracle failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if _installed_version() != DOTENV_VERSION:
        pytest.fail(f"`npm ci` in tests/oracle installed dotenv {_installed_version()}, want {DOTENV_VERSION}")


@pytest.fixture(scope="session")
def node_dotenv() -> Iterator[NodeDotenv]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the dotenv oracle tests need Node.js and npm (install Node >= 18)")
    _ensure_installed()
    helper = NodeDotenv(node)
    try:
        yield helper
    finally:
        helper.close()
