#!/usr/bin/env bash
# failed-tests.sh LOG: the tests that failed or errored in LOG (the output of one pytest run or of
# several), as pytest's short test summary names them (-rfE, pytest's default), at most 10 then how
# many more, each indented and cut at 200 characters. scripts/test.sh and scripts/test-real.sh put
# them under a tier's line in the summary at the end of a run: CI shows only the end of a run's
# output, and a tier's own report is far above it.
#
# Only the lines of the short-summary sections: a failed test's report shows its captured output
# too, and any line of it that began "FAILED " (tests/unit/test_real_orchestration.py prints such
# lines) was listed as a failed test.
set -euo pipefail
# ${line:0:200} in characters, not bytes: on CI pytest shows a failure's whole message, and a cut
# through a multi-byte character left an invalid UTF-8 sequence in the summary.
export LC_ALL=C.UTF-8
[ -f "$1" ] || exit 0
mapfile -t ids < <(awk '
  /^=+ short test summary info =+$/ { on = 1; next }
  on && /^[=!]/ { on = 0 }
  on && /^(FAILED|ERROR) / && !seen[$0]++ { print }
' "$1")
for line in "${ids[@]:0:10}"; do printf '    %s\n' "${line:0:200}"; done
[ "${#ids[@]}" -le 10 ] || printf '    ... and %d more (see the report above)\n' $((${#ids[@]} - 10))
