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
  # pip itself first, at its pin: Pulumi's Python language host runs `python -m pip --version` and
  # `python -m pip list` in this venv on every preview, up, refresh and destroy the e2e tests make,
  # and the pinned pip starts in about half the time of the one a venv comes with (ensurepip's).
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,dev]'
  echo "$want" > "$stamp"
fi
# PostgreSQL 15 (Debian's), for the e2e test of the review-environments example on Pulumi's
# PostgreSQL state backend (tests/e2e/_postgres.py starts its own server from these binaries).
# The machine image ships it; a machine without it gets it here when apt-get can install it.
# Pinned to the major version: Debian replaces a minor release's package on every security fix.
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15
  else
    echo "setup.sh: PostgreSQL 15 is missing (/usr/lib/postgresql/15/bin); the PostgreSQL e2e test needs it: apt-get install postgresql-15" >&2
  fi
fi
