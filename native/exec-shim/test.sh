#!/bin/sh
# Checks of dragon-exec: it execs in its own process group with the death
# signal set, refuses a wrong parent, and reports a missing command as 127.
bin=$1
tmp=${TMPDIR:-/tmp}/dragon-exec-test.$$
fail=0
check() { if [ "$1" = "$2" ]; then echo "ok   $3"; else echo "FAIL $3 (got '$1', want '$2')"; fail=1; fi; }
# alive = exists and is not a zombie (an orphan zombie waits for init to reap it)
state() { s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); if [ -n "$s" ] && [ "$s" != Z ]; then echo alive; else echo dead; fi; }

"$bin" $$ sh -c 'echo $$ $(ps -o pgid= -p $$)' > "$tmp"
check "$(awk '{print ($1==$2) ? "own" : "shared"}' "$tmp")" own "runs in its own process group"

# The death signal survives exec: kill the parent, the child must die.
sh -c "\"$bin\" \$\$ sleep 30 & echo \$! > \"$tmp\"; sleep 0.2; kill -9 \$\$" 2>/dev/null
child=$(cat "$tmp")
sleep 0.3
check "$(state "$child")" dead "dies with its parent (SIGKILL)"
[ "$(state "$child")" = alive ] && kill -9 "$child"

"$bin" 1 true; check $? 125 "refuses when the parent is not the expected one"
"$bin" $$ /nonexistent/cmd 2>/dev/null; check $? 127 "missing command exits 127"
"$bin" 2>/dev/null; check $? 125 "usage error exits 125"
rm -f "$tmp"
exit $fail
