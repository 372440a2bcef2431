"""What the engine benchmark reads out of py-spy's raw profiles (no py-spy needed: raw files here)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.profiler import RATE_HZ, analyze_profile, sample_owner  # noqa: E402

# py-spy --format raw: one line per distinct stack, "frame;frame;... count", root first.
RAW = """\
<module> (pulumi/dynamic/__main__.py:5);serve (grpc/_server.py:10);call (dokploy_pulumi/_transport.py:300) 50
<module> (pulumi/dynamic/__main__.py:5);run (asyncio/base_events.py:600) 30
<module> (x.py:1);_find_and_load (<frozen importlib._bootstrap>:1);<module> (httpx/__init__.py:1) 15
worker (threading.py:1000);wait (concurrent/futures/thread.py:80) 5
not a sample line
"""


def test_samples_by_owner(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(RAW)
    result = analyze_profile([tmp_path / "a.txt", tmp_path / "missing.txt"])
    assert result["samples"] == 100 and result["rate_hz"] == RATE_HZ
    assert result["by_owner"] == {
        "ours: dokploy_pulumi (and the httpx/pydantic it calls)": 0.5,
        "SDK: new asyncio event loop per call": 0.3,
        "imports: x": 0.15,
        "thread pool": 0.05,
    }
    assert result["top_leaf_functions"][0] == ("call (dokploy_pulumi/_transport.py:300)", 0.5)


def test_no_samples_no_shares(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    assert analyze_profile([tmp_path / "empty.txt"])["by_owner"] == {}


def test_owner_precedence() -> None:
    assert (
        sample_owner(["f (pulumi/runtime/rpc.py:1)", "g (dokploy_pulumi/x.py:2)"]) == "SDK: property (de)serialisation"
    )
    assert sample_owner(["f (pulumi/dynamic/__main__.py:1)", "g (grpc/_server.py:1)"]) == "SDK: provider server, other"
    assert sample_owner(["f (grpc/_server.py:1)"]) == "gRPC server plumbing"
    assert sample_owner(["f (elsewhere.py:1)"]) == "other"
