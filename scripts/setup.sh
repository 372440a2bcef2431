#!/usr/bin/env bash
# Creates .venv (if missing) and installs the package with its test and lint dependencies at the exact
# versions in constraints.txt. Idempotent; prints nothing on success but pip's own summary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON_BOOTSTRAP:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.dokploy-pulumi-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,dev]'
  echo "$want" > "$stamp"
fi
