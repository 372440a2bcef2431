"""The look-ups are typed as a Pulumi user expects: `mypy --strict` accepts `usage.py` (every look-up,
plain and `_output`, with `opts`) and refuses a copy with one misspelt argument, naming it.

One mypy run checks both files (they are separate modules, so each file's errors are its own);
its cache is in the test's temporary directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USAGE = Path(__file__).with_name("usage.py")
REPO = Path(__file__).parents[2]
CORRECT = "get_project_output(project_id=app.id)"
MISSPELT = "get_project_output(projectt_id=app.id)"


def test_mypy_strict_accepts_the_usage_file_and_refuses_a_misspelt_argument(tmp_path: Path) -> None:
    source = USAGE.read_text(encoding="utf-8")
    assert source.count(CORRECT) == 1
    misspelt = tmp_path / "misspelt_usage.py"
    misspelt.write_text(source.replace(CORRECT, MISSPELT), encoding="utf-8")

    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
         str(USAGE), str(misspelt)],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )  # fmt: skip

    lines = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert [line for line in lines if line.startswith(str(USAGE))] == [], run.stdout + run.stderr
    assert len(lines) == 1 and lines[0].startswith(str(misspelt)), run.stdout + run.stderr
    assert '"projectt_id"' in lines[0] and "[call-arg]" in lines[0]
    assert run.returncode == 1
