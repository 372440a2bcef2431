"""The two provider-process hooks, through the SDK's real dynamic-provider server (`python -m pulumi.dynamic`).

- `dokploy_pulumi._workers`: with DOKPLOY_PULUMI_PROVIDER_WORKERS the server runs more than its
  hard-coded 4 operations at once; without it, never more than 4.
- `dokploy_pulumi._oneline_errors`: a provider error worded for users reaches the engine as its
  message alone; any other exception still as the SDK's traceback.

A probe provider (written to tmp_path, imported by reference by the server) calls the hooks from
`configure`, which the server runs inside the first operation, as our providers would.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from dokploy_pulumi import _oneline_errors, _workers

ROOT = Path(__file__).resolve().parents[2]
WORDED = "Project 'shop' (p_1): update failed: Dokploy project.update failed with 500: boom"


def _sdk_formats_tracebacks() -> bool:
    """Whether this SDK's server answers errors with `traceback.format_exc()` (newer SDKs); older
    ones let gRPC answer "Exception calling application: <message>", one line already. Read from
    the source: importing `pulumi.dynamic.__main__` would start a server."""
    spec = importlib.util.find_spec("pulumi.dynamic.__main__")
    assert spec is not None and spec.origin is not None
    return "def _abort_with_traceback" in Path(spec.origin).read_text()


SDK_FORMATS_TRACEBACKS = _sdk_formats_tracebacks()

PROBE = '''
import threading, time
from pulumi.dynamic import CreateResult, ResourceProvider
from dokploy_pulumi import _oneline_errors, _workers

_lock = threading.Lock()
_active = 0
_peak = 0


class WordedError(Exception):
    """An error whose message is complete for a user."""


class Probe(ResourceProvider):
    serialize_as_secret_always = False

    def configure(self, req):
        _workers.apply_from_env()
        _oneline_errors.install(lambda exc: isinstance(exc, WordedError))

    def create(self, props):
        global _active, _peak
        if props.get("fail") == "worded":
            raise WordedError("Project 'shop' (p_1): update failed: Dokploy project.update failed with 500: boom")
        if props.get("fail") == "bug":
            raise KeyError("a bug")
        with _lock:
            _active += 1
            _peak = max(_peak, _active)
        time.sleep(float(props.get("sleep") or 0))
        with _lock:
            _active -= 1
            peak = _peak
        return CreateResult("id-1", {"peak": peak})
'''


@pytest.fixture
def probe_dir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "engine_hooks_probe.py").write_text(PROBE)
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("engine_hooks_probe", None)


class _Server:
    def __init__(self, probe_dir: Path, env: dict[str, str]) -> None:
        from pulumi.runtime.proto import provider_pb2_grpc

        full = {k: v for k, v in os.environ.items() if k not in (_workers.ENV_VAR, _oneline_errors.ENV_VAR)}
        full.update(env)
        full["PYTHONPATH"] = os.pathsep.join([str(probe_dir), str(ROOT), os.environ.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=full
        )
        assert self.proc.stdout is not None
        port = int(self.proc.stdout.readline().decode().strip())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def create(self, props: dict[str, Any]) -> dict[str, Any]:
        from engine_hooks_probe import Probe  # type: ignore[import-not-found]
        from pulumi.dynamic.dynamic import serialize_provider
        from pulumi.runtime.proto import provider_pb2

        struct = _struct({**props, "__provider": serialize_provider(Probe())})
        resp = self.stub.Create(provider_pb2.CreateRequest(urn="urn:pulumi:s::p::t::r", properties=struct))
        return {k: v for k, v in resp.properties.items()}

    def close(self) -> None:
        self.channel.close()
        self.proc.terminate()  # our own child, by PID
        self.proc.wait(timeout=10)


def _struct(props: dict[str, Any]):
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update(props)
    return s


@pytest.fixture
def server(probe_dir: Path, request: pytest.FixtureRequest) -> Iterator[_Server]:
    srv = _Server(probe_dir, getattr(request, "param", {}))
    try:
        srv.stub.Configure(
            __import__("pulumi.runtime.proto", fromlist=["provider_pb2"]).provider_pb2.ConfigureRequest()
        )
        yield srv
    finally:
        srv.close()


def _peak_of_16_at_once(srv: _Server) -> int:
    srv.create({"sleep": 0.0})  # the first operation configures the provider (and applies the hooks)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: srv.create({"sleep": 0.4}), range(16)))
    return int(max(r["peak"] for r in results))


def test_sdk_server_runs_at_most_4_operations_at_once(server: _Server) -> None:
    assert _peak_of_16_at_once(server) == 4


@pytest.mark.parametrize("server", [{_workers.ENV_VAR: "16"}], indirect=True)
def test_switch_lifts_the_cap(server: _Server) -> None:
    assert _peak_of_16_at_once(server) > 4


def test_worded_error_is_one_line(server: _Server) -> None:
    with pytest.raises(grpc.RpcError) as info:
        server.create({"fail": "worded"})
    details = info.value.details()
    assert details == (WORDED if SDK_FORMATS_TRACEBACKS else f"Exception calling application: {WORDED}")
    assert "Traceback" not in details


def test_other_exceptions_keep_the_traceback(server: _Server) -> None:
    server.create({})  # configure
    with pytest.raises(grpc.RpcError) as info:
        server.create({"fail": "bug"})
    if SDK_FORMATS_TRACEBACKS:
        assert info.value.details().startswith("Traceback (most recent call last)")
        assert "KeyError: 'a bug'" in info.value.details()
    else:
        assert info.value.details() == "Exception calling application: 'a bug'"


@pytest.mark.parametrize("server", [{_oneline_errors.ENV_VAR: "1"}], indirect=True)
def test_tracebacks_switch_keeps_the_sdk_behaviour(server: _Server) -> None:
    with pytest.raises(grpc.RpcError) as info:
        server.create({"fail": "worded"})
    if SDK_FORMATS_TRACEBACKS:
        assert info.value.details().startswith("Traceback (most recent call last)")
    else:
        assert info.value.details() == f"Exception calling application: {WORDED}"


def test_hooks_do_nothing_outside_the_provider_server() -> None:
    assert _workers.apply_from_env({_workers.ENV_VAR: "16"}) is None
    assert _oneline_errors.install(lambda exc: True) is False
    assert _workers.lift_current_executor(16) is None  # not a pool worker


def test_lift_raises_only_the_running_executor() -> None:
    with ThreadPoolExecutor(2) as pool:
        before = pool.submit(_workers.lift_current_executor, 8).result()
        assert before == 2
        assert pool._max_workers == 8
        assert pool.submit(_workers.lift_current_executor, 3).result() == 8  # never lowers
        assert pool._max_workers == 8


@pytest.mark.parametrize(
    "raw,expected", [("", None), ("0", None), ("abc", None), ("-3", None), ("8", 8), ("1000", _workers.MAX_WORKERS)]
)
def test_requested_workers(raw: str, expected: Any) -> None:
    assert _workers.requested_workers({_workers.ENV_VAR: raw}) == expected


def test_a_queue_of_work_still_completes_after_lifting() -> None:
    done = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(_workers.lift_current_executor, 4).result()
        futures = [pool.submit(done.wait, 2) for _ in range(4)]
        done.set()
        assert all(f.result() for f in futures)
