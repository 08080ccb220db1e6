#!/usr/bin/env bash
# The skip guard (tests/support/skip-guard): a test that exits 77 fails under CI=true naming its
# reason, stays a skip (77) with its reason recorded outside CI; a partial skip (a SKIP line,
# exit 0) fails under CI and is recorded outside; a plain pass or failure passes through.
set -uo pipefail
guard=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
expect() {  # expect WHAT WANT_RC GOT_RC
  if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; failures=$((failures + 1)); fi
}
expect_in() {  # expect_in WHAT TEXT FILE
  grep -qF -- "$2" "$3" || { echo "FAIL: $1: no '$2' in: $(cat "$3")"; failures=$((failures + 1)); }
}
skipping=(bash -c 'echo "SKIP: sigtool is not installed"; exit 77')
partial=(bash -c 'echo "[12:00:00] SKIP the Exim relay variant: no network"; echo done; exit 0')

CI=true "$guard" t1 "$work/skips" -- "${skipping[@]}" >"$work/out1"; expect "skip under CI" 1 $?
expect_in "skip under CI names the reason" "sigtool is not installed" "$work/out1"
[ ! -e "$work/skips/t1" ] || { echo "FAIL: a failed CI skip left a skip record"; failures=$((failures + 1)); }

env -u CI "$guard" t2 "$work/skips" -- "${skipping[@]}" >"$work/out2"; expect "skip outside CI" 77 $?
expect_in "skip outside CI records the reason" "t2 (skipped): SKIP: sigtool is not installed" "$work/skips/t2"

CI=true "$guard" t3 "$work/skips" -- "${partial[@]}" >"$work/out3"; expect "partial skip under CI" 1 $?
expect_in "partial skip under CI names the reason" "Exim relay variant" "$work/out3"
env -u CI "$guard" t4 "$work/skips" -- "${partial[@]}" >"$work/out4"; expect "partial skip outside CI" 0 $?
expect_in "partial skip outside CI is recorded" "t4 (partly skipped)" "$work/skips/t4"

CI=true "$guard" t5 "$work/skips" -- bash -c 'echo fine' >"$work/out5"; expect "pass" 0 $?
expect_in "output passes through" "fine" "$work/out5"
CI=true "$guard" t6 "$work/skips" -- bash -c 'exit 3' >/dev/null; expect "failure" 3 $?
CI=false "$guard" t2 "$work/skips" -- bash -c 'exit 0' >/dev/null; expect "CI=false is not CI" 0 $?
[ ! -e "$work/skips/t2" ] || { echo "FAIL: a stale skip record survived a passing run"; failures=$((failures + 1)); }
CI=false "$guard" t7 "$work/skips" -- "${skipping[@]}" >/dev/null; expect "CI=false skip" 77 $?

[ "$failures" -eq 0 ] && echo "skip guard: PASS"
exit $((failures > 0))
