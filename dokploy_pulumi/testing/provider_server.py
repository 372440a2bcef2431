"""Drive the Pulumi SDK's own dynamic-provider gRPC server the way the engine does.

For tests of dynamic providers (ours, and users' own): `ProviderServer` starts the exact server the
engine starts and sends it the engine's calls. It uses serialisation helpers of the SDK that are
not public API (`pulumi.runtime._serialization`), checked on SDK 3.216.0, 3.260.0 and 3.272.0 by
the test matrix. Imports pulumi and grpc, so `dokploy_pulumi.testing` does not import it for you.

`python -u -m pulumi.dynamic` is the exact server the engine starts for dynamic resources; it
prints its port on the first stdout line. We send Configure first, then Check/Diff/Create/Read/
Update/Delete with the `__provider` blob the SDK itself produces for a provider instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
from typing import Any, Optional

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

UNKNOWN = rpc.UNKNOWN
PROVIDER_KEY = "__provider"


def blob_of(provider: Any) -> str:
    """The `__provider` value the SDK stores for this provider instance."""
    value, _secret = _serialize(True, serialize_provider, provider)
    return str(value)


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    # A private loop: asyncio.run() would unset the current loop that Pulumi's mocks tests expect.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return rpc.deserialize_properties(struct, keep_unknowns=True) or {}


class ProviderServer:
    """One provider process (like one `pulumi up`), stopped by its own PID on close()."""

    def __init__(self, env: Optional[dict[str, str]] = None) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read in stderr_text(), closed in close()
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=full_env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"provider server did not print a port: {line!r}\n{self.stderr_text()}")
        self.port = int(line)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()

    def __enter__(self) -> ProviderServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the engine's calls ------------------------------------------------------------------------
    def configure(self, config: dict[str, Any]) -> None:
        self.stub.Configure(provider_pb2.ConfigureRequest(args=to_struct(config), acceptSecrets=False))

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        resp = self.stub.Check(provider_pb2.CheckRequest(urn="urn", olds=to_struct(olds), news=to_struct(news)))
        return from_struct(resp.inputs), [(f.property, f.reason) for f in resp.failures]

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> provider_pb2.DiffResponse:
        resp: provider_pb2.DiffResponse = self.stub.Diff(
            provider_pb2.DiffRequest(id=id_, urn="urn", olds=to_struct(olds), news=to_struct(news))
        )
        return resp

    def create(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        resp = self.stub.Create(provider_pb2.CreateRequest(urn="urn", properties=to_struct(props)))
        return resp.id, from_struct(resp.properties)

    def read(
        self, id_: str, props: dict[str, Any], inputs: Optional[dict[str, Any]] = None
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        req = provider_pb2.ReadRequest(
            id=id_, urn="urn", properties=to_struct(props), inputs=to_struct(inputs or props)
        )
        resp = self.stub.Read(req)
        return resp.id, from_struct(resp.properties), from_struct(resp.inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        resp = self.stub.Update(
            provider_pb2.UpdateRequest(id=id_, urn="urn", olds=to_struct(olds), news=to_struct(news))
        )
        return from_struct(resp.properties)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self.stub.Delete(provider_pb2.DeleteRequest(id=id_, urn="urn", properties=to_struct(props)))


def diff_kind(resp: provider_pb2.DiffResponse) -> str:
    return {
        provider_pb2.DiffResponse.DIFF_NONE: "none",
        provider_pb2.DiffResponse.DIFF_SOME: "some",
        provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
    }[resp.changes]
