"""The report of `benchmarks/run.py`, computed from the measured runs only: per operation (requests
against the minimum, wall time, per-call latency, CPU), per phase and in total (provider / bare),
state sizes, the targets (met, or missed by how much), and its markdown.
"""

from __future__ import annotations

import os
import platform
from collections import Counter
from typing import Any, Optional

from benchmarks import stats
from benchmarks.calls_workload import ENV_NAMES, OPS, PHASES, Op

# Targets (issue 7).
TIME_RATIO_LIMIT = 1.15
BLOB_LIMIT_BYTES = 200
IMPORT_LIMIT_MS = 150.0


def _summarise(op: Op, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One operation in one mode over the measured runs."""
    count = runs[0][op.key]["count"]
    per_run_requests = [r[op.key]["requests"] for r in runs]
    requests = per_run_requests[0]
    walls = [r[op.key]["wall_s"] for r in runs]
    calls_ms = stats.scaled((c for r in runs for c in r[op.key]["calls_s"]), 1000)
    statuses: Counter[str] = Counter()
    for r in runs:
        statuses.update(r[op.key]["statuses"])
    wall = stats.median(walls, 4)
    total_calls = count * len(runs)
    return {
        "count": count,
        "requests_total": sum(requests.values()),
        "requests_per_op": round(sum(requests.values()) / count, 4),
        "requests_by_procedure_per_op": {k: round(v / count, 4) for k, v in sorted(requests.items())},
        "requests_identical_across_runs": all(r == requests for r in per_run_requests),
        "statuses": dict(statuses),
        "wall_s": wall,
        "wall_s_runs": [round(w, 4) for w in walls],
        "wall_ms_per_op": round(wall / count * 1000, 3),
        "call_ms_mean": stats.mean(calls_ms),
        "call_ms_p50": stats.percentile(calls_ms, 0.5),
        "call_ms_p95": stats.percentile(calls_ms, 0.95),
        # CPU, which the machine's load does not inflate the way it inflates wall time: the calling
        # threads (bare: all client work; provider: the engine-side gRPC stub) and the provider process.
        "caller_cpu_ms_per_op": round(sum(r[op.key]["client_cpu_s"] for r in runs) / total_calls * 1000, 3),
        "provider_process_cpu_ms_per_op": round(sum(r[op.key]["server_cpu_s"] for r in runs) / total_calls * 1000, 3),
        # provider only: mean latency of each gRPC call the engine makes for this operation
        "rpc_ms_mean": {
            method: stats.mean(stats.scaled((t for r in runs for t in r[op.key]["rpc_s"].get(method, [])), 1000))
            for method in runs[0][op.key]["rpc_s"]
        },
    }


def _size_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per resource kind, after each phase: the mean stored sizes measured per resource."""
    out: dict[str, Any] = {}
    for kind in ("Project", "Environment"):
        per_phase: dict[str, Any] = {}
        for op in OPS:
            if op.resource != kind or op.phase == "delete":
                continue
            rows = [s for r in runs for s in r[op.key]["sizes"]]
            if rows:
                per_phase[f"after_{op.phase}"] = {k: stats.mean((x[k] for x in rows), 1) for k in rows[0]}
        out[kind] = per_phase
    return out


def _stored_blob_bytes(sizes: dict[str, Any]) -> Optional[float]:
    after = sizes.get("after_update") or sizes.get("after_create")
    return after["provider_blob_bytes_stored"] if after else None


def build_report(
    runs: dict[str, list[dict[str, Any]]],
    *,
    blobs: dict[str, str],
    settings: dict[str, Any],
    load_start: tuple[float, float, float],
    provider_process: dict[str, float],
    imports: Optional[dict[str, Any]],
    run_time_s: float,
) -> dict[str, Any]:
    """The report from the runs of each mode ("provider", "bare": one dict per run, by operation)."""
    n, latency, concurrency = settings["n"], settings["latency"], settings["concurrency"]
    repeat, warmup = settings["repeat"], settings["warmup"]
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
            "wall_ratio": stats.ratio(p["wall_s"], b["wall_s"], 4),
        }

    def phase_walls(mode: str, phase: str) -> list[float]:
        return [sum(r[op.key]["wall_s"] for op in OPS if op.phase == phase) for r in runs[mode]]

    phases: dict[str, Any] = {}
    for phase in PHASES:
        pw, bw = stats.median(phase_walls("provider", phase), 4), stats.median(phase_walls("bare", phase), 4)
        phases[phase] = {
            "provider_wall_s": pw,
            "bare_wall_s": bw,
            "ratio": stats.ratio(pw, bw, 4),
            "provider_wall_s_runs": [round(x, 4) for x in phase_walls("provider", phase)],
            "bare_wall_s_runs": [round(x, 4) for x in phase_walls("bare", phase)],
        }
    totals = {
        mode: stats.median((sum(r[op.key]["wall_s"] for op in OPS) for r in runs[mode]), 4)
        for mode in ("provider", "bare")
    }
    sizes = _size_summary(runs["provider"])
    state = {
        kind: {
            "provider_blob_bytes": len(blobs[kind]),
            # As stored: in the inputs and in the outputs, measured after the last phase that stores.
            "provider_blob_bytes_stored_per_resource": _stored_blob_bytes(sizes[kind]),
            **sizes[kind],
        }
        for kind in blobs
    }

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
            "provider_wall_s": totals["provider"],
            "bare_wall_s": totals["bare"],
            "ratio": stats.ratio(totals["provider"], totals["bare"], 4),
        },
        "state_bytes": state,
        "provider_process": provider_process,
        "import": imports,
    }
    report["targets"] = evaluate_targets(report)
    report["run_time_s"] = run_time_s
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
            "met": p["ratio"] is not None and p["ratio"] <= TIME_RATIO_LIMIT,
            "margin": None if p["ratio"] is None else round(TIME_RATIO_LIMIT - p["ratio"], 4),
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


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("pulumi", "grpcio", "protobuf", "httpx", "pydantic", "dill", "dokploy-pulumi"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "?"
    return out


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
    lines += [
        "",
        f"| phase | provider s | bare s | ratio | target ≤ {TIME_RATIO_LIMIT:g} |",
        "|---|---:|---:|---:|---|",
    ]
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
            f"| {kind} (after update) | {s['provider_blob_bytes']} | {s['provider_blob_bytes_stored_per_resource']:g} | "
            f"{after.get('inputs_proto_bytes', 0):g} | {after.get('outputs_proto_bytes', 0):g} | "
            f"{after.get('outputs_json_bytes', 0):g} |"
        )
    imp = report.get("import")
    lines.append("")
    if imp:
        lines.append(
            f"Import: `import pulumi` {imp['pulumi_ms_median']:.0f} ms, with `dokploy_pulumi` "
            f"{imp['pulumi_plus_dokploy_pulumi_ms_median']:.0f} ms; `{imp['statement']}` after "
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
    lines.append(
        f"| each phase ≤ {TIME_RATIO_LIMIT:g}× bare | {_ok(ph['met'])} (worst: {worst[0]} {worst[1]['ratio']:.3f}×) |"
    )
    bl = t["provider_blob_under_200_bytes"]
    lines.append(
        f"| `__provider` blob < {BLOB_LIMIT_BYTES} B | {_ok(bl['met'])} ("
        + ", ".join(f"{k} {r['bytes']} B" for k, r in bl["resources"].items())
        + ") |"
    )
    im = t["import_adds_under_150ms"]
    lines.append(
        f"| import adds < {IMPORT_LIMIT_MS:g} ms | {_ok(im['met'])}"
        + (f" ({im['added_ms']:.0f} ms)" if im.get("added_ms") is not None else "")
        + " |"
    )
    lines.append("")
    return "\n".join(lines)
