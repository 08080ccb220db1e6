#!/usr/bin/env bash
# Checks that binaries carry Debian's hardening (what lintian's hardening-* tags look for):
# PIE, full RELRO (GNU_RELRO + BIND_NOW), the stack protector and _FORTIFY_SOURCE's checked
# functions. usage: hardening_test.sh BINARY...
set -uo pipefail
failures=0
for bin in "$@"; do
  name=$(basename "$bin")
  headers=$(readelf -lW "$bin") dynamic=$(readelf -dW "$bin") symbols=$(readelf -sW --dyn-syms "$bin")
  grep -q 'DYN (Position-Independent Executable' <<<"$(readelf -hW "$bin")" ||
    { echo "FAIL: $name is not PIE"; failures=$((failures + 1)); }
  grep -q GNU_RELRO <<<"$headers" || { echo "FAIL: $name has no RELRO"; failures=$((failures + 1)); }
  grep -Eq 'BIND_NOW|FLAGS.*\bNOW\b' <<<"$dynamic" ||
    { echo "FAIL: $name is not linked with -z now"; failures=$((failures + 1)); }
  grep -q __stack_chk_fail <<<"$symbols" ||
    { echo "FAIL: $name has no stack protector"; failures=$((failures + 1)); }
  grep -Eq '__[a-z_]+_chk@' <<<"$symbols" ||
    { echo "FAIL: $name calls no fortified function (_FORTIFY_SOURCE)"; failures=$((failures + 1)); }
done
[ "$failures" -eq 0 ] && echo "hardening: PASS ($# binaries)"
exit $((failures > 0))
