"""Benchmark the Dokploy providers, driven through the SDK's real dynamic-provider server, against
bare `DokployClient` calls doing the same work (issue 7).

    .venv/bin/python benchmarks/run.py [--n 200] [--latency 0.02] [--concurrency 4] [--out benchmarks/results]

One run:

1. starts the in-process Dokploy emulator (127.0.0.1 only) with `--latency` seconds per request;
2. starts the SDK's dynamic-provider gRPC server (`python -u -m pulumi.dynamic`, the process the
   engine starts; 4 server threads) through the provider test harness, and configures it with the
   stack config `dokploy:url` / `dokploy:apiKey`;
3. drives N Projects and 2N Environments through create, read (refresh), update and delete, phase
   by phase, with `--concurrency` client threads calling the server at once (Pulumi's default
   parallelism is unbounded, so the provider process's 4 gRPC threads are the real limit). Each
   resource makes the calls the engine makes: create = Check + Create; refresh = Read; update =
   Check + Diff + Update; destroy = Delete. The request structs the engine would hold (checked
   inputs, stored outputs) are passed through untouched, as the engine does; new program inputs
   are encoded before the timer starts, since the engine's own encoding is not provider work;
4. does the same work with bare `DokployClient` calls, the fewest requests the API allows, with
   the same number of threads and one shared client (one connection pool), like the provider.

The workload. Every project has `description` and `env` set. Every project gets TWO NON-DEFAULT
environments ("staging" and "preview"), each with `description` and `env` set. (Not the adopted
default "production" environment: its minimum depends on what the caller already knows. A script
that kept `project.create`'s answer updates it with 1 request where the resource, which only knows
project_id and name, must look it up first, and its "delete" restores defaults where a script would
do nothing; so the comparison would measure a difference of meaning, not overhead.) The update
phase changes description and env of every resource.

The minimum requests per operation (`OPS` below), which the bare client must also hit exactly:

| operation | minimum | why |
|---|---|---|
| Project create | 1 `project.create` | it takes env and returns the row and its default environment |
| Environment create (with env) | `environment.create` + `environment.update` = 2 | `environment.create` silently ignores env |
| Project read | 1 `project.one` | |
| Environment read | 1 `environment.one` | |
| Project update | 1 `project.update` | description and env in one call |
| Environment update | 1 `environment.update` | |
| Environment delete | `environment.one` + `environment.remove` = 2 | v0.26 removes an environment with its services (v0.30 refuses), so whoever deletes an environment it did not check must look for services first |
| Project delete (no force_destroy) | `project.one` + `project.remove` = 2 | `project.remove` silently cascades through services and orphans their containers, so whoever deletes a project it did not check must look for services first; with `force_destroy` it is 1 |

Reported per operation: API requests per operation (from the emulator's request record, per
procedure) against the minimum; wall time per operation and in total (median over `--repeat`
runs after an unmeasured warm-up; the two modes alternate which goes first); the provider/bare
ratio; per-call latency, the mean latency of each gRPC call the engine makes, and CPU per
operation (calling threads, and the provider process from /proc), which unlike wall time is not
inflated by other load on the machine; the size of the `__provider` blob and of the stored inputs
and outputs (protobuf bytes of the structs the server returns, and of their JSON) per resource;
the import cost of `dokploy_pulumi` on top of `pulumi` (fresh interpreters, see
`measure_import`). It writes `benchmark.json` (every figure, the machine's load average, and a
`targets` section: met/missed and by how much) and `benchmark.md` into `--out` (git-ignored) and
prints the markdown. The exit status is 0 whether or not the targets are met.

`tests/benchmarks/test_benchmark_small.py` runs this code path with N=3 and no latency and asserts
only the request counts and the blob size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from google.protobuf import struct_pb2  # noqa: E402
from pulumi.runtime.proto import provider_pb2  # noqa: E402

from dokploy_pulumi import DokployClient  # noqa: E402
from dokploy_pulumi._dotenv import serialize_env  # noqa: E402
from dokploy_pulumi.providers import EnvironmentProvider, ProjectProvider  # noqa: E402
from dokploy_pulumi.testing import DokployEmulator  # noqa: E402
from dokploy_pulumi.testing import provider_server as harness  # noqa: E402

API_KEY = "bench-key"
ENV_NAMES = ("staging", "preview")
PHASES = ("create", "read", "update", "delete")

# Targets (issue 7).
TIME_RATIO_LIMIT = 1.15
BLOB_LIMIT_BYTES = 200
IMPORT_LIMIT_MS = 150.0


@dataclass(frozen=True)
class Op:
    key: str
    phase: str
    resource: str
    minimum: dict[str, int]
    why: str


OPS: tuple[Op, ...] = (
    Op(
        "Project.create",
        "create",
        "Project",
        {"project.create": 1},
        "project.create takes env and returns the row and its default environment",
    ),
    Op(
        "Environment.create",
        "create",
        "Environment",
        {"environment.create": 1, "environment.update": 1},
        "environment.create silently ignores env: a follow-up environment.update sets it",
    ),
    Op("Project.read", "read", "Project", {"project.one": 1}, "one read"),
    Op("Environment.read", "read", "Environment", {"environment.one": 1}, "one read"),
    Op("Project.update", "update", "Project", {"project.update": 1}, "description and env in one call"),
    Op("Environment.update", "update", "Environment", {"environment.update": 1}, "description and env in one call"),
    # Environments are destroyed before their projects (they depend on them).
    Op(
        "Environment.delete",
        "delete",
        "Environment",
        {"environment.one": 1, "environment.remove": 1},
        "v0.26 removes an environment with its services (v0.30 refuses): look first",
    ),
    Op(
        "Project.delete",
        "delete",
        "Project",
        {"project.one": 1, "project.remove": 1},
        "without force_destroy: project.remove silently cascades through services, so look first",
    ),
)


class BenchmarkError(Exception):
    pass


# -- the workload ------------------------------------------------------------------------------------


@dataclass(eq=False)
class Res:
    """One resource through its life: what the engine (or a script) keeps between operations."""

    kind: str  # "Project" | "Environment"
    index: int
    env_name: Optional[str] = None
    project: Optional[Res] = None
    id: str = ""
    # provider mode: the structs the engine stores (checked inputs, outputs) and the next program inputs
    news: Optional[struct_pb2.Struct] = None
    inputs: Optional[struct_pb2.Struct] = None
    outputs: Optional[struct_pb2.Struct] = None
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def urn(self) -> str:
        name = f"p{self.index}" if self.kind == "Project" else f"p{self.index}-{self.env_name}"
        return f"urn:pulumi:bench::bench::pulumi-python:dynamic/dokploy:{self.kind}::{name}"


def args_of(res: Res, version: int) -> dict[str, Any]:
    """The resource's arguments: version 0 at create, 1 after the update."""
    i = res.index
    if res.kind == "Project":
        return {
            "name": f"bench-{i}",
            "description": f"benchmark project {i}" + (" v2" if version else ""),
            "env": {"APP": f"p{i}", "LEVEL": str(1 + version), **({"EXTRA": "yes"} if version else {})},
        }
    assert res.project is not None
    return {
        "project_id": res.project.id,
        "name": res.env_name,
        "description": f"{res.env_name} of project {i}" + (" v2" if version else ""),
        "env": {"STAGE": str(res.env_name), "REPLICAS": str(1 + version), **({"DEBUG": "1"} if version else {})},
    }


