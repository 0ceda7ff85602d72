// An installed package whose install script did not run (npm
// --ignore-scripts, or an install script npm's allowScripts does not
// approve): `dragon` says so in one line, with what to run, before it
// starts anything (the check comes before a run-time id is chosen). The package is a copy of this one without the native
// build (package.json, bin/, dist/; node_modules linked).
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as assert from 'uvu/assert';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('installed without its build');
const dir = mkdtempSync(join(tmpdir(), 'dragon-not-built-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const pkg = join(dir, 'dragonhpc');
for (const part of ['package.json', 'bin', 'dist']) cpSync(join(root, part), join(pkg, part), { recursive: true });
symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
const script = join(dir, 'app.mjs');
writeFileSync(script, 'console.log("never")\n');

test('dragon names the missing build and the command that makes it', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
  const r = await execa(process.execPath, [join(pkg, 'bin', 'dragon.js'), script], { env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000 });
  assert.is(r.exitCode, 1, r.stderr);
  assert.is(r.stdout, '');
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.is(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^dragon: libdragon is not built \(.*dragonhpc\/native\/libdragon\/build\/libdragon\.so is missing\): dragonhpc's install script did not run/);
  assert.match(lines[0]!, /npm rebuild dragonhpc/);
  assert.match(lines[0]!, /npm approve-scripts dragonhpc/);
});

test.run();
