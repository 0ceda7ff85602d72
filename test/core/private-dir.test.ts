// ensurePrivateBase: /tmp/dragon-<user> is used only when it is a directory
// of this user, mode 0700, reached without following a link.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { ensurePrivateBase } from '../../src/runtime/core/rundir/private-dir.js';
import { suite } from '../helpers/suite.js';

const test = suite('control private dir');
let dir = '';
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'private-dir-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

const refusal = (base: string) => {
  try {
    ensurePrivateBase(base);
  } catch (err) {
    return err as { code: string; message: string };
  }
  assert.unreachable(`${base} was accepted`);
  return undefined as never;
};

test('missing: created with mode 0700', () => {
  const base = join(dir, 'dragon-u');
  assert.is(ensurePrivateBase(base), base);
  assert.is(lstatSync(base).mode & 0o777, 0o700);
  assert.is(ensurePrivateBase(base), base, 'an existing private one is accepted');
});

test('a symbolic link, even to a private directory of ours, is refused', () => {
  const real = join(dir, 'real');
  mkdirSync(real, { mode: 0o700 });
  symlinkSync(real, join(dir, 'dragon-u'));
  const err = refusal(join(dir, 'dragon-u'));
  assert.is(err.code, 'DRAGON_ERR_RUNTIME_DIR');
  assert.match(err.message, `is a symbolic link (to ${real}), not a directory`);
});

test('a file, and a directory others can use, are refused', () => {
  writeFileSync(join(dir, 'file'), '');
  assert.match(refusal(join(dir, 'file')).message, 'is a file, not a directory');
  mkdirSync(join(dir, 'open'));
  chmodSync(join(dir, 'open'), 0o750);
  assert.match(refusal(join(dir, 'open')).message, 'has mode 0750');
});

test.run();