PROVIDER_CLASSES = {"Project": ProjectProvider, "Environment": EnvironmentProvider}


def resource_props(kind: str, blob: str, args: dict[str, Any]) -> dict[str, Any]:
    """What `dokploy_pulumi.Project/Environment` send: every declared input (None when not given),
    every computed output seeded as None, and the `__provider` blob."""
    lifecycle = PROVIDER_CLASSES[kind].lifecycle
    props = {a.name: args.get(a.name) for a in lifecycle.inputs}
    props.update({name: None for name in lifecycle.computed})
    props[harness.PROVIDER_KEY] = blob
    return props


# -- the two ways of doing the work --------------------------------------------------------------------

EMPTY = struct_pb2.Struct()


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
        return process_cpu_seconds(self.pid)

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
        pass


# -- running ---------------------------------------------------------------------------------------------


def _timed_map(
    pool: ThreadPoolExecutor, fn: Callable[[Res], None], items: Sequence[Res]
) -> tuple[float, list[float], list[float]]:
    """Run fn over items on the pool: wall time, and per call its latency and the caller's CPU time."""
    calls = [0.0] * len(items)
    cpu = [0.0] * len(items)

    def one(k: int) -> None:
        c, t = time.thread_time(), time.perf_counter()
        fn(items[k])
        calls[k], cpu[k] = time.perf_counter() - t, time.thread_time() - c

    started = time.perf_counter()
    for _ in pool.map(one, range(len(items))):  # re-raises the first failure
        pass
    return time.perf_counter() - started, calls, cpu


