// The house keeps its shape: no circle of TypeScript files, and every
// import goes down the floors of docs/ARCHITECTURE.md (a room may use the
// rooms below it, never one above). Read from the sources as text, so a
// new import that breaks the layering fails here, not in a review.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('structure');
const src = join(root, 'src');

// Bottom floor first; a room is a path prefix under src/ (the longest match wins).
const FLOORS: string[][] = [
  ['runtime/errors/'],
  ['runtime/package-root.ts', 'runtime/package-files.ts', 'runtime/config/'],
  ['runtime/wlm/'],
  ['runtime/core/ffi/'],
  ['runtime/core/identity.ts', 'runtime/core/runtime-env.ts', 'runtime/core/descriptor.ts', 'runtime/core/timeout.ts', 'runtime/core/module-url.ts', 'runtime/core/exit-cleanup.ts', 'runtime/core/no-inspector.ts'],
  ['runtime/core/rundir/'],
  ['runtime/core/codec/'],
  ['runtime/core/memory/'],
  ['runtime/core/wait/'],
  ['runtime/core/channel/'],
  ['runtime/core/sync/'],
  ['runtime/remote/'],
  ['runtime/api/'],
  ['runtime/cleanup/', 'runtime/control/', 'runtime/proc/'],
  ['runtime/mp/'],
  ['runtime/launch/'],
  ['runtime/backend/'],
  ['runtime/cli/'],
  ['index.ts', 'commands/'],
];
// Imports that go up on purpose, each loaded lazily: the CLI loads its
// command on demand, and a target process loads the package entry (every
// object class) only when its arguments carry Dragon objects.
const LAZY_UP = new Set(['runtime/cli/main.ts -> commands/dragon.ts', 'runtime/proc/target.ts -> index.ts']);

function floorOf(file: string): { room: string; floor: number } {
  let best = { room: '', floor: -1 };
  FLOORS.forEach((rooms, floor) => {
    for (const room of rooms) if (file.startsWith(room) && room.length > best.room.length) best = { room, floor };
  });
  return best;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

// file (relative to src/) -> the files of src/ it imports
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const path of sources(src)) {
    const text = readFileSync(path, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      const target = relative(src, resolve(dirname(path), spec.replace(/\.js$/, '.ts')));
      if (!target.startsWith('..')) deps.push(target);
    }
    g.set(relative(src, path), deps);
  }
  return g;
}

const g = graph();

test('every source file lives in a room of docs/ARCHITECTURE.md', () => {
  assert.equal([...g.keys()].filter((f) => floorOf(f).floor < 0), []);
});

test('no import runs up a floor', () => {
  const up: string[] = [];
  for (const [file, deps] of g) {
    const from = floorOf(file);
    for (const dep of deps) {
      const to = floorOf(dep);
      if (to.floor > from.floor && !LAZY_UP.has(`${file} -> ${dep}`)) up.push(`${file} (${from.room}) -> ${dep} (${to.room})`);
    }
  }
  assert.equal(up, []);
});

test('no circle of files', () => {
  // Tarjan's strongly connected components
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || (g.get(v) ?? []).includes(v)) circles.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  assert.equal(circles, []);
});

test('the graph was read (imports are found)', () => {
  assert.ok((g.get('index.ts') ?? []).length > 20);
  assert.ok((g.get('runtime/remote/gateway.ts') ?? []).includes('runtime/core/channel/channel.ts'));
});

test.run();
