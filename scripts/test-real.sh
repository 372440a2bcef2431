#!/usr/bin/env bash
# The real tier: the conformance suite, every provider test that needs no emulator hook and the e2e
# real subset (tests/e2e/test_real_subset.py, tests/e2e/test_real_duplicates.py), against a real Dokploy.
# Extra arguments go to pytest.
#
#   DOKPLOY_URL=https://dokploy.example.com DOKPLOY_API_KEY=... bash scripts/test-real.sh
#       once, against that server (your own staging Dokploy, say). Everything the tests create is
#       named with a per-run prefix (dpt-<hex>-, dpc-<hex>-) and removed afterwards, also when a
#       test fails; nothing else on the server is touched. Use a key of an owner or admin.
#   bash scripts/test-real.sh
#       for each version in REAL_DOKPLOY_VERSIONS (default: v0.30.2 v0.26.7): brings a real Dokploy
#       of that version up on 127.0.0.1 with the recipe in ../shared/real-dokploy (beside this
#       repository; REAL_DOKPLOY_RECIPE overrides the folder), installing redis-server with apt
#       when a release that needs it (v0.25-v0.27) finds none, then runs the tier against it.
#
#   bash scripts/test-real.sh --prepare
#       only brings those servers up (scripts/test.sh starts this early, in the background, so the
#       build overlaps the other tiers); a later run finds them up in seconds.
#
# A server that cannot be brought up is a failure (exit 1, with the reason), never a skip. Ends
# with one summary line per server: passed / failed / skipped, and the time taken.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

recipe="${REAL_DOKPLOY_RECIPE:-$root/../shared/real-dokploy}"
versions="${REAL_DOKPLOY_VERSIONS:-v0.30.2 v0.26.7}"
suites=(tests/conformance tests/provider tests/e2e/test_real_subset.py tests/e2e/test_real_duplicates.py)

log() { echo "test-real: $*" >&2; }
die() {
  log "error: $*"
  exit 1
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
logs="$(mktemp -d "${TMPDIR:-/tmp}/test-real.XXXXXX")"
trap 'rm -rf "$logs"' EXIT

# counts LOGFILE: "N passed, N failed, N skipped" (errors counted as failed) from pytest's last line.
counts() {
  local line passed failed skipped errors
  line="$(grep -E '(passed|failed|skipped|errors?|no tests ran).* in [0-9.]+s' "$1" | tail -n 1 || true)"
  num() { echo "$line" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0; }
  passed="$(num passed)"
  failed="$(num failed)"
  skipped="$(num skipped)"
  errors="$(num 'errors?')"
  echo "$passed passed, $((failed + errors)) failed, $skipped skipped"
}

# run_tier LABEL URL KEY [pytest args...]
run_tier() {
  local label="$1" url="$2" key="$3"
  shift 3
  local out start rc
  out="$logs/run-${#summaries[@]}.log"
  start="$(date +%s)"
  log "running ${suites[*]} against $label"
  set +e
  DOKPLOY_URL="$url" DOKPLOY_API_KEY="$key" .venv/bin/python -m pytest "${suites[@]}" -rs "$@" 2>&1 | tee "$out"
  rc="${PIPESTATUS[0]}"
  set -e
  local line
  line="real tier against $label: $(counts "$out") in $(($(date +%s) - start)) s (pytest exit $rc)"
  if [ "$rc" != 0 ]; then
    failed=1
    line="$line  FAILED"
  fi
  summaries+=("$line")
}

# Dokploy v0.25.x-v0.27.x start a BullMQ worker at boot: they need Redis (see the recipe's README).
needs_redis() {
  case "$1" in
    v0.25.* | v0.26.* | v0.27.*) return 0 ;;
    *) return 1 ;;
  esac
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

if [ -n "${DOKPLOY_URL:-}" ] && [ -n "${DOKPLOY_API_KEY:-}" ]; then
  [ "$prepare" = 0 ] || exit 0  # the user's own server: nothing to bring up
  # Never print credentials: only scheme, host and port.
  shown="$(.venv/bin/python -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(f"{p.scheme}://{p.hostname}" + (f":{p.port}" if p.port else ""))' "$DOKPLOY_URL")"
  run_tier "$shown" "$DOKPLOY_URL" "$DOKPLOY_API_KEY" "$@"
else
  [ -z "${DOKPLOY_URL:-}${DOKPLOY_API_KEY:-}" ] || die "set both DOKPLOY_URL and DOKPLOY_API_KEY (or neither, to use the recipe's servers)"
  [ -f "$recipe/start.sh" ] || die "no Dokploy recipe at $recipe (set REAL_DOKPLOY_RECIPE, or DOKPLOY_URL and DOKPLOY_API_KEY)"
  for version in $versions; do
    if needs_redis "$version"; then
      ensure_redis "$version"
    fi
    log "bringing up Dokploy $version (bash $recipe/start.sh $version)"
    up_start="$(date +%s)"
    env_file="$(bash "$recipe/start.sh" "$version" | tail -n 1)" || die "Dokploy $version could not be brought up (see the output above)"
    [ -f "$env_file" ] || die "Dokploy $version: start.sh printed no env file ($env_file)"
    log "Dokploy $version up in $(($(date +%s) - up_start)) s"
    # shellcheck disable=SC1090
    REAL_DOKPLOY_URL="" REAL_DOKPLOY_API_KEY=""
    source "$env_file"
    [ -n "$REAL_DOKPLOY_URL" ] && [ -n "$REAL_DOKPLOY_API_KEY" ] || die "Dokploy $version: $env_file sets no URL or key"
    if [ "$prepare" = 1 ]; then
      summaries+=("Dokploy $version is up at $REAL_DOKPLOY_URL")
      continue
    fi
    run_tier "Dokploy $version ($REAL_DOKPLOY_URL)" "$REAL_DOKPLOY_URL" "$REAL_DOKPLOY_API_KEY" "$@"
  done
fi

echo
for line in "${summaries[@]}"; do
  echo "$line"
done
exit "$failed"
