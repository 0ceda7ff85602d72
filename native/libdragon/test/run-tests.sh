#!/bin/sh
# Runs each C test program; exit codes: 0 pass, 77 skip, anything else fail.
# Prints one line per test and a closing "N passed, N failed, N skipped".
pass=0; fail=0; skip=0
for t in "$@"; do
  name=$(basename "$t")
  start=$(date +%s%N)
  "$t" >"$t.log" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  case $rc in
    0) pass=$((pass+1)); echo "ok   $name (${ms} ms)";;
    77) skip=$((skip+1)); echo "SKIP $name: $(tail -n 1 "$t.log")";;
    *) fail=$((fail+1)); echo "FAIL $name (exit $rc)"; sed 's/^/     /' "$t.log" | tail -n 30;;
  esac
done
echo "c: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
