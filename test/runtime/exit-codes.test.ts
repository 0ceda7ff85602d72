// `dragon SCRIPT` exits with the head's exit code: 0, n, 1 for an uncaught
// error, 128+n when a signal killed the head; a .ts head runs without a
// build step. Every run leaves nothing behind.
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { ROOT, dragon, fixture, nothingLeft } from './helpers/dragon.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const test = suite('exit codes');
// Scratch scripts of the .ts cases, removed after the suite.
const scratch: string[] = [];
test.after(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));
const heads = fixture('heads');

async function expectClean(rtid: string | undefined): Promise<void> {
  assert.ok(rtid, 'the run-time started');
  assert.equal(await nothingLeft(rtid!), [], 'nothing left behind');
}

test('exit code 0, with the head\'s output', async () => {
  const r = await dragon(heads, ['exit', '0']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'head says bye\n');
  assert.is(r.stderr, '');
  await expectClean(r.info?.runtimeId);
});

test('exit code 3', async () => {
  const r = await dragon(heads, ['exit', '3']);
  assert.is(r.code, 3, r.stderr);
  await expectClean(r.info?.runtimeId);
});

test('an uncaught error gives 1 and Node\'s report with the stack', async () => {
  const r = await dragon(heads, ['throw']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /Error: thrown by the head/);
  assert.match(r.stderr, /heads\.js:\d+/);
  await expectClean(r.info?.runtimeId);
});

for (const [sig, code] of [['SIGKILL', 137], ['SIGTERM', 143], ['SIGSEGV', 139]] as const) {
  test(`a head killed by ${sig} gives ${code}`, async () => {
    const r = await dragon(heads, ['signal', sig]);
    assert.is(r.code, code, r.stderr);
    await expectClean(r.info?.runtimeId);
  });
}

test('a .ts head runs without a build step, with its arguments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dragon-ts-'));
  scratch.push(dir);
  const script = join(dir, 'head.ts');
  writeFileSync(script, 'const n: number = 4;\nenum Color { Red }\nconsole.log(`ts ${n} ${Color.Red} ${process.argv.slice(2).join(",")}`);\nprocess.exitCode = n;\n');
  const r = await dragon(script, ['a', 'b c']);
  assert.is(r.stdout, 'ts 4 0 a,b c\n', r.stderr);
  assert.is(r.code, 4);
  await expectClean(r.info?.runtimeId);
});

test('a TypeScript error is one line saying where', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dragon-ts-'));
  scratch.push(dir);
  writeFileSync(join(dir, 'bad.mts'), 'const x: number = ;\n');
  const r = await dragon(join(dir, 'bad.mts'));
  assert.is(r.code, 1);
  assert.match(r.stderr, /^dragon: .*bad\.mts cannot be compiled at .*bad\.mts:1:\d+: .*Fix it/);
  assert.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  await expectClean(r.info?.runtimeId);
});

test('a .ts module as a Process target runs too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dragon-ts-'));
  scratch.push(dir);
  writeFileSync(join(dir, 'worker.ts'), 'export function square(n: number): void {\n  console.log(`square ${n * n}`);\n}\n');
  const index = join(ROOT, '.build', 'src', 'index.js');
  writeFileSync(
    join(dir, 'head.mts'),
    `import { Process } from ${JSON.stringify(index)};\n` +
      `const p = new Process({ module: new URL('./worker.ts', import.meta.url), fn: 'square', args: [7] });\n` +
      'await p.start();\nprocess.exitCode = (await p.join()) ?? 99;\n',
  );
  const r = await dragon(join(dir, 'head.mts')); // ESM (top-level await) without a package.json
  assert.is(r.stdout, 'square 49\n', r.stderr);
  assert.is(r.code, 0);
  await expectClean(r.info?.runtimeId);
});

test.run();
