#!/usr/bin/env bash
# The whole test suite on a fresh machine (CI runs exactly this, through .ci/run):
#
#   bash scripts/test.sh           every tier, in this order, each timed in the summary at the end:
#     1. setup: .venv at the pinned versions (scripts/setup.sh); the real Dokploy servers start
#        building in the background (scripts/test-real.sh --prepare), to overlap what follows;
#     2. the real Pulumi CLI and its Python language host (scripts/install-pulumi.sh);
#     3. static checks: ruff check, ruff format --check, mypy --strict;
#     4. the emulator tiers: pytest over tests/ (unit, emulator, conformance on both emulated
#        releases, provider, faults, oracle, e2e, package, benchmarks);
#     5. the matrix: unit and provider tiers on Python 3.10 + Pulumi SDK 3.216.0 and Python 3.13 +
#        SDK 3.272.0 (scripts/test-matrix.sh), in the background beside step 6;
#     6. the real tier against Dokploy v0.30.2, v0.26.7 and v0.25.11 built from source, the three
#        servers' tiers at the same time (scripts/test-real.sh; with DOKPLOY_URL and DOKPLOY_API_KEY, against that server instead).
#        Without ../shared/real-dokploy (and no DOKPLOY_URL) it cannot run: the summary says so,
#        and with DOKPLOY_PULUMI_REQUIRE_REAL=1 (as .ci/run sets) the run fails.
#   bash scripts/test.sh ARGS...   only pytest, with ARGS (a quick loop while working).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

started=$SECONDS
bash scripts/setup.sh
if [ $# -gt 0 ]; then
  pulumi_dir="$(bash scripts/install-pulumi.sh | tail -n 1)"
  export PATH="$pulumi_dir:$PATH"
  exec .venv/bin/python -m pytest "$@"
fi

summary=()
failed=0
phase_start=$started
logs="$root/.test-logs"
mkdir -p "$logs"
note() { summary+=("$(printf '%-58s %5d s' "$1" $((SECONDS - phase_start)))"); phase_start=$SECONDS; }
run() {  # run LABEL CMD...: a phase whose failure fails the run but not the phases after it
  local label="$1"
  shift
  echo
  echo "=== $label"
  if "$@"; then note "ok      $label"; else note "FAILED  $label"; failed=1; fi
}

recipe="${REAL_DOKPLOY_RECIPE:-$root/../shared/real-dokploy}"
real_pid=""
if [ -n "${DOKPLOY_URL:-}" ] && [ -n "${DOKPLOY_API_KEY:-}" ]; then
  real_mode="your Dokploy (DOKPLOY_URL)"
elif [ -f "$recipe/start.sh" ]; then
  real_mode="Dokploy ${REAL_DOKPLOY_VERSIONS:-v0.30.2 v0.26.7 v0.25.11} built from source"
  bash scripts/test-real.sh --prepare > "$logs/real-prepare.log" 2>&1 &
  real_pid=$!
  echo "real Dokploy servers: being brought up in the background (log: .test-logs/real-prepare.log)"
else
  real_mode=""
fi
note "ok      setup"

pulumi_dir="$(bash scripts/install-pulumi.sh | tail -n 1)"
export PATH="$pulumi_dir:$PATH"
note "ok      Pulumi CLI and language host"

run "ruff check" .venv/bin/ruff check .
run "ruff format --check" .venv/bin/ruff format --check .
run "mypy --strict dokploy_pulumi benchmarks" .venv/bin/mypy dokploy_pulumi benchmarks
# One pytest worker per core (at most 4), each taking a whole test file at a time: the files keep
# their session fixtures (one emulator per file set) and their order.
run "emulator tiers (pytest tests/, one worker per core)" .venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadfile --durations=25
# The matrix runs beside the real tier (its log is shown when it ends): the real tier is mostly
# waiting on the servers and the clock, the matrix mostly CPU.
matrix_label="matrix: Python 3.10 + SDK 3.216.0, Python 3.13 + SDK 3.272.0"
echo
echo "=== $matrix_label (in the background, log: .test-logs/matrix.log)"
matrix_start=$SECONDS
bash scripts/test-matrix.sh > "$logs/matrix.log" 2>&1 &
matrix_pid=$!

if [ -n "$real_mode" ]; then
  # Each server's tier starts as soon as that server is up: test-real.sh waits (on a lock) for the
  # background bring-up of a release still being built, instead of for all three.
  run "real tier against $real_mode" bash scripts/test-real.sh
  if [ -n "$real_pid" ] && ! wait "$real_pid"; then
    cat "$logs/real-prepare.log"
    echo "the background bring-up of the real Dokploy servers failed (see above; the real tier tried again)"
  fi
elif [ -z "$real_pid" ]; then
  summary+=("NOT RUN real tier: no ../shared/real-dokploy recipe and no DOKPLOY_URL/DOKPLOY_API_KEY")
  # CI (.ci/run) must not pass without it; on a newcomer's machine the line above says it clearly.
  if [ "${DOKPLOY_PULUMI_REQUIRE_REAL:-0}" = 1 ]; then failed=1; fi
fi

echo
echo "=== $matrix_label (ended; its log follows)"
if wait "$matrix_pid"; then matrix_result="ok     "; else matrix_result="FAILED "; failed=1; fi
cat "$logs/matrix.log"
summary+=("$(printf '%-58s %5d s' "$matrix_result $matrix_label" $((SECONDS - matrix_start))) (beside the real tier)")

echo
echo "=== summary ($((SECONDS - started)) s in all)"
printf '%s\n' "${summary[@]}"
exit "$failed"
