// The koffi declarations of the binding (core/ffi/native.ts) against the
// prototypes of libdragon's public headers: same function, same number of
// parameters, each parameter passed the same way (a pointer as a pointer or
// uintptr_t, an integer with the same width and sign, the allocation
// reference by value), and every declared symbol exported by the library.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DECLARATIONS } from '../../src/runtime/core/ffi/native.js';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('ffi-prototypes');
const include = join(root, 'native/libdragon/include/dragon');

interface Proto {
  ret: string;
  params: string[];
}

function parse(decl: string): { name: string } & Proto {
  const m = /^(.+?)\s*\b(dragon_\w+)\s*\((.*)\)$/s.exec(decl.replace(/\s+/g, ' ').trim());
  if (!m) throw new Error(`cannot parse ${decl}`);
  const params = m[3]!.trim() === 'void' || m[3]!.trim() === '' ? [] : m[3]!.split(',').map((p) => p.trim().replace(/\b\w+$/, '').trim());
  return { name: m[2]!, ret: m[1]!.trim(), params };
}

function headerPrototypes(): Map<string, Proto> {
  const found = new Map<string, Proto>();
  for (const f of readdirSync(include).filter((n) => n.endsWith('.h'))) {
    const text = readFileSync(join(include, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const statement of text.split(/[;{}]/)) {
      const m = /^\s*(?:#.*\n\s*)*((?:const\s+)?\w+(?:\s*\*)*\s+\**\s*dragon_\w+\s*\([^)]*\))\s*$/.exec(statement);
      if (!m) continue;
      const p = parse(m[1]!);
      found.set(p.name, p);
    }
  }
  return found;
}

// How a C type crosses the FFI: 'ptr', 'alloc' (dragon_alloc_t by value), or an integer kind.
function cKind(t: string): string {
  if (t.includes('*')) return 'ptr';
  if (t === 'dragon_alloc_t') return 'alloc';
  if (t === 'dragonError_t' || t === 'dragonSyncKind_t' || t === 'int' || t === 'int32_t') return 'i32';
  if (t === 'uint32_t') return 'u32';
  if (t === 'uint64_t' || t === 'size_t' || t === 'uintptr_t') return 'u64';
  if (t === 'int64_t') return 'i64';
  return `unknown C type ${t}`;
}

function koffiKinds(t: string): string[] {
  if (t.includes('*')) return ['ptr'];
  if (t === 'uintptr_t') return ['ptr', 'u64']; // handles and raw addresses travel as numbers
  return [cKind(t)];
}

const headers = headerPrototypes();
const declared = Object.entries(DECLARATIONS as Record<string, string>).map(([key, decl]) => ({ key, ...parse(decl) }));

test('the headers were read (the parser finds the library)', () => {
  for (const n of ['dragon_pool_create', 'dragon_channel_send', 'dragon_sync_create', 'dragon_waiter_create', 'dragon_strerror']) assert.ok(headers.has(n), `${n} not found in include/dragon/`);
});

test('every koffi declaration matches its C prototype', () => {
  const wrong: string[] = [];
  for (const d of declared) {
    const c = headers.get(d.name);
    if (!c) {
      wrong.push(`${d.key}: ${d.name} is in no header of include/dragon/`);
      continue;
    }
    if (!koffiKinds(d.ret).includes(cKind(c.ret))) wrong.push(`${d.key}: returns ${d.ret}, C returns ${c.ret}`);
    if (d.params.length !== c.params.length) {
      wrong.push(`${d.key}: ${d.params.length} parameters, C has ${c.params.length}`);
      continue;
    }
    d.params.forEach((t, i) => {
      if (!koffiKinds(t).includes(cKind(c.params[i]!))) wrong.push(`${d.key}: parameter ${i + 1} is ${t}, C has ${c.params[i]}`);
    });
  }
  assert.equal(wrong, []);
});

test('every declared function is exported by libdragon.map', () => {
  const map = readFileSync(join(root, 'native/libdragon/libdragon.map'), 'utf8');
  const exported = (name: string) => new RegExp(`\\b${name}\\s*;`).test(map);
  const missing = [...new Set(declared.map((d) => d.name))].filter((n) => !exported(n));
  assert.equal(missing, []);
});

test.run();
