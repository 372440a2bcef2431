"""A null dynamic provider with the same shape as ours, for the engine-level benchmark.

It makes no HTTP request: each operation sleeps `ENGINE_BENCH_LATENCY` seconds once per request
that our provider makes for the same operation (`engine_workload.REQUESTS`, the README's cost table
for this program's resources), so that the engine, the SDK's provider server and the program cost what
they cost with ours, and only our provider's own work (HTTP client, validation, error handling)
is missing. Resources have the same inputs and outputs as ours (env a secret input and output,
unencrypted provider blob), and the provider classes live in this importable module, so the
`__provider` blob is a reference (tens of bytes), as ours is.

The provider process imports this module by name (`benchmarks.engine_null`): the repository root
must be on PYTHONPATH for the CLI (benchmarks/engine_stack.py sets it). Never rename the classes
while a stack refers to them.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar, Optional

from pulumi import Output, ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from benchmarks.engine_workload import LATENCY_ENV, REQUESTS, WORKERS_ENV

_WORKERS_SOURCE = Path(__file__).resolve().parents[1] / "dokploy_pulumi" / "_workers.py"


@functools.cache
def _workers_module() -> Any:
    """dokploy_pulumi/_workers.py, loaded by path once per process (it lifts the cap once)."""
    spec = importlib.util.spec_from_file_location("_engine_null_workers", _WORKERS_SOURCE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {_WORKERS_SOURCE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _latency() -> float:
    try:
        return max(0.0, float(os.environ.get(LATENCY_ENV, "0") or 0))
    except ValueError:
        return 0.0


class NullProvider(ResourceProvider):
    """check/diff are local and free; create/read/update/delete only wait, like ours on the network."""

    kind: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    replace_on: ClassVar[tuple[str, ...]] = ()
    computed: ClassVar[tuple[str, ...]] = ()
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        # Lift the SDK's 4-worker cap when asked, as our providers do in their `configure`
        # (dokploy_pulumi._workers, loaded by path: importing the dokploy_pulumi package would
        # weigh on this process, which stands for one without it).
        if os.environ.get(WORKERS_ENV):
            _workers_module().apply_from_env()

    def _wait(self, op: str) -> None:
        # One sleep per request, in sequence, as our provider's requests are.
        latency = _latency()
        for _ in range(REQUESTS[self.kind][op]):
            if latency:
                time.sleep(latency)

    def _outputs(self, inputs: dict[str, Any], computed: dict[str, Any]) -> dict[str, Any]:
        outs = {k: inputs.get(k) for k in self.inputs}
        outs.update({k: computed.get(k) for k in self.computed})
        return outs

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult({k: news.get(k) for k in self.inputs}, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in self.inputs if olds.get(k) != news.get(k)]
        replaces = [k for k in changed if k in self.replace_on]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._wait("create")
        id_ = uuid.uuid4().hex[:21]
        computed = {
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "organization_id": "org-null",
            "default_environment_id": uuid.uuid4().hex[:21],
            "is_default": False,
            "project_id": props.get("project_id") or "p-null",
        }
        return CreateResult(id_, self._outputs(props, computed))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        self._wait("read")
        outs = self._outputs(props, props)
        return ReadResult(id_, outs, inputs={k: props.get(k) for k in self.inputs})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._wait("update")
        return UpdateResult(self._outputs(news, olds))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._wait("delete")


class NullProjectProvider(NullProvider):
    kind = "Project"
    inputs = ("name", "description", "env", "force_destroy", "connection", "adopt_id")
    computed = ("created_at", "organization_id", "default_environment_id")


class NullEnvironmentProvider(NullProvider):
    kind = "Environment"
    inputs = ("project_id", "name", "description", "env", "connection", "adopt_id")
    replace_on = ("project_id",)
    computed = ("is_default", "created_at")


class NullEnvironmentDuplicateProvider(NullProvider):
    kind = "EnvironmentDuplicate"
    inputs = ("source_environment_id", "name", "description", "env", "connection")
    replace_on = ("source_environment_id",)
    computed = ("project_id", "is_default", "created_at")


class _NullResource(Resource):
    """`Cls(name, **inputs, opts=None)`, with env a secret input and output, as ours."""

    _provider_type: ClassVar[type[NullProvider]]

    def __init__(self, resource_name: str, opts: Optional[ResourceOptions] = None, **kwargs: Any) -> None:
        provider = self._provider_type()
        props: dict[str, Any] = {k: kwargs.get(k) for k in provider.inputs}
        if props.get("env") is not None:
            props["env"] = Output.secret(props["env"])
        props.update({k: None for k in provider.computed})
        opts = ResourceOptions.merge(opts, ResourceOptions(additional_secret_outputs=["env"]))
        super().__init__(provider, resource_name, props, opts)


class Project(_NullResource, module="enginebench", name="Project"):
    _provider_type = NullProjectProvider


class Environment(_NullResource, module="enginebench", name="Environment"):
    _provider_type = NullEnvironmentProvider


class EnvironmentDuplicate(_NullResource, module="enginebench", name="EnvironmentDuplicate"):
    _provider_type = NullEnvironmentDuplicateProvider
