// ts-bugs #2: two copies of dragonhpc in one process (the dragon CLI's and
// the user's node_modules/dragonhpc) both work. koffi's type names are
// process-wide, so the binding registers none: the second copy used to die
// with "Duplicate type name 'dragon_alloc_t'". The second copy here is
// this build's src/ copied to a package root of its own, sharing this
// process's koffi (node_modules is a symlink to ours) and libdragon.
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as assert from 'uvu/assert';
import * as A from '../../src/index.js';
import { root } from '../helpers/cli.js';
import { suite } from '../helpers/suite.js';

const test = suite('two copies');
let copy: string;
let B: typeof A;

test.before(async () => {
  copy = mkdtempSync(join(tmpdir(), 'dragonhpc-copy-'));
  cpSync(fileURLToPath(new URL('../../src/', import.meta.url)), join(copy, 'src'), { recursive: true });
  writeFileSync(join(copy, 'package.json'), JSON.stringify({ name: 'dragonhpc', type: 'module' }));
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  symlinkSync(join(root, 'native'), join(copy, 'native'));
});

test.after(() => {
  rmSync(copy, { recursive: true, force: true });
});

test('a second copy loads and works after the first one loaded libdragon', async () => {
  const pa = A.MemoryPool.create({ bytes: 1 << 20 }); // the first copy loads libdragon
  const ca = A.Channel.create({ pool: pa, capacity: 4, blockSize: 256 });
  B = (await import(pathToFileURL(join(copy, 'src', 'index.js')).href)) as typeof A;
  assert.is.not(B.MemoryPool, A.MemoryPool, 'really a second copy');
  const pb = B.MemoryPool.create({ bytes: 1 << 20 });
  const cb = B.Channel.create({ pool: pb, capacity: 4, blockSize: 256 });

  // dragon_alloc_t passed by value, in each copy: alloc_ptr, channel_send_alloc, pool_free
  const xa = pa.alloc(64);
  xa.bytes.write('from A');
  ca.sendAllocationSync(xa, { length: 6 });
  const xb = pb.alloc(64);
  xb.bytes.write('from B');
  cb.sendAllocationSync(xb, { length: 6 });
  assert.is(String(ca.recvBytesSync()), 'from A');
  assert.is(String(cb.recvBytesSync()), 'from B');
  const spare = pb.alloc(32);
  spare.free();

  // across copies, and async waits (each copy has its own waiter thread)
  const viaB = B.Channel.attach(ca.serialize());
  const gotA = ca.recv();
  const gotB = cb.recv();
  await viaB.send({ from: 'B', to: 'A' });
  await cb.send([1, 2n]);
  assert.equal(await gotA, { from: 'B', to: 'A' });
  assert.equal(await gotB, [1, 2n]);
  assert.equal(B.libraryVersion(), A.libraryVersion());

  viaB.detach();
  ca.destroy();
  cb.destroy();
  pa.destroy();
  pb.destroy();
});

test('the binding registers no koffi type name', () => {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi').default;
  assert.throws(() => koffi.type('dragon_alloc_t'), /Unknown or invalid type name/);
});

test.run();
