#!/usr/bin/env bash
# The real tier: the conformance suite, every provider test that needs no emulator hook and the e2e
# real tests (tests/e2e/test_real_*.py), against a real Dokploy. Extra arguments go to pytest.
#
#   DOKPLOY_URL=https://dokploy.example.com DOKPLOY_API_KEY=... bash scripts/test-real.sh
#       once, against that server (your own staging Dokploy, say). Everything the tests create is
#       named with a per-run prefix (dpt-<hex>-, dpc-<hex>-) and removed afterwards, also when a
#       test fails; nothing else on the server is touched. Use a key of an owner or admin.
#   bash scripts/test-real.sh
#       for each version in REAL_DOKPLOY_VERSIONS (default: v0.30.2 v0.26.7 v0.25.11): brings a real Dokploy
#       of that version up on 127.0.0.1 with the recipe in ../shared/real-dokploy (beside this
#       repository; REAL_DOKPLOY_RECIPE overrides the folder), installing redis-server with apt
#       when a release that needs it (before the release table's "no_redis") finds none, then runs
#       the tier against it.
#
#   bash scripts/test-real.sh --prepare
#       only brings those servers up (all at once); a later run finds them up in seconds.
#
# Each release's bring-up and tier run at once with the others' (REAL_DOKPLOY_SERIAL=1: one after
# another); scripts/test.sh starts this script in the background, beside its other tiers.
#
# A server that cannot be brought up is a failure (exit 1, with the reason), never a skip. Ends
# with one summary line per server: passed / failed / skipped, and the time taken (also written to
# the file REAL_TIER_SUMMARY names, if set: scripts/test.sh repeats it at the end of its run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

recipe="${REAL_DOKPLOY_RECIPE:-$root/../shared/real-dokploy}"
lock_dir="${REAL_DOKPLOY_LOCK_DIR:-/var/tmp/real-dokploy-locks}"  # see up_and_test
versions="${REAL_DOKPLOY_VERSIONS:-v0.30.2 v0.26.7 v0.25.11}"
# The e2e files first: the longest files start first, so that none is left running alone at the end.
suites=(tests/e2e/test_real_*.py tests/conformance tests/provider)
# Two pytest workers per server (REAL_TIER_WORKERS; 0: one process), each taking a whole file at a
# time: a tier is mostly waiting (on the dev server, on the clock, on the Pulumi CLI), so a second
# worker overlaps those waits: alone on a warm v0.30.2 the tier took 1018 s against about 1700 s in
# one process, and in a cold CI run each tier took 20-25% less. Each worker has a run prefix of its own, and every test reads only its own names, as on a
# server others use.
workers="${REAL_TIER_WORKERS:-2}"
# Checked here, not by pytest's `-n`: that failed each tier (pytest exit 4) only once its server was
# up, after a cold build's many minutes.
if ! [[ "$workers" =~ ^[0-9]+$ ]]; then
  echo "test-real: error: REAL_TIER_WORKERS is a number of pytest workers per server (0: one process), not '$workers'" >&2
  exit 1
fi
tier_args=()
[ "$workers" = 0 ] || tier_args=(-n "$workers" --dist loadfile)
# pytest-timeout's hang guard per test: 300 s (pyproject.toml) on the emulator; here 900 s. In a cold
# CI run a dev-mode server answers in seconds per request (three servers and the emulator tiers on 2
# cores), and a provider test that takes 100 s alone (200 resources) can take three times as long.
# Files that set their own (the e2e files) keep it; arguments given to this script come after it.
tier_args+=(--timeout=900)

log() { echo "test-real: $*" >&2; }
die() {
  log "error: $*"
  if [ "${#tier_pids[@]}" -gt 0 ]; then  # tiers already running against other servers: their results too
    finish_tiers
    printf '%s\n' "${summaries[@]}"
  fi
  summary_file "test-real: error: $*" "${summaries[@]}"
  exit 1
}
# summary_file LINE...: the run's closing summary, also in $REAL_TIER_SUMMARY when it is set.
# scripts/test.sh repeats it at the end of a run; it took the last block of this script's log for
# it, which was a tier's output (hundreds of lines) when this script was killed before its summary.
summary_file() {
  [ -z "${REAL_TIER_SUMMARY:-}" ] || printf '%s\n' "$@" > "$REAL_TIER_SUMMARY"
}

