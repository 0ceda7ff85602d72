// Slurm's hostlist notation, "node[1-3,5],gpu[01-02]-ib,login": expanded
// here only when scontrol is not on PATH (scontrol is the reference; the
// unit tests compare the two when scontrol can run). Grammar, as Slurm's
// hostlist.c accepts it:
//   list  := host ("," host)*          commas inside [] do not split
//   host  := (text | "[" ranges "]")+  several bracket groups multiply out
//   ranges:= range ("," range)*        range := N | N "-" M
// A range keeps the zero padding of its lower bound: [08-10] -> 08 09 10.
import { Errors, type DragonError } from '../errors/errors.js';

const MAX_HOSTS = 1_000_000; // a typo like [1-999999999] must not eat the memory

function bad(text: string, why: string): DragonError {
  return Errors.unreadableEnv(`cannot read the node list ${JSON.stringify(text)}`, why, 'Check SLURM_JOB_NODELIST (it should look like node[1-3,5]) or put scontrol on PATH');
}

/** Splits at commas that are not inside brackets. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw bad(text, 'unbalanced brackets');
  }
  if (depth !== 0) throw bad(text, 'unbalanced brackets');
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function expandRanges(whole: string, inside: string): string[] {
  const out: string[] = [];
  for (const r of inside.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(r);
    if (!m) throw bad(whole, `"${r}" is not a number or a range N-M`);
    const lo = m[1]!;
    const hi = m[2] ?? lo;
    const a = Number(lo);
    const b = Number(hi);
    if (b < a) throw bad(whole, `the range ${lo}-${hi} goes down`);
    if (b - a + 1 > MAX_HOSTS) throw bad(whole, `the range ${lo}-${hi} is too large`);
    const width = lo.length; // Slurm pads to the lower bound's width
    for (let n = a; n <= b; n++) out.push(String(n).padStart(width, '0'));
  }
  return out;
}

function expandHost(whole: string, host: string): string[] {
  let names = [''];
  const re = /\[([^\]]*)\]|[^[\]]+/g;
  for (const m of host.matchAll(re)) {
    const parts = m[1] !== undefined ? expandRanges(whole, m[1]) : [m[0]];
    if (names.length * parts.length > MAX_HOSTS) throw bad(whole, 'too many names');
    names = names.flatMap((prefix) => parts.map((p) => prefix + p));
  }
  return names;
}

/** "node[1-3,5],x" -> ["node1","node2","node3","node5","x"], duplicates dropped, order kept. */
export function expandHostlist(text: string): string[] {
  const seen = new Set<string>();
  for (const host of splitTop(text.trim())) for (const n of expandHost(text, host)) seen.add(n);
  return [...seen];
}

/**
 * The reverse, for messages only: ["node1","node2","node3","gpu7"] ->
 * "node[1-3],gpu7". Names are grouped by the text before their last run of
 * digits (and the padding of that run), in the order first seen.
 */
export function compressHostlist(names: readonly string[]): string {
  const groups = new Map<string, { prefix: string; suffix: string; nums: string[] }>();
  const order: (string | { key: string })[] = [];
  for (const name of names) {
    const m = /^(.*?)(\d+)(\D*)$/.exec(name);
    if (!m) {
      order.push(name);
      continue;
    }
    const key = `${m[1]}\u0000${m[3]}\u0000${m[2]!.startsWith('0') ? m[2]!.length : 0}`;
    let g = groups.get(key);
    if (!g) {
      g = { prefix: m[1]!, suffix: m[3]!, nums: [] };
      groups.set(key, g);
      order.push({ key });
    }
    g.nums.push(m[2]!);
  }
  return order
    .map((o) => {
      if (typeof o === 'string') return o;
      const g = groups.get(o.key)!;
      if (g.nums.length === 1) return `${g.prefix}${g.nums[0]}${g.suffix}`;
      const sorted = [...new Set(g.nums)].sort((x, y) => Number(x) - Number(y));
      const ranges: string[] = [];
      let i = 0;
      while (i < sorted.length) {
        let j = i;
        while (j + 1 < sorted.length && Number(sorted[j + 1]) === Number(sorted[j]) + 1) j++;
        ranges.push(i === j ? sorted[i]! : `${sorted[i]}-${sorted[j]}`);
        i = j + 1;
      }
      return `${g.prefix}[${ranges.join(',')}]${g.suffix}`;
    })
    .join(',');
}
