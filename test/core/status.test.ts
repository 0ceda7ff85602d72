// The TypeScript mirror of return_codes.h matches the library.
import * as assert from 'uvu/assert';
import { native } from '../../src/runtime/core/ffi/native.js';
import { Status, statusName } from '../../src/runtime/errors/status.js';
import { DragonError } from '../../src/index.js';
import { Errors } from '../../src/runtime/errors/errors.js';
import { suite } from '../helpers/suite.js';

const test = suite('status');

test('every status name matches dragon_errname', () => {
  for (const code of Object.values(Status)) assert.is(statusName(code), native.errname(code));
  assert.is(native.errname(Object.keys(Status).length), 'DRAGON_ERR_UNKNOWN');
});

test('native errors carry code, errno, the C text and a hint', () => {
  const err = Errors.native('Channel.attach', Status.FOREIGN_RUNTIME);
  assert.instance(err, DragonError);
  assert.instance(err, Error);
  assert.is(err.code, 'DRAGON_ERR_FOREIGN_RUNTIME');
  assert.is(err.errname, 'DRAGON_ERR_FOREIGN_RUNTIME');
  assert.is(err.errno, Status.FOREIGN_RUNTIME);
  assert.ok(err.message.startsWith('Channel.attach: descriptor belongs to another run-time'));
  assert.match(err.message, /DRAGON_RT_UID/);
});

test.run();
