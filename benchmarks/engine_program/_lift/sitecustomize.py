"""Benchmark-only stand-in for the proposed hook: `_workers.apply_from_env()` in `configure`.

benchmarks/engine.py puts this folder on PYTHONPATH only for its "lifted workers" stacks. In the
SDK's dynamic-provider server process (`python -m pulumi.dynamic`), when
DOKPLOY_PULUMI_PROVIDER_WORKERS is set, it wraps the `configure` of the provider classes the stack
uses so that the first operation lifts the server's thread cap, as our providers would once they
call `dokploy_pulumi._workers.apply_from_env()` themselves. Every other process is left alone.
"""

import importlib.util
import os
import sys
from pathlib import Path


def _install() -> None:
    root = Path(__file__).resolve().parents[3]
    # Load _workers by path: importing the dokploy_pulumi package would weigh on the null provider.
    spec = importlib.util.spec_from_file_location("_bench_workers", root / "dokploy_pulumi" / "_workers.py")
    workers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(workers)
    if os.environ.get("ENGINE_BENCH_PROVIDER") == "null":
        import engine_null

        classes = [engine_null.NullProvider]
    else:
        from dokploy_pulumi import providers

        classes = [
            providers.ProjectProvider,
            providers.EnvironmentProvider,
            providers.EnvironmentDuplicateProvider,
            providers.ProjectDuplicateProvider,
        ]
    for cls in classes:
        original = cls.configure

        def configure(self, req, _original=original):
            workers.apply_from_env()
            return _original(self, req)

        cls.configure = configure


if os.environ.get("DOKPLOY_PULUMI_PROVIDER_WORKERS") and "pulumi.dynamic" in getattr(sys, "orig_argv", ()):
    _install()