prepare=0
if [ "${1:-}" = "--prepare" ]; then
  prepare=1
  shift
fi
if [ "$prepare" = 0 ]; then
  bash scripts/setup.sh
  pulumi_dir="$(bash scripts/install-pulumi.sh | tail -n 1)"
  export PATH="$pulumi_dir:$PATH"
fi

summaries=()
failed=0
tiers=0
tier_pids=()
logs="$(mktemp -d "${TMPDIR:-/tmp}/test-real.XXXXXX")"
trap 'rm -rf "$logs"' EXIT

# stopped SIGNAL STATUS: this run was stopped (scripts/test.sh's REAL_DEADLINE `timeout -s INT`,
# which signals this script's whole process group; Ctrl-C). Without this it ended without a word on
# which server was still being brought up or tested, and the summaries of the tiers that had ended
# were lost with $logs. The tiers got the same signal: on SIGINT a tier's pytest ends its tests,
# runs their finalizers (removing what they made on the server) and reports what ran, and its tier
# writes its summary; that is waited for, at most 30 s (test.sh's `timeout` kills everything 60 s
# after the signal: the summary must be out by then).
stopped() {
  trap - INT TERM HUP
  local pid i
  log "stopped by SIG$1"
  for ((i = 0; i < 30; i++)); do
    for pid in "${tier_pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then sleep 1 && continue 2; fi
    done
    break
  done
  # Every job that began has a state file ($tiers lags by one in REAL_DOKPLOY_SERIAL=1 runs).
  local lines=()
  for ((i = 0; ; i++)); do
    if [ -f "$logs/summary-$i" ]; then
      mapfile -t -O "${#lines[@]}" lines < "$logs/summary-$i"
    elif [ -f "$logs/state-$i" ]; then
      lines+=("$(cat "$logs/state-$i") when stopped by SIG$1  FAILED")
    else
      break
    fi
  done
  echo
  [ "${#lines[@]}" = 0 ] || printf '%s\n' "${lines[@]}"
  summary_file "test-real: stopped by SIG$1" "${lines[@]}"
  exit "$2"
}
trap 'stopped INT 130' INT
trap 'stopped TERM 143' TERM
trap 'stopped HUP 129' HUP

# counts LOGFILE: "N passed, N failed, N skipped, N deselected" (errors counted as failed) from
# pytest's last line.
counts() {
  local line passed failed skipped errors
  line="$(grep -E '(passed|failed|skipped|errors?|no tests ran).* in [0-9.]+s' "$1" | tail -n 1 || true)"
  num() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
  passed="$(num passed)"
  failed="$(num failed)"
  skipped="$(num skipped)"
  errors="$(num 'errors?')"
  echo "$passed passed, $((failed + errors)) failed, $skipped skipped, $(num deselected) deselected"
}

# outlive_int CMD...: CMD with SIGINT ignored. The tee and sed that carry a tier's output get the
# SIGINT that stops a run (the deadline's, Ctrl-C) too: they died at once, so pytest's report after
# it (what ran, its finalizers' errors) was lost, and pytest met a broken pipe while cleaning up.
# They end when pytest closes its output.
outlive_int() {
  trap '' INT
  "$@"
}

# run_tier N LABEL URL KEY [pytest args...]: the tier against one server, its output in
# $logs/run-N.log (and on stdout, each line prefixed with the server's label when tiers run at once);
# its summary line in $logs/summary-N and its pytest exit status in $logs/rc-N.
run_tier() {
  local n="$1" label="$2" url="$3" key="$4"
  shift 4
  local out start rc
  out="$logs/run-$n.log"
  start="$(date +%s)"
  echo "real tier against $label: still running" > "$logs/state-$n"
  log "running ${suites[*]} against $label"
  set +e
  if [ "$parallel" = 1 ]; then
    DOKPLOY_URL="$url" DOKPLOY_API_KEY="$key" .venv/bin/python -m pytest "${tier_args[@]}" "${suites[@]}" -rfEs "$@" 2>&1 |
      outlive_int tee "$out" | outlive_int sed -u "s|^|[${label%% (*}] |"
  else
    DOKPLOY_URL="$url" DOKPLOY_API_KEY="$key" .venv/bin/python -m pytest "${tier_args[@]}" "${suites[@]}" -rfEs "$@" 2>&1 |
      outlive_int tee "$out"
  fi
  rc="${PIPESTATUS[0]}"
  set -e
  local line counted
  counted="$(counts "$out")"
  # xdist's controller does not report what its workers deselected (the emulator-only tests): the
  # line said "0 deselected".
  [ "$workers" = 0 ] || counted="${counted%, * deselected}, deselected not counted (xdist)"
  line="real tier against $label: $counted in $(($(date +%s) - start)) s (pytest exit $rc)"
  [ "$rc" = 0 ] || line="$line  FAILED"
  echo "$line" > "$logs/summary-$n"
  # Which tests failed, under the line (at most 10): CI shows only the end of a run's output, where
  # this summary is repeated, and the tier's own report is far above it.
  bash scripts/failed-tests.sh "$out" >> "$logs/summary-$n"
  echo "$rc" > "$logs/rc-$n"
}

