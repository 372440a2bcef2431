"""Benchmark-only: the null provider lifts the worker cap the way our providers do.

Our providers call `dokploy_pulumi._workers.apply_from_env()` in their `configure`. For a fair
comparison the null provider must do the same, without importing the dokploy_pulumi package
(which would weigh on its process). benchmarks/engine.py puts this folder on PYTHONPATH only for
its "lifted workers" stacks; in the SDK's dynamic-provider server process (`python -m
pulumi.dynamic`) of a null stack, with DOKPLOY_PULUMI_PROVIDER_WORKERS set, it wraps the null
provider's `configure`. Every other process is left alone.
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
    import engine_null

    classes = [engine_null.NullProvider]
    for cls in classes:
        original = cls.configure

        def configure(self, req, _original=original):
            workers.apply_from_env()
            return _original(self, req)

        cls.configure = configure


if (
    os.environ.get("DOKPLOY_PULUMI_PROVIDER_WORKERS")
    and os.environ.get("ENGINE_BENCH_PROVIDER") == "null"
    and "pulumi.dynamic" in getattr(sys, "orig_argv", ())
):
    _install()
