// Library use through the package's own name, as a user's program writes
// it: `import { runDragon } from 'dragonhpc/launch'` (package.json
// "exports"; resolved here by Node's self-reference to dist/). The same
// import from an installed tarball is checked by scripts/ci/installed-package.sh.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as assert from 'uvu/assert';
import { runDragon, type RunDragonConfig, type RunStats } from 'dragonhpc/launch';
import { suite } from '../helpers/suite.js';

const test = suite('dragonhpc/launch');
const dir = mkdtempSync(join(tmpdir(), 'dragon-launch-export-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('runDragon runs a script and resolves with its exit code', async () => {
  const script = join(dir, 'seven.mjs');
  writeFileSync(script, 'console.log("from the head"); process.exitCode = 7;\n');
  let out = '';
  const stdout = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
  let stats: RunStats | undefined;
  const config: RunDragonConfig = { script, poolSize: '16M' };
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
  const code = await runDragon(config, { env, stdout, onEnd: (s) => (stats = s) });
  assert.is(code, 7);
  assert.is(out, 'from the head\n');
  assert.is(stats?.nodes, 1);
});

test.run();
