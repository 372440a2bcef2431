"""What the engine-level benchmark runs: the phases, the two providers, and the requests each phase
must make (the spec the null provider sleeps for and our provider's counts are checked against).

The program (`benchmarks/engine_program/`) is 1 Project, N Environments with env and N/4
EnvironmentDuplicates with env. Imported by the benchmark and by the null provider's own process,
so it imports nothing heavy.
"""

from __future__ import annotations

PHASES = ("create", "preview", "refresh", "update", "destroy")
PROVIDERS = ("ours", "null")
#: The CLI command of each phase (update runs after `bench:generation` 1 -> 2: every resource changes).
PHASE_ARGS = {
    "create": ["up", "--yes", "--skip-preview"],
    "preview": ["preview", "--expect-no-changes"],
    "refresh": ["refresh", "--yes", "--skip-preview"],
    "update": ["up", "--yes", "--skip-preview"],
    "destroy": ["destroy", "--yes", "--skip-preview"],
}
#: The provider operation behind each phase (preview calls only check and diff, which make no request).
PHASE_OPERATION = {"create": "create", "refresh": "read", "update": "update", "destroy": "delete"}
#: The SDK's provider server: `futures.ThreadPoolExecutor(max_workers=4)` in pulumi/dynamic/__main__.py.
SDK_WORKERS = 4
#: Lifts that cap in our providers' `configure` (dokploy_pulumi._workers), and in the null provider's.
WORKERS_ENV = "DOKPLOY_PULUMI_PROVIDER_WORKERS"
#: Seconds the null provider sleeps per request it stands in for.
LATENCY_ENV = "ENGINE_BENCH_LATENCY"

#: Requests our provider makes per operation for this program's resources (README, "What each
#: operation costs"): a Project with description and env and no force_destroy; Environments with
#: env (create + env update); EnvironmentDuplicates with a declared env and description that
#: differ from the copy (duplicate + update).
REQUESTS: dict[str, dict[str, int]] = {
    "Project": {"create": 1, "read": 1, "update": 1, "delete": 2},
    "Environment": {"create": 2, "read": 1, "update": 1, "delete": 2},
    "EnvironmentDuplicate": {"create": 2, "read": 1, "update": 1, "delete": 2},
}


def resource_count(n: int, duplicates: int) -> int:
    """Resources in the stack: the Project, N Environments and the duplicates."""
    return 1 + n + duplicates


def expected_requests(n: int, duplicates: int) -> dict[str, int]:
    """Requests per phase for this program, from REQUESTS (preview makes none)."""
    counts = {"Project": 1, "Environment": n, "EnvironmentDuplicate": duplicates}
    out = {"preview": 0}
    for phase, op in PHASE_OPERATION.items():
        out[phase] = sum(REQUESTS[kind][op] * count for kind, count in counts.items())
    return out
