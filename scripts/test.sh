#!/usr/bin/env bash
# The whole test suite on a fresh machine (CI runs exactly this, through .ci/run):
#
#   bash scripts/test.sh           every tier, each timed in the summary at the end:
#     1. setup: .venv at the pinned versions (scripts/setup.sh);
#     2. the real Pulumi CLI and its Python language host (scripts/install-pulumi.sh);
#     3. the real tier, in the background from here on (log: .test-logs/real.log, shown when it
#        ends): Dokploy v0.30.2, v0.26.7 and v0.25.11 built from source and brought up at once, each
#        server's tier starting as soon as that server is up (scripts/test-real.sh; with DOKPLOY_URL
#        and DOKPLOY_API_KEY, against that server instead). Without ../shared/real-dokploy (and no
#        DOKPLOY_URL) it cannot run: the summary says so, and with DOKPLOY_PULUMI_REQUIRE_REAL=1
#        (as .ci/run sets) the run fails;
#     4. the matrix, in the background from here on too (log: .test-logs/matrix.log): unit and
#        provider tiers on Python 3.10 + Pulumi SDK 3.216.0 and Python 3.13 + SDK 3.272.0
#        (scripts/test-matrix.sh);
#     5. static checks: ruff check, ruff format --check, mypy --strict;
#     6. the emulator tiers: pytest over tests/ (unit, emulator, conformance on the emulated
#        releases, provider, faults, oracle, e2e, package, benchmarks), except the real tier's own
#        e2e files when the real tier runs them.
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

# logged LOG CMD...: CMD with its output shown and kept in LOG; CMD's exit status. The tee outlives
# the SIGINT that stops a run (Ctrl-C), so that pytest's report after it is not lost.
logged() {
  local log="$1"
  shift
  "$@" 2>&1 | (trap '' INT; tee "$log")
  return "${PIPESTATUS[0]}"
}
# failures LOG: the failed and errored tests in LOG (scripts/failed-tests.sh) into the summary, under
# the line of their phase: CI shows only the end of a run's output.
failures() {
  local line
  while IFS= read -r line; do summary+=("$line"); done < <(bash scripts/failed-tests.sh "$1")
}

recipe="${REAL_DOKPLOY_RECIPE:-$root/../shared/real-dokploy}"
if [ -n "${DOKPLOY_URL:-}" ] && [ -n "${DOKPLOY_API_KEY:-}" ]; then
  real_mode="your Dokploy (DOKPLOY_URL)"
elif [ -f "$recipe/start.sh" ]; then
  real_mode="Dokploy ${REAL_DOKPLOY_VERSIONS:-v0.30.2 v0.26.7 v0.25.11} built from source"
else
  real_mode=""
fi
note "ok      setup"

pulumi_dir="$(bash scripts/install-pulumi.sh | tail -n 1)"
export PATH="$pulumi_dir:$PATH"
note "ok      Pulumi CLI and language host"

# The real tier runs beside everything that follows: most of its time is a cold server's build
# and a dev-mode server's answers, so the other tiers fill the cores meanwhile.
real_label="real tier against $real_mode"
real_pid=""
matrix_pid=""
# stop SIGNAL STATUS: Ctrl-C (or a TERM) of this script. The background tiers would not see it:
# `timeout` puts the real tier in a process group of its own, and a non-interactive shell starts
# background commands with SIGINT ignored (the matrix), so both ran on after the run was stopped
# (the real tier for up to REAL_DEADLINE). Each runs under `timeout`, which passes a signal it gets
# on to its whole process group (once: signalling the group from here too would interrupt pytest's
# clean-up with a second SIGINT): the real tier gets SIGINT, as at REAL_DEADLINE (see below), the
# matrix SIGTERM (on SIGINT its script would go on to its next cell). The real tier's stopped
# summary (which server was still busy) is shown.
stop() {
  trap - INT TERM HUP
  echo "test.sh: stopped by SIG$1: ending the background tiers" >&2
  local pid
  [ -z "$real_pid" ] || kill -INT "$real_pid" 2>/dev/null || true
  [ -z "$matrix_pid" ] || kill -TERM "$matrix_pid" 2>/dev/null || true
  for pid in $real_pid $matrix_pid; do
    wait "$pid" 2>/dev/null || true
    sweep "$pid"
  done
  [ -z "$real_pid" ] || sed -n '/^test-real: stopped by/,$p' "$logs/real.log"
  exit "$2"
}
# took LOG EPOCH: a background tier's time, from EPOCH to its log's last write. It is waited for
# only after the emulator tiers, and often ended long before: the real tier's line gave the time
# to the end of the wait, the emulator tiers' own time when it had ended first.
took() { echo $(($(stat -c %Y "$1") - $2)); }
# sweep PID: kills what is left of a background tier's process group once its `timeout` (PID, the
# group's leader) has ended. `timeout` ends with the script it runs, and its --kill-after only while
# that runs: test-real.sh stops waiting for its tiers 30 s after a stop, and a tier's pytest still
# in its finalizers (or Pulumi CLI under it) then ran on after the run had ended. Called at once
# after `wait`: with a process left in the group PID cannot be reused. The servers are detached (a
# session of their own) and stay up.
sweep() { kill -KILL -- "-$1" 2>/dev/null || true; }
trap 'stop INT 130' INT
trap 'stop TERM 143' TERM
trap 'stop HUP 129' HUP
if [ -n "$real_mode" ]; then
  echo
  echo "=== $real_label (in the background, log: .test-logs/real.log)"
  real_epoch="$(date +%s)"
  # Stopped (with every test process it started) REAL_DEADLINE s after this script began, so that a
  # hung server ends in a failure with its log shown here, before a CI runner's own time limit.
  # SIGINT, not TERM: pytest ends on it as on Ctrl-C, running the finalizers that remove what the
  # tests made on the server and reporting what ran, and test-real.sh prints its summary (which
  # server was still busy); whatever still runs 60 s later is killed.
  real_budget=$((${REAL_DEADLINE:-4800} - SECONDS))
  # Past the deadline already (a small REAL_DEADLINE, a slow setup): `timeout 0` would set no limit
  # and a negative one is an error (exit 125).
  [ "$real_budget" -ge 1 ] || real_budget=1
  real_summary="$logs/real-summary.txt"  # see below
  rm -f "$real_summary"
  REAL_TIER_SUMMARY="$real_summary" timeout -s INT --kill-after=60 "$real_budget" bash scripts/test-real.sh > "$logs/real.log" 2>&1 &
  real_pid=$!
