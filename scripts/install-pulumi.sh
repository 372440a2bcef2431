#!/usr/bin/env bash
# Provides the real Pulumi CLI (the engine) and Pulumi's own Python language host for the e2e
# tests and the demo, idempotently.
#
#   bash scripts/install-pulumi.sh      # last stdout line: the directory to put first on PATH
#
# The CLI:
# - A `pulumi` already on PATH at >= the pinned version is used as is.
# - Otherwise it is built from Go modules (tools module in scripts/pulumi-tools) into
#   <repo>/.tools/bin, skipped when .tools/bin/pulumi already reports the pinned version.
#
# The Python language host (upstream's `pulumi-language-python` binary with its two scripts,
# `pulumi-language-python-exec` beside it and the dynamic-provider plugin
# `pulumi-resource-pulumi-python`), first that works:
# 1. the one that comes with the `pulumi` on PATH (next to it or on PATH): used as is;
# 2. `go install` of the upstream module at the pinned version, where the Go module proxy serves
#    it (here it answers 403 at once: under a second). Upstream's go.mod has replace directives,
#    which `go install pkg@version` refuses; the same module is then built as a dependency of a
#    throwaway module. The two scripts come from the sdk/v3 module of the same version;
# 3. a build of the upstream source in ../shared/pulumi-language-python (beside this
#    repository; PULUMI_LANGUAGE_PYTHON_SRC overrides the folder), with its two scripts;
# 4. otherwise a clear error.
# Steps 2 and 3 install into <repo>/.tools/bin and record what they built in
# .tools/bin/.pulumi-language-python.stamp, so a re-run does nothing.
#
# Go's default module and build caches are reused, so a rebuild is fast. Builds hold a lock
# (.tools/.install.lock): parallel runs wait for one build instead of racing.
set -euo pipefail

# Same version as the pinned Python SDK (pulumi==3.260.0).
PULUMI_VERSION="3.260.0"
LANGHOST_MODULE="github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"
# The Go module whose zip carries upstream's two Python scripts (python/cmd, python/dist).
SDK_MODULE="github.com/pulumi/pulumi/sdk/v3"
PKG_MODULE="github.com/pulumi/pulumi/pkg/v3"
# pkg/v3's own go.mod replaces this module; replace directives of dependencies do not apply.
CLIPBOARD_REPLACE="github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"
VERSION_LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
TOOLS_DIR="$REPO_ROOT/.tools"
BIN_DIR="$TOOLS_DIR/bin"
TOOLS_MODULE="$SCRIPT_DIR/pulumi-tools"
LANGHOST_SRC="${PULUMI_LANGUAGE_PYTHON_SRC:-$REPO_ROOT/../shared/pulumi-language-python}"
LANGHOST_SRC="$(cd "$LANGHOST_SRC" 2>/dev/null && pwd || echo "$LANGHOST_SRC")"
STAMP="$BIN_DIR/.pulumi-language-python.stamp"
HOST_FILES=(pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python)

