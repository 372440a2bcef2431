"""examples/review-environments/review.py's PostgreSQL workaround applies to every URL Pulumi reads as
its PostgreSQL backend: Pulumi parses the scheme case-insensitively (Go's url.Parse lowers it), so
`POSTGRES://` is that backend too, and without the workaround `review.py list` hangs there."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REVIEW = Path(__file__).parents[2] / "examples" / "review-environments" / "review.py"


def _review() -> ModuleType:
    spec = importlib.util.spec_from_file_location("review_example", REVIEW)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_postgres_workaround_follows_pulumis_reading_of_the_scheme() -> None:
    workarounds = _review().backend_workarounds
    one_at_a_time = {"PULUMI_DIY_BACKEND_PARALLEL": "1"}
    for url in ("postgres://u@127.0.0.1:5432/db?table=t", "POSTGRES://u@127.0.0.1:5432/db", "Postgres://h/db"):
        assert workarounds(url) == one_at_a_time, url
    for url in (
        "file:///tmp/state",
        "s3://bucket",
        "https://api.pulumi.com",
        "postgresql-ish://x",
        "file:///postgres://",
    ):
        assert workarounds(url) == {}, url
