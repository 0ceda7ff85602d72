// What `npm pack` puts in the tarball a user installs: every file the
// install script's `make` reads (asked of make itself, with libfabric
// assumed present so the transport agent's sources count too), and every
// file package.json points at (bin, main, types, exports). Cheap: a dry-run
// pack and make's database, no build, no install. The full install of the
// tarball in a fresh project is the CI step (scripts/ci/installed-package.sh).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('npm pack contents');

interface PackageJson {
  scripts: { install: string };
  bin: Record<string, string>;
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

let files: Set<string> | undefined;
function packed(): Set<string> {
  if (files) return files;
  // --ignore-scripts: no `prepare` (a tsc build) just to list the files
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const [entry] = JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>;
  return (files = new Set(entry!.files.map((f) => f.path)));
}

/** Directories the install script runs make in ("make -s -C native/libdragon && ..."). */
function makeDirs(): string[] {
  return [...pkg.scripts.install.matchAll(/\bmake\b[^&;|]*?-C\s+(\S+)/g)].map((m) => m[1]!);
}

/**
 * The files `make all` reads in `dir`: the leaves of its dependency graph,
 * from make's own database (`make -p`), plus the Makefile. HAVE_FABRIC=1:
 * the tarball must build the transport agent wherever libfabric is.
 */
function makeInputs(dir: string): string[] {
  const r = spawnSync('make', ['-p', '-n', '-B', '-C', join(root, dir), 'HAVE_FABRIC=1', 'all'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, `make -pn in ${dir}: ${r.stderr}`);
  const files = r.stdout.slice(r.stdout.indexOf('\n# Files'));
  const prereqs = new Map<string, string[]>();
  for (const line of files.split('\n')) {
    const m = /^([^\s#%.:][^:=]*):(?![:=])(.*)$/.exec(line);
    if (m) prereqs.set(m[1]!.trim(), m[2]!.split('|')[0]!.trim().split(/\s+/).filter(Boolean));
  }
  const phony = new Set((/^\.PHONY:(.*)$/m.exec(files)?.[1] ?? '').trim().split(/\s+/));
  assert.ok(prereqs.has('all'), `no rule for all in ${dir}/Makefile`);
  const leaves = new Set<string>(['Makefile']);
  const seen = new Set<string>();
  const walk = (t: string) => {
    if (seen.has(t)) return;
    seen.add(t);
    const deps = prereqs.get(t) ?? [];
    if (deps.length === 0 && !phony.has(t)) leaves.add(t);
    deps.forEach(walk);
  };
  walk('all');
  return [...leaves].map((f) => join(dir, f));
}

test('the install script builds in native/libdragon and native/exec-shim', () => {
  assert.equal(makeDirs(), ['native/libdragon', 'native/exec-shim']);
});

test('every file make reads at install, transport agent included, is in the tarball', () => {
  const files = packed();
  const needed = makeDirs().flatMap(makeInputs);
  assert.ok(needed.includes('native/libdragon/transport/main.c'), `the transport agent's sources count: ${needed.join(' ')}`);
  assert.ok(needed.includes('native/exec-shim/dragon-exec.c'));
  const missing = needed.filter((f) => !files.has(f));
  assert.equal(missing, [], `left out of the tarball (package.json "files"): ${missing.join(', ')}`);
});

test('every file package.json points at is in the tarball', () => {
  const files = packed();
  const targets = [
    ...Object.values(pkg.bin),
    pkg.main,
    pkg.types,
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
  ].map((p) => p.replace(/^\.\//, ''));
  const missing = targets.filter((f) => !files.has(f));
  assert.equal(missing, [], `not in the tarball: ${missing.join(', ')}`);
});

test.run();
