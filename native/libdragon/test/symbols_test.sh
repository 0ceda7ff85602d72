#!/bin/sh
# The exported API three ways, which must agree: the dragon_* functions
# declared in include/dragon/*.h, the names listed in libdragon.map, and the
# symbols build/libdragon.so defines. A wildcard in the map would let a new
# function join a released version unseen, so the map lists names only.
# Installed as build/test/symbols_test (so run-tests.sh counts it) and run
# from there: the library's directory is two levels up. CC preprocesses the
# headers (comments and macros gone).
set -u
dir=$(cd "$(dirname "$0")/../.." && pwd)
lib=$dir/build/libdragon.so
map=$dir/libdragon.map
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

for h in "$dir"/include/dragon/*.h; do echo "#include \"$h\""; done |
  ${CC:-cc} -E -P -D_GNU_SOURCE -I"$dir/include" -x c - >"$tmp/pre" || exit 1
# a declaration is a dragon_ name followed by "(" (types end in _t, macros
# are upper case and already expanded)
tr '\n' ' ' <"$tmp/pre" | grep -o 'dragon_[A-Za-z0-9_]*[[:space:]]*(' |
  sed 's/[[:space:]]*($//' | sort -u >"$tmp/declared"

# the names of the global: parts of every version node, comments dropped
sed 's|/\*.*\*/||g' "$map" | awk '
  /\/\*/ { skip = 1 } skip { if (/\*\//) skip = 0; next }
  { gsub(/#.*/, "") }
  { for (i = 1; i <= NF; i++) {
      if ($i == "global:") { g = 1; continue }
      if ($i == "local:" || $i ~ /^}/) { g = 0; continue }
      if (g) { n = $i; sub(/;$/, "", n); if (n != "") print n }
  } }' | sort >"$tmp/listed"

nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/defined" ||
  exit 1

bad=0
say() { echo "symbols: $*"; bad=1; }
for n in $(grep -v '^dragon_[a-z0-9_]*$' "$tmp/listed"); do
  say "libdragon.map lists '$n', not a function name: list each dragon_* function by name"
done
[ -s "$tmp/declared" ] || say "no dragon_* prototype found in $dir/include/dragon (check CC and the path)"
for n in $(uniq -d "$tmp/listed"); do
  say "libdragon.map lists $n twice: keep it under the version that first shipped it"
done
for n in $(comm -23 "$tmp/declared" "$tmp/listed"); do
  say "$n is declared in include/dragon/ but not in libdragon.map: add it under a new version node"
done
for n in $(comm -13 "$tmp/declared" "$tmp/listed" | grep '^dragon_[a-z0-9_]*$'); do
  say "$n is in libdragon.map but in no header of include/dragon/: declare it or drop it from the map"
done
for n in $(comm -23 "$tmp/listed" "$tmp/defined" | grep '^dragon_[a-z0-9_]*$'); do
  say "$n is in libdragon.map but build/libdragon.so does not define it: define it or drop it from the map"
done
for n in $(comm -13 "$tmp/listed" "$tmp/defined"); do
  say "build/libdragon.so exports $n, which libdragon.map does not list: list it or make it static"
done
[ "$bad" -eq 0 ] && echo "symbols: $(wc -l <"$tmp/listed") functions agree (headers, libdragon.map, libdragon.so)"
exit "$bad"
