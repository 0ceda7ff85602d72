// README.md's command reference is generated from the commands' oclif
// metadata (npm run readme); this fails when someone changed a flag or a
// description without regenerating it.
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('cli readme');

test('the command reference in README.md is up to date (else: npm run readme)', async () => {
  const r = await execa(process.execPath, [`${root}scripts/readme.mjs`, '--check'], { reject: false, cwd: root });
  assert.is(r.exitCode, 0, String(r.stderr));
});

test.run();