def process_cpu_seconds(pid: int) -> float:
    """user + system CPU of another process (Linux /proc; 0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _check_server_state(emu: DokployEmulator, projects: list[Res], envs: list[Res], version: int) -> None:
    """Untimed: the emulator holds exactly what the program declared."""
    for r in projects + envs:
        row = emu.get_project(r.id) if r.kind == "Project" else emu.get_environment(r.id)
        if row is None:
            raise BenchmarkError(f"{r.urn}: {r.id} is missing on the server")
        a = args_of(r, version)
        env = dict(line.split("=", 1) for line in row["env"].splitlines() if line)
        if row["name"] != a["name"] or row["description"] != a["description"] or env != a["env"]:
            raise BenchmarkError(f"{r.urn}: server holds {row!r}, expected {a!r}")


def run_cycle(mode: Any, emu: DokployEmulator, n: int, pool: ThreadPoolExecutor) -> dict[str, Any]:
    """N projects and 2N environments through every operation, one operation at a time."""
    projects = [Res("Project", i) for i in range(n)]
    envs = [Res("Environment", i, env_name=name, project=projects[i]) for i in range(n) for name in ENV_NAMES]
    items = {"Project": projects, "Environment": envs}
    results: dict[str, Any] = {}
    for op in OPS:
        todo = items[op.resource]
        if op.phase == "create":
            for r in todo:
                mode.prepare_create(r)
        elif op.phase == "update":
            for r in todo:
                mode.prepare_update(r)
        emu.reset_requests()
        mode.take_rpc_times()
        server_cpu = mode.server_cpu_seconds()
        wall, calls, client_cpu = _timed_map(pool, getattr(mode, op.phase), todo)
        server_cpu = mode.server_cpu_seconds() - server_cpu
        recorded = emu.requests
        for r in todo:
            mode.record_sizes(op, r)
        results[op.key] = {
            "count": len(todo),
            "wall_s": wall,
            "calls_s": calls,
            "client_cpu_s": sum(client_cpu),
            "server_cpu_s": server_cpu,
            "rpc_s": mode.take_rpc_times(),
            "requests": dict(Counter(f"{q.procedure}" for q in recorded)),
            "statuses": dict(Counter(str(q.status) for q in recorded)),
            "sizes": [r.sizes.get(op.phase) for r in todo if r.sizes.get(op.phase)],
        }
        if op.key == "Environment.create":
            _check_server_state(emu, projects, envs, 0)
        if op.key == "Environment.update":
            _check_server_state(emu, projects, envs, 1)
    left = [p for p in emu.projects() if p["projectId"] in {r.id for r in projects}]
    if left:
        raise BenchmarkError(f"{len(left)} project(s) survived the delete phase")
    return results


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _summarise(op: Op, runs: list[dict[str, Any]]) -> dict[str, Any]:
    count = runs[0][op.key]["count"]
    per_run_requests = [r[op.key]["requests"] for r in runs]
    requests = per_run_requests[0]
    consistent = all(r == requests for r in per_run_requests)
    walls = [r[op.key]["wall_s"] for r in runs]
    calls = [c for r in runs for c in r[op.key]["calls_s"]]
    statuses: Counter[str] = Counter()
    for r in runs:
        statuses.update(r[op.key]["statuses"])
    wall = statistics.median(walls)
    total_calls = count * len(runs)
    return {
        "count": count,
        "requests_total": sum(requests.values()),
        "requests_per_op": round(sum(requests.values()) / count, 4),
        "requests_by_procedure_per_op": {k: round(v / count, 4) for k, v in sorted(requests.items())},
        "requests_identical_across_runs": consistent,
        "statuses": dict(statuses),
        "wall_s": round(wall, 4),
        "wall_s_runs": [round(w, 4) for w in walls],
        "wall_ms_per_op": round(wall / count * 1000, 3),
        "call_ms_mean": round(statistics.fmean(calls) * 1000, 3),
        "call_ms_p50": round(_percentile(calls, 0.5) * 1000, 3),
        "call_ms_p95": round(_percentile(calls, 0.95) * 1000, 3),
        # CPU, which the machine's load does not inflate the way it inflates wall time: the calling
        # threads (bare: all client work; provider: the engine-side gRPC stub) and the provider process.
        "caller_cpu_ms_per_op": round(sum(r[op.key]["client_cpu_s"] for r in runs) / total_calls * 1000, 3),
        "provider_process_cpu_ms_per_op": round(sum(r[op.key]["server_cpu_s"] for r in runs) / total_calls * 1000, 3),
        # provider only: mean latency of each gRPC call the engine makes for this operation
        "rpc_ms_mean": {
            method: round(statistics.fmean(t for r in runs for t in r[op.key]["rpc_s"].get(method, [])) * 1000, 3)
            for method in runs[0][op.key]["rpc_s"]
        },
    }


def _size_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("Project", "Environment"):
        per_phase: dict[str, Any] = {}
        for op in OPS:
            if op.resource != kind or op.phase == "delete":
                continue
            rows = [s for r in runs for s in r[op.key]["sizes"]]
            if rows:
                per_phase[f"after_{op.phase}"] = {k: round(statistics.fmean(x[k] for x in rows), 1) for k in rows[0]}
        out[kind] = per_phase
    return out


def measure_import(reps: int, python: str = sys.executable) -> dict[str, Any]:
    """Import cost of dokploy_pulumi on top of pulumi, in fresh interpreters (medians of `reps`)."""
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DOKPLOY_"))}
    probe = (
        "import time; t0, c0 = time.perf_counter(), time.process_time(); import pulumi; "
        "t1, c1 = time.perf_counter(), time.process_time(); {extra}"
        "t2, c2 = time.perf_counter(), time.process_time(); print(t1 - t0, t2 - t1, c1 - c0, c2 - c1)"
    )
    alone, together, increment, cpu_alone, cpu_together = [], [], [], [], []
    for _ in range(reps):
        for extra, sink in (("", "alone"), ("import dokploy_pulumi; ", "together")):
            out = subprocess.run(
                [python, "-c", probe.format(extra=extra)],
                capture_output=True,
                text=True,
                check=True,
                env=clean_env,
                cwd=str(ROOT),
            ).stdout.split()
            a, b, ca, cb = (float(x) for x in out)
            if sink == "alone":
                alone.append(a)
                cpu_alone.append(ca)
            else:
                together.append(a + b)
                increment.append(b)
                cpu_together.append(ca + cb)
    added_ms = statistics.median(increment) * 1000
    # Which packages the extra import pulls in, by self time (-X importtime, one run).
    trace = subprocess.run(
        [python, "-X", "importtime", "-c", "import pulumi; import dokploy_pulumi"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env,
        cwd=str(ROOT),
    ).stderr
    after_pulumi, by_package = False, Counter()
    for line in trace.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        module = parts[2]
        if after_pulumi:
            by_package[module.split(".")[0]] += int(parts[0])
        if module == "pulumi":
            after_pulumi = True
    return {
        "method": "fresh interpreters, alternating: `import pulumi` alone, and `import pulumi` then "
        "`import dokploy_pulumi`, each timed in-process with perf_counter. added_ms (the target) is "
        "the median time of `import dokploy_pulumi` right after `import pulumi`; "
        "added_ms_difference_of_medians compares the two kinds of process (noisier: it adds the "
        "variance of both)",
        "repetitions": reps,
        "pulumi_ms_median": round(statistics.median(alone) * 1000, 1),
        "pulumi_plus_dokploy_pulumi_ms_median": round(statistics.median(together) * 1000, 1),
        "added_ms": round(added_ms, 1),
        "added_ms_difference_of_medians": round((statistics.median(together) - statistics.median(alone)) * 1000, 1),
        # CPU time is what the code costs; wall time also counts waiting for a busy machine's CPUs.
        "added_cpu_ms": round((statistics.median(cpu_together) - statistics.median(cpu_alone)) * 1000, 1),
        "added_self_ms_by_package": {k: round(v / 1000, 1) for k, v in by_package.most_common(8)},
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("pulumi", "grpcio", "protobuf", "httpx", "pydantic", "dill", "dokploy-pulumi"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "?"
    return out


def run_benchmark(
    n: int = 200,
    latency: float = 0.02,
    concurrency: int = 4,
    repeat: int = 3,
    warmup: int = 8,
    import_reps: int = 11,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    started = time.perf_counter()
    load_start = os.getloadavg()
    server_env = {k: v for k, v in os.environ.items() if not k.startswith("DOKPLOY_")}
    blobs = {kind: harness.blob_of(cls()) for kind, cls in PROVIDER_CLASSES.items()}
    runs: dict[str, list[dict[str, Any]]] = {"provider": [], "bare": []}
    with DokployEmulator(api_key=API_KEY, latency=latency) as emu:
        t = time.perf_counter()
        with harness.ProviderServer(env=server_env) as server:
            startup_s = time.perf_counter() - t
            server.configure({"dokploy:url": emu.url, "dokploy:apiKey": API_KEY})
            # The first call unpickles the blob: imports dokploy_pulumi in the provider process and
            # runs configure(). Timed apart, with the emulator idle (it makes no request).
            probe = Res("Project", -1)
            t = time.perf_counter()
            server.stub.Check(
                provider_pb2.CheckRequest(
                    urn=probe.urn,
                    olds=EMPTY,
                    news=harness.to_struct(resource_props("Project", blobs["Project"], args_of(probe, 0))),
                )
            )
            first_call_s = time.perf_counter() - t
            with DokployClient(emu.url, API_KEY) as client, ThreadPoolExecutor(concurrency) as pool:
                modes = {"provider": ProviderMode(server, blobs), "bare": BareMode(client)}
                if warmup:
                    for name, mode in modes.items():
                        log(f"warm-up: {name}, n={warmup}")
                        run_cycle(mode, emu, warmup, pool)
                for rep in range(repeat):
                    order = ("provider", "bare") if rep % 2 == 0 else ("bare", "provider")
                    for name in order:
                        t = time.perf_counter()
                        runs[name].append(run_cycle(modes[name], emu, n, pool))
                        log(f"run {rep + 1}/{repeat}: {name} took {time.perf_counter() - t:.1f}s")
            provider_stderr = server.stderr_text()
    if provider_stderr.strip():
        log("provider server stderr:\n" + provider_stderr[-2000:])

    operations: dict[str, Any] = {}
    for op in OPS:
        p, b = _summarise(op, runs["provider"]), _summarise(op, runs["bare"])
        operations[op.key] = {
            "phase": op.phase,
            "resource": op.resource,
            "minimum_per_op": sum(op.minimum.values()),
            "minimum_by_procedure": op.minimum,
            "minimum_why": op.why,
            "provider": p,
            "bare": b,
            "wall_ratio": round(p["wall_s"] / b["wall_s"], 4) if b["wall_s"] else None,
        }

    def phase_walls(mode: str, phase: str) -> list[float]:
        return [sum(r[op.key]["wall_s"] for op in OPS if op.phase == phase) for r in runs[mode]]

    phases: dict[str, Any] = {}
    for phase in PHASES:
        pw, bw = statistics.median(phase_walls("provider", phase)), statistics.median(phase_walls("bare", phase))
        phases[phase] = {
            "provider_wall_s": round(pw, 4),
            "bare_wall_s": round(bw, 4),
            "ratio": round(pw / bw, 4),
            "provider_wall_s_runs": [round(x, 4) for x in phase_walls("provider", phase)],
            "bare_wall_s_runs": [round(x, 4) for x in phase_walls("bare", phase)],
        }
    totals = {
        mode: statistics.median([sum(r[op.key]["wall_s"] for op in OPS) for r in runs[mode]])
        for mode in ("provider", "bare")
    }
    sizes = _size_summary(runs["provider"])
    state = {
        kind: {
            "provider_blob_bytes": len(blobs[kind]),
            "provider_blob_bytes_stored_per_resource": 2 * len(blobs[kind]),  # in inputs and in outputs
            **sizes[kind],
        }
        for kind in blobs
    }
    imports = measure_import(import_reps) if import_reps else None

    report: dict[str, Any] = {
        "benchmark": "dokploy_pulumi providers via the SDK's dynamic-provider server vs bare DokployClient",
        "config": {
            "n_projects": n,
            "n_environments": n * len(ENV_NAMES),
            "environments": f"{len(ENV_NAMES)} non-default per project ({', '.join(ENV_NAMES)}), env set on each",
            "latency_s": latency,
            "concurrency": concurrency,
            "repeat": repeat,
            "warmup": warmup,
            "engine_calls": {
                "create": "Check+Create",
                "read": "Read",
                "update": "Check+Diff+Update",
                "delete": "Delete",
            },
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                # Other work on the machine inflates every wall time, the provider's cross-process hops most.
                "load_average_1_5_15_at_start": [round(x, 2) for x in load_start],
                "load_average_1_5_15_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "versions": _versions(),
        },
        "operations": operations,
        "phases": phases,
        "total": {
            "provider_wall_s": round(totals["provider"], 4),
            "bare_wall_s": round(totals["bare"], 4),
            "ratio": round(totals["provider"] / totals["bare"], 4),
        },
        "state_bytes": state,
        "provider_process": {"startup_s": round(startup_s, 4), "first_call_s": round(first_call_s, 4)},
        "import": imports,
    }
    report["targets"] = evaluate_targets(report)
    report["run_time_s"] = round(time.perf_counter() - started, 1)
    return report


def evaluate_targets(report: dict[str, Any]) -> dict[str, Any]:
    ops = report["operations"]
    request_rows = {}
    for key, o in ops.items():
        got = o["provider"]["requests_by_procedure_per_op"]
        want = {k: float(v) for k, v in o["minimum_by_procedure"].items()}
        request_rows[key] = {
            "provider_per_op": o["provider"]["requests_per_op"],
            "minimum_per_op": o["minimum_per_op"],
            "extra_per_op": round(o["provider"]["requests_per_op"] - o["minimum_per_op"], 4),
            "met": got == want,
        }
    phase_rows = {
        phase: {
            "ratio": p["ratio"],
            "limit": TIME_RATIO_LIMIT,
            "met": p["ratio"] <= TIME_RATIO_LIMIT,
            "margin": round(TIME_RATIO_LIMIT - p["ratio"], 4),
        }
        for phase, p in report["phases"].items()
    }
    blob_rows = {
        kind: {
            "bytes": s["provider_blob_bytes"],
            "limit": BLOB_LIMIT_BYTES,
            "met": s["provider_blob_bytes"] < BLOB_LIMIT_BYTES,
            "margin": BLOB_LIMIT_BYTES - s["provider_blob_bytes"],
        }
        for kind, s in report["state_bytes"].items()
    }
    targets: dict[str, Any] = {
        "requests_equal_minimum": {"met": all(r["met"] for r in request_rows.values()), "operations": request_rows},
        "phase_time_within_1_15x_bare": {"met": all(r["met"] for r in phase_rows.values()), "phases": phase_rows},
        "provider_blob_under_200_bytes": {"met": all(r["met"] for r in blob_rows.values()), "resources": blob_rows},
    }
    imp = report.get("import")
    if imp:
        targets["import_adds_under_150ms"] = {
            "added_ms": imp["added_ms"],
            "limit_ms": IMPORT_LIMIT_MS,
            "met": imp["added_ms"] < IMPORT_LIMIT_MS,
            "margin_ms": round(IMPORT_LIMIT_MS - imp["added_ms"], 1),
        }
    else:
        targets["import_adds_under_150ms"] = {"met": None, "note": "not measured (--import-reps 0)"}
    targets["all_met"] = all(t.get("met") is not False for t in targets.values() if isinstance(t, dict))
    return targets


# -- output ----------------------------------------------------------------------------------------------


def _ok(met: Optional[bool]) -> str:
    return "n/a" if met is None else ("met" if met else "**MISSED**")


def render_markdown(report: dict[str, Any]) -> str:
    cfg, t = report["config"], report["targets"]
    lines = [
        f"# dokploy_pulumi benchmark: N={cfg['n_projects']} projects, {cfg['n_environments']} environments, "
        f"latency {cfg['latency_s'] * 1000:g} ms/request, concurrency {cfg['concurrency']}, "
        f"median of {cfg['repeat']} run(s)",
        "",
        f"Machine: {cfg['machine']['cpus']} CPUs, load average (1/5/15 min) "
        f"{cfg['machine']['load_average_1_5_15_at_start']} at start, {cfg['machine']['load_average_1_5_15_at_end']} at end.",
        "",
        f"Environments: {cfg['environments']}. Engine calls: create = Check+Create, read = Read, "
        "update = Check+Diff+Update, delete = Delete.",
        "",
        "| operation | count | requests/op provider | minimum | bare | wall ms/op provider | wall ms/op bare | "
        "ratio | call ms mean provider | call ms mean bare | CPU ms/op provider (stub + process) | CPU ms/op bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, o in report["operations"].items():
        p, b = o["provider"], o["bare"]
        lines.append(
            f"| {key} | {p['count']} | {p['requests_per_op']:g} | {o['minimum_per_op']} | {b['requests_per_op']:g} | "
            f"{p['wall_ms_per_op']:.2f} | {b['wall_ms_per_op']:.2f} | {o['wall_ratio']:.3f} | "
            f"{p['call_ms_mean']:.1f} | {b['call_ms_mean']:.1f} | "
            f"{p['caller_cpu_ms_per_op']:.2f} + {p['provider_process_cpu_ms_per_op']:.2f} | {b['caller_cpu_ms_per_op']:.2f} |"
        )
    lines += ["", "| operation | provider gRPC calls, mean ms each | provider call − bare call, ms |", "|---|---|---:|"]
    for key, o in report["operations"].items():
        p, b = o["provider"], o["bare"]
        rpcs = " + ".join(f"{m} {ms:.1f}" for m, ms in p["rpc_ms_mean"].items())
        lines.append(f"| {key} | {rpcs} | {p['call_ms_mean'] - b['call_ms_mean']:.1f} |")
    lines += ["", "| phase | provider s | bare s | ratio | target ≤ 1.15 |", "|---|---:|---:|---:|---|"]
    for phase, ph in report["phases"].items():
        lines.append(
            f"| {phase} | {ph['provider_wall_s']:.3f} | {ph['bare_wall_s']:.3f} | {ph['ratio']:.3f} | "
            f"{_ok(t['phase_time_within_1_15x_bare']['phases'][phase]['met'])} |"
        )
    tot = report["total"]
    lines.append(f"| **total** | {tot['provider_wall_s']:.3f} | {tot['bare_wall_s']:.3f} | {tot['ratio']:.3f} | |")
    lines += [
        "",
        "| state per resource | `__provider` blob B | stored twice B | inputs proto B | outputs proto B | "
        "outputs JSON B |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, s in report["state_bytes"].items():
        after = s.get("after_update") or s.get("after_create") or {}
        lines.append(
            f"| {kind} (after update) | {s['provider_blob_bytes']} | {s['provider_blob_bytes_stored_per_resource']} | "
            f"{after.get('inputs_proto_bytes', 0):g} | {after.get('outputs_proto_bytes', 0):g} | "
            f"{after.get('outputs_json_bytes', 0):g} |"
        )
    imp = report.get("import")
    lines.append("")
    if imp:
        lines.append(
            f"Import: `import pulumi` {imp['pulumi_ms_median']:.0f} ms, with `dokploy_pulumi` "
            f"{imp['pulumi_plus_dokploy_pulumi_ms_median']:.0f} ms; `import dokploy_pulumi` after "
            f"`import pulumi` **adds {imp['added_ms']:.0f} ms** "
            f"(difference of medians {imp['added_ms_difference_of_medians']:.0f} ms, CPU "
            f"{imp['added_cpu_ms']:.0f} ms; median of "
            f"{imp['repetitions']}). Heaviest added (self ms): "
            + ", ".join(f"{k} {v:g}" for k, v in imp["added_self_ms_by_package"].items())
            + "."
        )
    pp = report["provider_process"]
    lines.append(
        f"Provider process: start {pp['startup_s'] * 1000:.0f} ms; first call (unpickle, import, configure) "
        f"{pp['first_call_s'] * 1000:.0f} ms (not in the phase times)."
    )
    lines += ["", "| target | result |", "|---|---|"]
    req = t["requests_equal_minimum"]
    extra = {k: r["extra_per_op"] for k, r in req["operations"].items() if not r["met"]}
    lines.append(
        f"| requests per operation = minimum | {_ok(req['met'])}"
        + (f" (extra per op: {extra})" if extra else "")
        + " |"
    )
    ph = t["phase_time_within_1_15x_bare"]
    worst = max(ph["phases"].items(), key=lambda kv: kv[1]["ratio"])
    lines.append(f"| each phase ≤ 1.15× bare | {_ok(ph['met'])} (worst: {worst[0]} {worst[1]['ratio']:.3f}×) |")
    bl = t["provider_blob_under_200_bytes"]
    lines.append(
        f"| `__provider` blob < 200 B | {_ok(bl['met'])} ("
        + ", ".join(f"{k} {r['bytes']} B" for k, r in bl["resources"].items())
        + ") |"
    )
    im = t["import_adds_under_150ms"]
    lines.append(
        f"| import adds < 150 ms | {_ok(im['met'])}"
        + (f" ({im['added_ms']:.0f} ms)" if im.get("added_ms") is not None else "")
        + " |"
    )
    lines.append("")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="projects (environments: 2N)")
    parser.add_argument("--latency", type=float, default=0.02, help="emulator delay per request, seconds")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (the provider server has 4)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per mode; medians are reported")
    parser.add_argument("--warmup", type=int, default=8, help="projects in the unmeasured warm-up cycle")
    parser.add_argument("--import-reps", type=int, default=11, help="fresh interpreters per import timing (0: skip)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="directory for the results")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    report = run_benchmark(args.n, args.latency, args.concurrency, args.repeat, args.warmup, args.import_reps, log)
    report["command"] = " ".join([os.path.relpath(sys.executable, os.getcwd()), *sys.argv])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = render_markdown(report)
    (out / "benchmark.md").write_text(markdown)
    print(markdown)
    print(f"run time {report['run_time_s']:.1f}s; wrote {out / 'benchmark.json'} and {out / 'benchmark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