fi

# The matrix too runs in the background from here on (its log is shown when it ends): most of its
# time is its tests' waits (clock bounds, timeouts), which cost no CPU; at the end of a run, after
# the emulator tiers, that wait was the run's last 8 minutes.
matrix_label="matrix: Python 3.10 + SDK 3.216.0, Python 3.13 + SDK 3.272.0"
echo
echo "=== $matrix_label (in the background, log: .test-logs/matrix.log)"
matrix_epoch="$(date +%s)"
# `timeout 0` sets no time limit: it only puts the matrix in a process group of its own, which
# stop() above ends as a whole through it. At the run's own priority: at niceness 10 (tried) it got
# 1.5 CPU-minutes in its first 38 minutes, and so it would have ended the run.
timeout 0 bash scripts/test-matrix.sh > "$logs/matrix.log" 2>&1 &
matrix_pid=$!

run "ruff check" .venv/bin/ruff check .
run "ruff format --check" .venv/bin/ruff format --check .
run "mypy --strict dokploy_pulumi benchmarks" .venv/bin/mypy dokploy_pulumi benchmarks
# One pytest worker per core (at most 4), each taking a whole test file at a time: the files keep
# their session fixtures (one emulator per file set) and their order.
emulator_args=(-n auto --maxprocesses 4 --dist loadfile --durations=25)
if [ -n "$real_mode" ]; then
  # The real tier's own e2e files (tests/e2e/test_real_*.py) run there, against each real server
  # through the same CLI path; here they would only repeat that against the emulator.
  emulator_args+=(--ignore-glob='tests/e2e/test_real_*.py')
  echo "tests/e2e/test_real_*.py: run by the real tier below, against $real_mode"
fi
run "emulator tiers (pytest tests/, one worker per core)" logged "$logs/emulator.log" .venv/bin/python -m pytest "${emulator_args[@]}"
failures "$logs/emulator.log"

if [ -n "$real_pid" ]; then
  real_rc=0
  wait "$real_pid" || real_rc=$?
  sweep "$real_pid"
  real_pid=""  # ended: stop() must not signal its pid, which may be another process's by then
  echo
  echo "=== $real_label (ended; its log follows)"
  cat "$logs/real.log"
  if [ "$real_rc" = 0 ]; then real_result="ok     "; else real_result="FAILED "; failed=1; fi
  [ "$real_rc" != 124 ] || echo "the real tier was stopped at REAL_DEADLINE (${REAL_DEADLINE:-4800} s into the run)"
  summary+=("$(printf '%-58s %5d s' "$real_result $real_label" "$(took "$logs/real.log" "$real_epoch")") (beside the tiers above)")
  # Its own summary (a line per server, with the tests that failed there), which it writes to
  # $REAL_TIER_SUMMARY as it ends. Killed before that (REAL_DEADLINE's --kill-after, a crash): the
  # last lines of its log, said to be that.
  if [ -f "$real_summary" ]; then
    while IFS= read -r line; do summary+=("    $line"); done < "$real_summary"
  else
    summary+=("    scripts/test-real.sh ended (exit $real_rc) without its summary; its log's last lines:")
    while IFS= read -r line; do summary+=("      ${line:0:200}"); done < <(tail -n 5 "$logs/real.log")
  fi
else
  summary+=("NOT RUN real tier: no ../shared/real-dokploy recipe and no DOKPLOY_URL/DOKPLOY_API_KEY")
  # CI (.ci/run) must not pass without it; on a newcomer's machine the line above says it clearly.
  if [ "${DOKPLOY_PULUMI_REQUIRE_REAL:-0}" = 1 ]; then failed=1; fi
fi

if wait "$matrix_pid"; then matrix_result="ok     "; else matrix_result="FAILED "; failed=1; fi
sweep "$matrix_pid"
matrix_pid=""
echo
echo "=== $matrix_label (ended; its log follows)"
cat "$logs/matrix.log"
summary+=("$(printf '%-58s %5d s' "$matrix_result $matrix_label" "$(took "$logs/matrix.log" "$matrix_epoch")") (beside the tiers above)")
failures "$logs/matrix.log"

echo
echo "=== summary ($((SECONDS - started)) s in all)"
printf '%s\n' "${summary[@]}"
exit "$failed"
