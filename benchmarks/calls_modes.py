"""The two ways `benchmarks/run.py` does the same work: the engine's calls to the SDK's
dynamic-provider server (`ProviderMode`), and bare `DokployClient` calls, the fewest requests the
API allows (`BareMode`). Each has `prepare_create/prepare_update` (untimed), the four operations
(timed by the caller), and `record_sizes` (untimed).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from google.protobuf import struct_pb2
from pulumi.runtime.proto import provider_pb2

from benchmarks.calls_workload import BenchmarkError, Op, Res, args_of, resource_props
from benchmarks.sampler import process_cpu_seconds
from dokploy_pulumi import DokployClient
from dokploy_pulumi._dotenv import serialize_env
from dokploy_pulumi.testing import provider_server as harness

EMPTY = struct_pb2.Struct()


class Mode(Protocol):
    """What the measured runs call on either way of doing the work."""

    name: str

    def server_cpu_seconds(self) -> float: ...
    def take_rpc_times(self) -> dict[str, list[float]]: ...
    def prepare_create(self, r: Res) -> None: ...
    def prepare_update(self, r: Res) -> None: ...
    def create(self, r: Res) -> None: ...
    def read(self, r: Res) -> None: ...
    def update(self, r: Res) -> None: ...
    def delete(self, r: Res) -> None: ...
    def record_sizes(self, op: Op, r: Res) -> None: ...


class _TimedStub:
    """The gRPC stub, timing every call by method name (to show where a provider operation goes)."""

    def __init__(self, stub: Any) -> None:
        self._stub = stub
        self.times: dict[str, list[float]] = {}

    def __getattr__(self, method: str) -> Callable[[Any], Any]:
        call = getattr(self._stub, method)
        sink = self.times.setdefault(method, [])

        def timed(request: Any) -> Any:
            t = time.perf_counter()
            try:
                return call(request)
            finally:
                sink.append(time.perf_counter() - t)  # list.append is atomic

        return timed


class ProviderMode:
    """The engine's calls to the SDK's dynamic-provider server."""

    name = "provider"

    def __init__(self, server: Any, blobs: dict[str, str]) -> None:
        self.stub = _TimedStub(server.stub)
        self.pid = server.proc.pid
        self.blobs = blobs

    def server_cpu_seconds(self) -> float:
        cpu = process_cpu_seconds(self.pid)
        if cpu is None:
            raise BenchmarkError("the provider server process is gone")
        return cpu

    def take_rpc_times(self) -> dict[str, list[float]]:
        times, self.stub.times = self.stub.times, {}
        return {k: v for k, v in times.items() if v}

    def prepare_create(self, r: Res) -> None:
        r.news = harness.to_struct(resource_props(r.kind, self.blobs[r.kind], args_of(r, 0)))

    def prepare_update(self, r: Res) -> None:
        r.news = harness.to_struct(resource_props(r.kind, self.blobs[r.kind], args_of(r, 1)))

    def _check(self, r: Res, olds: struct_pb2.Struct) -> struct_pb2.Struct:
        resp = self.stub.Check(provider_pb2.CheckRequest(urn=r.urn, olds=olds, news=r.news))
        if resp.failures:
            raise BenchmarkError(f"{r.urn}: check failed: {[(f.property, f.reason) for f in resp.failures]}")
        return resp.inputs

    def create(self, r: Res) -> None:
        inputs = self._check(r, EMPTY)
        resp = self.stub.Create(provider_pb2.CreateRequest(urn=r.urn, properties=inputs))
        r.id, r.inputs, r.outputs = resp.id, inputs, resp.properties

    def read(self, r: Res) -> None:
        resp = self.stub.Read(provider_pb2.ReadRequest(id=r.id, urn=r.urn, properties=r.outputs, inputs=r.inputs))
        if resp.id != r.id:
            raise BenchmarkError(f"{r.urn}: refresh lost the resource (id {resp.id!r})")
        r.outputs = resp.properties
        if resp.HasField("inputs"):
            r.inputs = resp.inputs

    def update(self, r: Res) -> None:
        news = self._check(r, r.inputs or EMPTY)
        diff = self.stub.Diff(
            provider_pb2.DiffRequest(id=r.id, urn=r.urn, olds=r.outputs, news=news, old_inputs=r.inputs)
        )
        if diff.changes != provider_pb2.DiffResponse.DIFF_SOME or list(diff.replaces):
            raise BenchmarkError(
                f"{r.urn}: expected an in-place update, got changes={diff.changes} replaces={list(diff.replaces)}"
            )
        resp = self.stub.Update(
            provider_pb2.UpdateRequest(id=r.id, urn=r.urn, olds=r.outputs, news=news, old_inputs=r.inputs)
        )
        r.inputs, r.outputs = news, resp.properties

    def delete(self, r: Res) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(id=r.id, urn=r.urn, properties=r.outputs, old_inputs=r.inputs))

    def record_sizes(self, op: Op, r: Res) -> None:
        """Untimed: what the engine would store for this resource after the operation."""
        if op.phase == "delete" or r.outputs is None:
            return
        outs = harness.from_struct(r.outputs)
        ins = harness.from_struct(r.inputs) if r.inputs is not None else {}
        r.sizes[op.phase] = {
            "outputs_proto_bytes": r.outputs.ByteSize(),
            "outputs_json_bytes": len(json.dumps(outs, separators=(",", ":"))),
            "inputs_proto_bytes": r.inputs.ByteSize() if r.inputs is not None else 0,
            "inputs_json_bytes": len(json.dumps(ins, separators=(",", ":"))),
            "provider_blob_bytes": len(outs.get(harness.PROVIDER_KEY) or ""),
            # The blob as the engine stores it for this resource: in its inputs and in its outputs.
            "provider_blob_bytes_stored": len(outs.get(harness.PROVIDER_KEY) or "")
            + len(ins.get(harness.PROVIDER_KEY) or ""),
        }
        expected = args_of(r, 1 if op.phase == "update" else 0)  # read runs between create and update
        for key in ("name", "description", "env"):
            if outs.get(key) != expected[key]:
                raise BenchmarkError(
                    f"{r.urn}: output {key} after {op.phase} is {outs.get(key)!r}, expected {expected[key]!r}"
                )


class BareMode:
    """The same work with bare `DokployClient` calls: the fewest requests the API allows."""

    name = "bare"

    def __init__(self, client: DokployClient) -> None:
        self.c = client
        self._args: dict[int, dict[str, Any]] = {}

    def server_cpu_seconds(self) -> float:
        return 0.0  # no provider process: all client work runs in the calling threads

    def take_rpc_times(self) -> dict[str, list[float]]:
        return {}

    def prepare_create(self, r: Res) -> None:
        self._args[id(r)] = args_of(r, 0)

    def prepare_update(self, r: Res) -> None:
        self._args[id(r)] = args_of(r, 1)

    def create(self, r: Res) -> None:
        a = self._args[id(r)]
        if r.kind == "Project":
            r.id = self.c.project.create(
                a["name"], description=a["description"], env=serialize_env(a["env"])
            ).project.project_id
        else:
            assert r.project is not None
            row = self.c.environment.create(r.project.id, a["name"], description=a["description"])
            self.c.environment.update(row.environment_id, env=serialize_env(a["env"]))
            r.id = row.environment_id

    def read(self, r: Res) -> None:
        if r.kind == "Project":
            self.c.project.one(r.id)
        else:
            self.c.environment.one(r.id)

    def update(self, r: Res) -> None:
        a = self._args[id(r)]
        if r.kind == "Project":
            self.c.project.update(r.id, description=a["description"], env=serialize_env(a["env"]))
        else:
            self.c.environment.update(r.id, description=a["description"], env=serialize_env(a["env"]))

    def delete(self, r: Res) -> None:
        if r.kind == "Project":
            if self.c.project.one(r.id).services():
                raise BenchmarkError(f"project {r.id} holds services")
            self.c.project.remove(r.id)
        else:
            if self.c.environment.one(r.id).services():
                raise BenchmarkError(f"environment {r.id} holds services")
            self.c.environment.remove(r.id)

    def record_sizes(self, op: Op, r: Res) -> None:
        pass  # a script stores nothing per resource
