#!/usr/bin/env bash
# The unit and provider tiers on the corners of what pyproject.toml supports, besides the pinned set
# that scripts/test.sh runs: the oldest Python (3.10) with the oldest Pulumi SDK allowed (3.216.0),
# and the newest Python here (3.13) with the newest SDK served (3.272.0). Each cell is a venv in
# .venv-matrix/<cell> with constraints.txt, where scripts/matrix/<cell>.txt replaces some pins.
#
#   bash scripts/test-matrix.sh [CELL ...]      # default: every scripts/matrix/*.txt
#
# Interpreters: python3.10 / python3.13 on PATH, else pyenv's. A missing one is an error.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cells=("$@")
if [ ${#cells[@]} -eq 0 ]; then
  for f in scripts/matrix/*.txt; do cells+=("$(basename "$f" .txt)"); done
fi

find_python() {  # find_python 3.10: an interpreter of that version that really runs
  local v=$1 candidate
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python "$(command -v "python$v" 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
      [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$v" ]; then
      echo "$candidate"
      return 0
    fi
  done
  echo "test-matrix: no working Python $v (install it, e.g. with pyenv)" >&2
  return 1
}

# The venvs one after another (pip's editable install writes dokploy_pulumi.egg-info into this
# checkout: two at once would race on it), then the cells' tests at the same time: each is one
# pytest process, so one cell alone would leave a core idle when nothing else runs.
# pytest-xdist: tests/unit/test_real_orchestration.py runs the real tier's pytest (with this
# interpreter) on xdist workers, as scripts/test-real.sh does.
packages=(-e '.[pytest]' pytest-timeout hypothesis pytest-xdist)
venvs=()
for cell in "${cells[@]}"; do
  overlay="scripts/matrix/$cell.txt"
  [ -f "$overlay" ] || { echo "test-matrix: no $overlay" >&2; exit 2; }
  version="${cell#py}"; version="${version%%-*}"
  python="$(find_python "$version")"
  venv=".venv-matrix/$cell"
  constraints="$venv.constraints.txt"
  mkdir -p .venv-matrix
  # constraints.txt with the overlay's names replaced by the overlay's pins.
  names="$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' "$overlay" | tr '\n' '|' | sed 's/|$//')"
  { grep -v -i -E "^($names)==" constraints.txt; grep -E '^[A-Za-z0-9_.-]+==' "$overlay"; } > "$constraints"
  # What is installed is part of the stamp: a package added to the list above reaches existing venvs.
  want="$({ cat pyproject.toml "$constraints"; echo "${packages[*]}"; } | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$constraints" "${packages[@]}"
    echo "$want" > "$venv/.installed"
  fi
  venvs+=("$venv")
done

run_cell() {  # run_cell CELL VENV: that cell's tests, its output on stdout
  echo "== matrix cell $1: $("$2/bin/python" -c 'import sys, importlib.metadata as m; print("Python", sys.version.split()[0], "with pulumi SDK", m.version("pulumi"))')"
  # The property tests at a quarter of their examples (PROP_EXAMPLES): the pinned tier runs them in
  # full; a cell looks for what breaks on another Python or SDK version.
  PROP_EXAMPLES="${PROP_EXAMPLES:-50}" "$2/bin/python" -m pytest -q -p no:cacheprovider --durations=15 tests/unit tests/provider
}

out="$(mktemp -d "${TMPDIR:-/tmp}/test-matrix.XXXXXX")"
trap 'rm -rf "$out"' EXIT
pids=()
for i in "${!cells[@]}"; do
  run_cell "${cells[$i]}" "${venvs[$i]}" > "$out/$i.log" 2>&1 &
  pids+=("$!")
done
status=0
for i in "${!cells[@]}"; do  # each cell's output whole, in order
  wait "${pids[$i]}" || status=1
  cat "$out/$i.log"
done
exit $status
