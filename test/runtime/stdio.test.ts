// Every process's output reaches the frontend: complete (also when a
// process exits right after printing), line-ordered per process, never a
// line torn by another process's, optionally labelled [host:puid],
// binary-safe. stdin reaches the head.
import { hostname } from 'node:os';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { binaryBytes } from '../fixtures/runtime/workers.js';
import { dragon, fixture, nothingLeft } from './helpers/dragon.js';

const test = suite('stdio');
const heads = fixture('heads');
const WORKERS = 3;
const LINES = 600;

// Lines of each tag, in order of appearance; also checks every line is whole.
function byTag(lines: string[], strip: (l: string) => string = (l) => l): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  for (const raw of lines) {
    const hit = /^(w\d+-err|w\d+|head) (\d+)$/.exec(strip(raw).replace(/^(w\d+) err/, '$1-err'));
    if (!hit) continue;
    const list = seen.get(hit[1]!) ?? [];
    list.push(Number(hit[2]));
    seen.set(hit[1]!, list);
  }
  return seen;
}

const range = (n: number, step = 1) => Array.from({ length: Math.ceil(n / step) }, (_, i) => i * step);

test('output of every process arrives whole and in order per process (no labels)', async () => {
  const r = await dragon(heads, ['burst', String(WORKERS), String(LINES)]);
  assert.is(r.code, 0, r.stderr);
  const out = r.stdout.split('\n');
  assert.is(out.pop(), '', 'ends with a newline');
  for (const line of out) assert.match(line, /^(w\d+ \d+|head \d+|PUIDS .*)$/, `a whole line: ${JSON.stringify(line)}`);
  const tags = byTag(out);
  assert.equal(tags.get('head'), range(LINES));
  for (let w = 0; w < WORKERS; w++) assert.equal(tags.get(`w${w}`), range(LINES), `worker ${w}: every line, in order`);
  const errs = byTag(r.stderr.split('\n').filter(Boolean));
  for (let w = 0; w < WORKERS; w++) assert.equal(errs.get(`w${w}-err`), range(LINES, 10), `worker ${w} stderr`);
  assert.match(r.stdout, /CODES \[0,0,0\]/);
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test('with labels every line starts with [host:puid] of the process that printed it', async () => {
  const r = await dragon(heads, ['burst', '2', '200'], { config: { label: true } });
  assert.is(r.code, 0, r.stderr);
  const puids = JSON.parse(/PUIDS (\[[^\]]*\])/.exec(r.stdout)![1]!) as number[];
  const lines = r.stdout.split('\n').filter(Boolean);
  const labelOf = new Map<string, string>();
  for (const line of lines) {
    const m = /^\[([^:\]]+):(\d+)\] (.*)$/.exec(line);
    assert.ok(m, `labelled: ${JSON.stringify(line)}`);
    assert.is(m![1], hostname());
    const tag = m![3]!.split(' ')[0]!;
    if (tag === 'PUIDS') continue;
    const known = labelOf.get(tag);
    if (known) assert.is(m![2], known, `one puid per writer (${tag})`);
    labelOf.set(tag, m![2]!);
  }
  assert.is(labelOf.get('w0'), String(puids[0]));
  assert.is(labelOf.get('w1'), String(puids[1]));
  const tags = byTag(lines, (l) => l.replace(/^\[[^\]]*\] /, ''));
  assert.equal(tags.get('w0'), range(200));
  assert.equal(tags.get('w1'), range(200));
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test('binary output is passed through byte for byte', async () => {
  const r = await dragon(heads, ['binary']);
  assert.is(r.code, 0, r.stderr);
  const want = binaryBytes();
  assert.ok(r.out.equals(want), `stdout: ${r.out.length} bytes, want ${want.length} identical`);
  assert.ok(r.err.equals(want), `stderr of a child: ${r.err.length} bytes, want ${want.length} identical`);
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test('stdin is relayed to the head, to the end', async () => {
  const text = 'line one\nline two\n' + 'x'.repeat(200_000) + '\nlast';
  const r = await dragon(heads, ['stdin'], { stdin: text });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `GOT ${JSON.stringify(text)}\n`);
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
});

test('an empty stdin is an immediate end of file', async () => {
  const r = await dragon(heads, ['stdin'], { stdin: '' });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'GOT ""\n');
});

test.run();