# The servers' tiers run at the same time (REAL_DOKPLOY_SERIAL=1: one after another). Most of a real
# tier's time is waiting: on the dev-mode server's answers, on the clock (lost-create tests wait for
# Dokploy's clock to pass a bound) and on the Pulumi CLI's processes, so three tiers at once take
# little longer than the slowest alone, on 2 cores too. A tier starts as soon as its server is up,
# while the next server is still being brought up. Each tier's objects carry its own run prefix,
# and each server is its own database: the tiers share nothing but the machine.
parallel=1
[ "${REAL_DOKPLOY_SERIAL:-0}" = 1 ] && parallel=0
# start_job FUNCTION ARGS...: FUNCTION N ARGS... as the next job (N its number), in the background
# unless serial.
start_job() {
  local fn="$1"
  shift
  if [ "$parallel" = 1 ]; then
    "$fn" "$tiers" "$@" &
    tier_pids+=("$!")
  else
    "$fn" "$tiers" "$@"
  fi
  tiers=$((tiers + 1))
}
finish_tiers() {
  local pid i
  for pid in "${tier_pids[@]}"; do wait "$pid" || true; done
  for ((i = 0; i < tiers; i++)); do
    if [ -f "$logs/summary-$i" ]; then
      summaries+=("$(cat "$logs/summary-$i")")
      [ "$(cat "$logs/rc-$i")" = 0 ] || failed=1
    else
      summaries+=("real tier $i: ended without a summary  FAILED")
      failed=1
    fi
  done
}

# Dokploy releases before the in-memory deployment queue start a BullMQ worker at boot: they need
# Redis (see the recipe's README). Which ones is the release table's "no_redis" difference.
# The answer is printed, not the exit status: any failure of python3 (none on PATH, a version the
# table cannot read) exited 1 as "needs no Redis", and the release was then brought up without it.
needs_redis() {
  local answer
  answer="$(PYTHONPATH="$root" python3 -c 'import sys; from dokploy_pulumi._releases import has; print("no" if has(sys.argv[1], "no_redis") else "yes")' "$1")" ||
    die "cannot tell whether Dokploy $1 needs Redis (python3 and dokploy_pulumi/_releases.py: see above)"
  [ "$answer" = yes ]
}

ensure_redis() {
  command -v redis-server >/dev/null && return 0
  log "redis-server is missing (Dokploy $1 needs Redis): apt-get install -y redis-server"
  command -v apt-get >/dev/null || die "no redis-server and no apt-get to install it; install Redis, then run again"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2; then
    DEBIAN_FRONTEND=noninteractive apt-get update >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server >&2 ||
      die "could not install redis-server, which Dokploy $1 needs"
  fi
  command -v redis-server >/dev/null || die "redis-server still missing after apt-get install"
}

