"""The measured runs of `benchmarks/run.py`: the emulator, the SDK's provider server, a warm-up, then
`repeat` runs of each way of doing the work (their order alternating), each operation timed on
its own with the emulator's request record. Gives the raw runs to `calls_report.build_report`.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pulumi.runtime.proto import provider_pb2

from benchmarks.calls_modes import EMPTY, BareMode, Mode, ProviderMode
from benchmarks.calls_report import build_report
from benchmarks.calls_workload import ENV_NAMES, OPS, PROVIDER_CLASSES, BenchmarkError, Res, args_of, resource_props
from benchmarks.import_cost import measure_import
from dokploy_pulumi import DokployClient
from dokploy_pulumi.testing import DokployEmulator
from dokploy_pulumi.testing import provider_server as harness

API_KEY = "bench-key"


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


def run_cycle(mode: Mode, emu: DokployEmulator, n: int, pool: ThreadPoolExecutor) -> dict[str, Any]:
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


def run_benchmark(
    n: int = 200,
    latency: float = 0.02,
    concurrency: int = 4,
    repeat: int = 3,
    warmup: int = 8,
    import_reps: int = 11,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """One whole benchmark (README "Benchmarks"): the report of `repeat` measured runs per mode."""
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
                modes: dict[str, Mode] = {"provider": ProviderMode(server, blobs), "bare": BareMode(client)}
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

    return build_report(
        runs,
        blobs=blobs,
        settings={"n": n, "latency": latency, "concurrency": concurrency, "repeat": repeat, "warmup": warmup},
        load_start=load_start,
        provider_process={"startup_s": round(startup_s, 4), "first_call_s": round(first_call_s, 4)},
        imports=measure_import(import_reps) if import_reps else None,
        run_time_s=round(time.perf_counter() - started, 1),
    )
