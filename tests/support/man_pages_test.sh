#!/usr/bin/env bash
# Checks man pages made by help2man: usage: man_pages_test.sh VERSION PAGE.gz...
# Each page's NAME line is "<tool> - <a description>" (not the tool's name repeated) and its
# title line carries "<tool> VERSION", which help2man took from the tool's own --version.
set -uo pipefail
version=$1
shift
failures=0
for page in "$@"; do
  file=$(basename "$page")
  tool=${file%%.*}
  [ -s "$page" ] || { echo "FAIL: $page missing or empty"; failures=$((failures + 1)); continue; }
  text=$(zcat "$page" | sed 's/\\-/-/g')
  name_line=$(sed -n '/^\.SH NAME/{n;p;q}' <<<"$text")
  case "$name_line" in
    "$tool - $tool" | "$tool - ") echo "FAIL: $file: NAME line '$name_line' says nothing"; failures=$((failures + 1)) ;;
    "$tool - "[a-z]*) ;;
    *) echo "FAIL: $file: NAME line '$name_line'"; failures=$((failures + 1)) ;;
  esac
  th_line=$(grep -m1 '^\.TH ' <<<"$text")
  grep -qF "\"$tool $version\"" <<<"$th_line" ||
    { echo "FAIL: $file: title line '$th_line' lacks \"$tool $version\""; failures=$((failures + 1)); }
done
[ "$failures" -eq 0 ] && echo "man pages: PASS ($# pages, version $version)"
exit $((failures > 0))