log() { echo "install-pulumi: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# True when version $1 >= version $2 (both like 3.260.0).
version_ge() {
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# Prints the version a pulumi binary reports, without the leading "v"; empty if it fails.
cli_version() {
    "$1" version 2>/dev/null | head -n1 | sed -e 's/^v//' || true
}

# The first NAME on PATH that is not in BIN_DIR (our own files there do not count).
find_on_path() {
    local candidate bin_real
    bin_real="$(cd "$BIN_DIR" 2>/dev/null && pwd -P || echo /nonexistent)"
    while IFS= read -r candidate; do
        if [ "$(cd "$(dirname "$candidate")" && pwd -P)" != "$bin_real" ]; then
            echo "$candidate"
            return 0
        fi
    done < <(type -ap "$1" || true)
}

GO_BIN=""
find_go() {
    [ -n "$GO_BIN" ] && return 0
    GO_BIN="$(command -v go || true)"
    if [ -z "$GO_BIN" ] && [ -x /usr/local/go/bin/go ]; then
        GO_BIN=/usr/local/go/bin/go
    fi
    [ -n "$GO_BIN" ]
}

# Runs go with the settings every build here uses: the local toolchain (never download one) and
# no VCS stamping (our tools module sits inside this git repository).
run_go() {
    GOTOOLCHAIN=local GOFLAGS="-buildvcs=false ${GOFLAGS:-}" "$GO_BIN" "$@"
}

# Takes one exclusive lock for the builds below (held until the script exits).
lock_taken=""
take_lock() {
    [ -n "$lock_taken" ] && return 0
    mkdir -p "$TOOLS_DIR"
    exec 9>"$TOOLS_DIR/.install.lock"
    if ! flock -n 9; then
        log "another install-pulumi.sh is building; waiting for it"
        flock 9
    fi
    lock_taken=1
}

# --- the CLI --------------------------------------------------------------------------------

cli_built() {
    [ -x "$BIN_DIR/pulumi" ] && [ ! -L "$BIN_DIR/pulumi" ] &&
        [ "$(cli_version "$BIN_DIR/pulumi")" = "$PULUMI_VERSION" ]
}

build_cli() {
    find_go || die "neither pulumi >= v$PULUMI_VERSION nor Go is on PATH; install one of them"
    log "building pulumi v$PULUMI_VERSION from Go modules into $BIN_DIR (cold caches: about 4-6 min on 2 cores)"
    mkdir -p "$BIN_DIR"
    local start=$SECONDS tmp="$BIN_DIR/.pulumi.tmp.$$"
    # -mod=readonly: go.mod/go.sum are committed and complete; fail rather than edit them.
    # The version is normally stamped in by Pulumi's release build; without it `pulumi version`
    # is empty. -s -w only drop debug info (smaller binary, faster link).
    if ! (cd "$TOOLS_MODULE" && run_go build -mod=readonly -ldflags "$VERSION_LDFLAGS" \
        -o "$tmp" "$PKG_MODULE/cmd/pulumi" >&2); then
        rm -f "$tmp"
        die "building the Pulumi CLI failed (see the Go output above)"
    fi
    local built_version
    built_version="$(cli_version "$tmp")"
    [ "$built_version" = "$PULUMI_VERSION" ] || {
        rm -f "$tmp"
        die "built pulumi reports '${built_version}', expected $PULUMI_VERSION"
    }
    # rename(2) replaces a symlink left by an earlier run (pulumi from PATH) without writing
    # through it.
    mv -f "$tmp" "$BIN_DIR/pulumi"
    log "built pulumi v$PULUMI_VERSION in $((SECONDS - start)) s"
}

# --- the Python language host ---------------------------------------------------------------

# A digest of the upstream source folder, so that a changed source is rebuilt.
source_digest() {
    (cd "$LANGHOST_SRC" && cat go.mod go.sum ./*.go pulumi-language-python-exec \
        pulumi-resource-pulumi-python) | sha256sum | cut -d' ' -f1
}

# What the stamp must say for the host in BIN_DIR to be current: "<version> <source>", where
# source is "module" for step 2, or "source:<digest>" for step 3 while that folder is there.
host_built() {
    local f stamp version source
    for f in "${HOST_FILES[@]}"; do
        [ -x "$BIN_DIR/$f" ] || return 1
    done
    [ -f "$STAMP" ] || return 1
    read -r version source <"$STAMP" || true
    [ "$version" = "$PULUMI_VERSION" ] || return 1
    case "$source" in
    module) return 0 ;;
    source:*)
        # The source folder may be gone (then the build is still good) or changed (rebuild).
        [ -f "$LANGHOST_SRC/main.go" ] || return 0
        [ "${source#source:}" = "$(source_digest)" ]
        ;;
    *) return 1 ;;
    esac
}

# Moves the three files from staging folder $1 into BIN_DIR, each with one rename, then writes
# the stamp ($2). A run in progress keeps the files it already started.
install_host_files() {
    local stage="$1" f
    for f in "${HOST_FILES[@]}"; do
        chmod 0755 "$stage/$f"
        mv -f "$stage/$f" "$BIN_DIR/$f"
    done
    echo "$PULUMI_VERSION $2" >"$STAMP.tmp"
    mv -f "$STAMP.tmp" "$STAMP"
}

# Step 2: the upstream module from the Go module proxy. Returns 1, quietly, when it is not served.
host_from_module() {
    local stage="$1" probe
    # A quick probe first, so that a proxy without the module costs one request. (With
    # GOPROXY=...,direct a 404 would fall back to cloning GitHub: bounded by the timeout.)
    if ! probe="$(timeout 60 env GOTOOLCHAIN=local GOFLAGS=-mod=mod "$GO_BIN" mod download -json \
        "$LANGHOST_MODULE@v$PULUMI_VERSION" 2>&1)"; then
        probe="$(printf '%s\n' "$probe" | grep -oE ': [0-9]{3} [A-Za-z]+( [A-Za-z]+)?' | head -n1 |
            sed -e 's/^: //' || true)"
        log "step 2: $LANGHOST_MODULE@v$PULUMI_VERSION is not served by the Go module proxy (${probe:-no answer}); skipping"
        return 1
    fi
    log "step 2: building $LANGHOST_MODULE@v$PULUMI_VERSION from the Go module proxy"
    local start=$SECONDS
    if ! GOBIN="$stage" run_go install -ldflags "$VERSION_LDFLAGS" \
        "$LANGHOST_MODULE@v$PULUMI_VERSION" >&2 2>"$stage/install.log"; then
        # Upstream's go.mod has replace directives (into the monorepo), which `go install
        # pkg@version` refuses. Build it as a dependency of a throwaway module instead, with
        # pkg/v3 and sdk/v3 at the pinned version (what the replace lines stood for).
        log "step 2: go install refused ($(grep -m1 -o 'replace directives\|exclude directives' "$stage/install.log" || echo "see below")); building through a throwaway module"
        local mod="$stage/mod"
        mkdir -p "$mod"
        if ! (cd "$mod" && run_go mod init dokploy-pulumi.invalid/langhost >/dev/null 2>&1 &&
            run_go mod edit -replace "$CLIPBOARD_REPLACE" &&
            run_go get "$LANGHOST_MODULE@v$PULUMI_VERSION" "$PKG_MODULE@v$PULUMI_VERSION" \
                "$SDK_MODULE@v$PULUMI_VERSION" >>"$stage/install.log" 2>&1 &&
            run_go build -ldflags "$VERSION_LDFLAGS" -o "$stage/pulumi-language-python" \
                "$LANGHOST_MODULE" >&2); then
            cat "$stage/install.log" >&2
            log "step 2: building the upstream module failed (see the Go output above)"
            return 1
        fi
    fi
    # The two scripts are not in the host's module but in sdk/v3's, at the same version.
    local sdk_dir
    sdk_dir="$(run_go mod download -json "$SDK_MODULE@v$PULUMI_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",*$/\1/p')"
    [ -f "$sdk_dir/python/cmd/pulumi-language-python-exec" ] &&
        [ -f "$sdk_dir/python/dist/pulumi-resource-pulumi-python" ] || {
        log "step 2: $SDK_MODULE@v$PULUMI_VERSION has no python/cmd/pulumi-language-python-exec"
        return 1
    }
    cp "$sdk_dir/python/cmd/pulumi-language-python-exec" "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$stage/"
    install_host_files "$stage" module
    log "step 2: built the upstream Python language host in $((SECONDS - start)) s"
}

# Step 3: upstream's source in ../shared/pulumi-language-python (go.mod/go.sum pinned there).
host_from_source() {
    local stage="$1"
    if [ ! -f "$LANGHOST_SRC/main.go" ]; then
        log "step 3: no upstream source at $LANGHOST_SRC (set PULUMI_LANGUAGE_PYTHON_SRC); skipping"
        return 1
    fi
    local digest start=$SECONDS
    digest="$(source_digest)"
    log "step 3: building the upstream Python language host from $LANGHOST_SRC (cold caches: about 3 min on 2 cores)"
    # -mod=readonly: the folder may be read-only and its go.mod/go.sum are complete.
    if ! (cd "$LANGHOST_SRC" && GOFLAGS=-mod=readonly run_go build -ldflags "$VERSION_LDFLAGS" \
        -o "$stage/pulumi-language-python" . >&2); then
        log "step 3: building $LANGHOST_SRC failed (see the Go output above)"
        return 1
    fi
    cp "$LANGHOST_SRC/pulumi-language-python-exec" "$LANGHOST_SRC/pulumi-resource-pulumi-python" "$stage/"
    install_host_files "$stage" "source:$digest"
    log "step 3: built the upstream Python language host in $((SECONDS - start)) s"
}

provide_host() {
    host_built && return 0
    take_lock
    host_built && return 0 # another run built it while we waited
    find_go || die "no Python language host: pulumi on PATH has none, and Go (to build upstream's) is not installed"
    mkdir -p "$BIN_DIR"
    local stage
    stage="$(mktemp -d "$BIN_DIR/.stage.XXXXXX")"
    # shellcheck disable=SC2064 # expand now: the folder to remove
    trap "rm -rf '$stage'" EXIT
    if host_from_module "$stage" || host_from_source "$stage"; then
        return 0
    fi
    die "no Python language host for pulumi v$PULUMI_VERSION. Tried: (1) a pulumi-language-python \
with the pulumi on PATH: none; (2) go install $LANGHOST_MODULE@v$PULUMI_VERSION: not served or failed; \
(3) a build from $LANGHOST_SRC: missing or failed (see above). Install the Pulumi CLI \
(https://www.pulumi.com/docs/install/), or put upstream's host source there or in PULUMI_LANGUAGE_PYTHON_SRC."
}

# --- main -----------------------------------------------------------------------------------

# 1. A recent enough pulumi on PATH (other than our own build) is used as is, with its own host.
existing="$(find_on_path pulumi)"
if [ -n "$existing" ]; then
    existing_version="$(cli_version "$existing")"
    if [ -n "$existing_version" ] && version_ge "$existing_version" "$PULUMI_VERSION"; then
        if [ -n "$(find_on_path pulumi-language-python)" ]; then
            log "using pulumi v$existing_version at $existing with its Python language host"
            dirname "$existing"
            exit 0
        fi
        log "using pulumi v$existing_version at $existing; it has no Python language host"
        provide_host
        # A symlink, so that the one folder printed below holds the CLI and its plugins.
        ln -sfn "$existing" "$BIN_DIR/pulumi"
        echo "$BIN_DIR"
        exit 0
    fi
    log "pulumi on PATH is v${existing_version:-unknown}, older than v$PULUMI_VERSION: building our own"
fi

# 2. Our own build of the CLI, skipped when it is already there at the pinned version.
if cli_built; then
    log "pulumi v$PULUMI_VERSION already built in $BIN_DIR"
else
    take_lock
    cli_built || build_cli
fi
provide_host
echo "$BIN_DIR"