# up_and_test N VERSION [pytest args...]: brings Dokploy VERSION up with the recipe, then (unless
# --prepare) runs the tier against it. Its result goes where run_tier puts it ($logs/summary-N,
# $logs/rc-N), also when the server cannot be brought up.
up_and_test() {
  local n="$1" version="$2" up_start env_file up_lock
  shift 2
  failed_up() {
    log "error: Dokploy $version: $1"
    echo "Dokploy $version: $1  FAILED" > "$logs/summary-$n"
    echo 1 > "$logs/rc-$n"
  }
  log "bringing up Dokploy $version (bash $recipe/start.sh $version)"
  echo "Dokploy $version: still being brought up" > "$logs/state-$n"
  up_start="$(date +%s)"
  # One bring-up per release at a time: `--prepare` in the background and the tier that follows
  # (or two runs) would otherwise both sign up the admin, and the recipe deletes a half-made
  # admin it finds (another run's, still signing up), so both fail. The lock is held until start.sh
  # ends: a second caller waits, then finds the server up in seconds. It is the machine's, not this
  # checkout's (it was in .test-logs): the servers are (one port and data folder per release), and
  # runs from two checkouts (CI's clone and a working copy) met there unlocked.
  mkdir -p "$lock_dir"
  exec {up_lock}>>"$lock_dir/real-$version.lock"
  if ! flock -n "$up_lock"; then
    log "Dokploy $version is being brought up by another run (a \`--prepare\` or another scripts/test-real.sh, maybe of another checkout); waiting for it, at most ${REAL_DOKPLOY_UP_WAIT:-3600} s"
    if ! flock -w "${REAL_DOKPLOY_UP_WAIT:-3600}" "$up_lock"; then
      failed_up "still being brought up by another run after ${REAL_DOKPLOY_UP_WAIT:-3600} s"
      return
    fi
  fi
  # The lock's descriptor is closed for start.sh: the servers it starts detached (Dokploy, Postgres,
  # Redis) would inherit it and hold the lock for as long as they run, and every later caller
  # (the tier after `--prepare`) would wait on it forever.
  if ! env_file="$(bash "$recipe/start.sh" "$version" {up_lock}>&- | tail -n 1)"; then
    exec {up_lock}>&-
    failed_up "could not be brought up (see the output above)"
    return
  fi
  exec {up_lock}>&-
  if [ ! -f "$env_file" ]; then
    failed_up "start.sh printed no env file ($env_file)"
    return
  fi
  log "Dokploy $version up in $(($(date +%s) - up_start)) s"
  local REAL_DOKPLOY_URL="" REAL_DOKPLOY_API_KEY=""
  # shellcheck disable=SC1090
  source "$env_file"
  if [ -z "$REAL_DOKPLOY_URL" ] || [ -z "$REAL_DOKPLOY_API_KEY" ]; then
    failed_up "$env_file sets no URL or key"
    return
  fi
  if [ "$prepare" = 1 ]; then
    echo "Dokploy $version is up at $REAL_DOKPLOY_URL" > "$logs/summary-$n"
    echo 0 > "$logs/rc-$n"
    return
  fi
  run_tier "$n" "Dokploy $version ($REAL_DOKPLOY_URL)" "$REAL_DOKPLOY_URL" "$REAL_DOKPLOY_API_KEY" "$@"
}

if [ -n "${DOKPLOY_URL:-}" ] && [ -n "${DOKPLOY_API_KEY:-}" ]; then
  [ "$prepare" = 0 ] || exit 0  # the user's own server: nothing to bring up
  # Never print credentials: only scheme, host and port.
  shown="$(.venv/bin/python -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(f"{p.scheme}://{p.hostname}" + (f":{p.port}" if p.port else ""))' "$DOKPLOY_URL")"
  start_job run_tier "$shown" "$DOKPLOY_URL" "$DOKPLOY_API_KEY" "$@"
  finish_tiers
else
  [ -z "${DOKPLOY_URL:-}${DOKPLOY_API_KEY:-}" ] || die "set both DOKPLOY_URL and DOKPLOY_API_KEY (or neither, to use the recipe's servers)"
  [ -f "$recipe/start.sh" ] || die "no Dokploy recipe at $recipe (set REAL_DOKPLOY_RECIPE, or DOKPLOY_URL and DOKPLOY_API_KEY)"
  # A blank REAL_DOKPLOY_VERSIONS (" ") tested nothing and passed.
  [ -n "${versions//[[:space:]]/}" ] || die "REAL_DOKPLOY_VERSIONS names no version"
  # Redis first, one release at a time (two apt-get runs at once would fight over dpkg's lock).
  for version in $versions; do
    if needs_redis "$version"; then
      ensure_redis "$version"
    fi
  done
  # Each release is brought up and tested on its own: a tier starts as soon as its own server is
  # up, whatever the others are doing (a cold v0.30.2 takes longest to build).
  for version in $versions; do
    start_job up_and_test "$version" "$@"
  done
  finish_tiers
fi

echo
printf '%s\n' "${summaries[@]}"
summary_file "${summaries[@]}"
exit "$failed"
