#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs the pinned Python dependencies, provides the
# real Pulumi CLI (found on PATH or built from Go modules, see scripts/install-pulumi.sh), then runs
# pytest. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
pulumi_dir="$(bash scripts/install-pulumi.sh | tail -n 1)"
export PATH="$pulumi_dir:$PATH"
exec .venv/bin/python -m pytest "$@"
