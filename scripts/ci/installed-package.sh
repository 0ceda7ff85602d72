#!/usr/bin/env bash
# The package as a user gets it (.ci/run): `npm pack`, a fresh empty project
# in a temp dir, `npm install` of the tarball there (its install script
# builds libdragon, the exec shim and, where libfabric is, the transport
# agent), then the checks of scripts/ci/installed-package/ through that
# project's own `npx dragon` and `dragonhpc/launch`. Any problem fails the
# step with a line saying what; the temp dir goes however it ends.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd -P)
checks=$repo/scripts/ci/installed-package
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dragon-installed-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { printf 'installed-package: FAILED: %s\n' "$*" >&2; exit 1; }
say() { printf 'installed-package: %s\n' "$*"; }

pkg-config --exists libfabric || fail 'libfabric not found by pkg-config: install libfabric-dev and pkg-config (the transport agent must be checked)'

# npm pack runs `prepare` (a fresh build of dist/) first
tarball=$(cd "$repo" && npm pack --silent --pack-destination "$tmp" | tail -n 1)
[[ -f $tmp/$tarball ]] || fail "npm pack made no tarball in $tmp"
say "packed $tarball ($(du -k "$tmp/$tarball" | cut -f1) KiB)"

project=$tmp/project
mkdir "$project"
cp "$checks"/*.mjs "$project/"
# allowScripts as README tells users (npm approve-scripts dragonhpc; a tarball
# is approved by its path). koffi's and esbuild's (tsx's) install scripts are
# not needed: their binaries come as optional dependencies. With npm's
# --strict-allow-scripts any other unreviewed install script fails the install.
cat >"$project/package.json" <<EOF
{
  "name": "dragonhpc-installed-package-check",
  "private": true,
  "type": "module",
  "allowScripts": { "file:$tmp/$tarball": true, "koffi": false, "esbuild": false }
}
EOF
strict=()
[[ $(npm config get strict-allow-scripts) == false ]] && strict=(--strict-allow-scripts)
(cd "$project" && npm install --no-audit --no-fund "${strict[@]}" "$tmp/$tarball") || fail "npm install of $tarball in a fresh project failed"

installed=$project/node_modules/dragonhpc
for built in native/libdragon/build/libdragon.so native/exec-shim/build/dragon-exec native/libdragon/build/dragon-transport; do
  [[ -f $installed/$built ]] || fail "$built was not built in the installed package: its install script did not run, or failed"
done
say 'the install script built libdragon.so, dragon-exec and dragon-transport'

out=$(cd "$project" && npx --no-install dragon queue-to-process.mjs) || fail "npx dragon queue-to-process.mjs failed: $out"
[[ $out == *'queue-to-process: ok'* ]] || fail "npx dragon queue-to-process.mjs said: $out"
say "npx dragon: $out"
out=$(cd "$project" && node run-dragon.mjs) || fail "runDragon from dragonhpc/launch failed: $out"
[[ $out == *'queue-to-process: ok'* ]] || fail "runDragon from dragonhpc/launch said: $out"
say "dragonhpc/launch: $out"
