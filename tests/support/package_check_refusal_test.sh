#!/usr/bin/env bash
# scripts/package-check on a machine where vtrace is already installed: it must refuse (exit 1,
# saying why) without running apt-get, dpkg-statoverride, cpack or anything else that changes
# the system. Stubs on PATH stand for an installed vtrace and record every other call.
# usage: package_check_refusal_test.sh SCRIPTS/package-check
set -uo pipefail
check=$1
stubs=$(mktemp -d)
trap 'rm -rf "$stubs"' EXIT
calls=$stubs/calls
: >"$calls"
for tool in apt-get apt dpkg-statoverride cpack lintian runuser rm; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 0\n' "$tool" "$calls" >"$stubs/$tool"
done
# dpkg -s vtrace: installed; any other dpkg call is recorded too.
printf '#!/bin/sh\nif [ "$1 $2" = "-s vtrace" ]; then echo "Status: install ok installed"; exit 0; fi\necho "dpkg $*" >>"%s"\n' \
  "$calls" >"$stubs/dpkg"
printf '#!/bin/sh\necho 0\n' >"$stubs/id"     # as root
chmod +x "$stubs"/*
output=$(PATH="$stubs:$PATH" VTRACE_PACKAGE_TEST=1 VTRACE_BUILD_DIR=/nonexistent "$check" 2>&1)
rc=$?
failures=0
[ "$rc" -eq 1 ] || { echo "FAIL: exit $rc, expected 1"; failures=1; }
grep -q "already installed" <<<"$output" || { echo "FAIL: no reason given: $output"; failures=1; }
if [ -s "$calls" ]; then echo "FAIL: it touched the system:"; cat "$calls"; failures=1; fi
[ "$failures" -eq 0 ] && echo "package-check refuses an installed vtrace untouched: PASS"
exit "$failures"
