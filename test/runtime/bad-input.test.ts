// Bad input gives one clear line on stderr (what went wrong, what to do), a
// non-zero exit code, and leaves nothing behind: a missing or unreadable
// script, a script with a syntax error, one that throws or fails to import
// at load time, and a default pool that does not fit in /dev/shm.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { dragon, nothingLeft, type DragonResult } from './helpers/dragon.js';

const test = suite('bad input');
const dir = mkdtempSync(join(tmpdir(), 'dragon-bad-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

function oneLine(r: DragonResult, pattern: RegExp): void {
  assert.ok(r.code !== 0 && r.code !== null, `non-zero exit (got ${r.code})`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.is(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^dragon: /);
  assert.match(lines[0]!, pattern);
}

// Failing before anything starts: no run-time id was even chosen.
function nothingStarted(r: DragonResult): void {
  assert.is(r.info, undefined, 'no backend was started');
}

async function nothingLeftOf(r: DragonResult): Promise<void> {
  assert.ok(r.info, 'the run-time started');
  assert.equal(await nothingLeft(r.info!.runtimeId), []);
}

test('a script that does not exist', async () => {
  const r = await dragon(join(dir, 'nope.mjs'));
  oneLine(r, /script .*nope\.mjs does not exist\. Check the path/);
  nothingStarted(r);
});

test('a directory instead of a script', async () => {
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  const r = await dragon(sub);
  oneLine(r, /is not a file\. Pass the \.js, \.mjs or \.ts file/);
  nothingStarted(r);
});

test('a syntax error names the file and line', async () => {
  const r = await dragon(file('syntax.mjs', 'const ok = 1;\nconst x = ;\n'));
  oneLine(r, /syntax\.mjs has a syntax error at .*syntax\.mjs:2: Unexpected token.*Fix it/);
  await nothingLeftOf(r);
});

test('a syntax error in a CommonJS script', async () => {
  const r = await dragon(file('syntax.cjs', 'module.exports = {\n'));
  oneLine(r, /syntax\.cjs has a syntax error at .*syntax\.cjs:\d+/);
  await nothingLeftOf(r);
});

test('a script that throws at import says where', async () => {
  const r = await dragon(file('throws.mjs', 'const a = 1;\nthrow new TypeError("not configured");\n'));
  oneLine(r, /throws\.mjs threw while loading \(at .*throws\.mjs:2:7\): TypeError: not configured/);
  await nothingLeftOf(r);
});

test('a script whose import cannot be found', async () => {
  const r = await dragon(file('imports.mjs', 'import "no-such-package-anywhere";\n'));
  oneLine(r, /imports something that cannot be found: .*no-such-package-anywhere.*Install the package or fix the import path/);
  await nothingLeftOf(r);
});

test('a default pool larger than /dev/shm is refused before anything starts', async () => {
  const r = await dragon(file('fine.mjs', 'console.log("never")\n'), [], { config: { poolSize: '100000G' } });
  oneLine(r, /default pool .* does not fit in \/dev\/shm .*--pool-size/);
  nothingStarted(r);
  assert.is(r.stdout, '');
});

test('a default pool too small for the run-time is refused', async () => {
  const r = await dragon(file('fine2.mjs', 'console.log("never")\n'), [], { config: { poolSize: '64K' } });
  oneLine(r, /smaller than the .* the run-time needs/);
  nothingStarted(r);
});

test.run();
