// Conformance of Value with Python's multiprocessing semantics, with child
// processes of a one-node run-time (scenarios: test/fixtures/mp/sync-head.ts,
// checks: test/fixtures/mp/sync-checks.ts; the same on three nodes:
// test/cluster/mp-sync.test.ts). Plus, in this process: the gateway MEM
// payload layout and what a Value of another node is without a transport.
import * as assert from 'uvu/assert';
import { MemoryPool, Value, type DragonError } from '../../src/index.js';
import { Gateway } from '../../src/runtime/remote/gateway.js';
import { GwOp, MEM, MEM_MAX, MemOp, writeMemHeader } from '../../src/runtime/core/ffi/gateway-wire.js';
import { conformance } from '../fixtures/mp/sync-run.js';
import { suite } from '../helpers/suite.js';

const test = suite('mp value');
conformance(test, 'value');

test('the MEM (gateway op 6) payload header has the contract layout', () => {
  assert.is(GwOp.MEM, 6);
  assert.equal([MemOp.READ, MemOp.WRITE, MemOp.CAS64, MemOp.ADD64], [1, 2, 3, 4]);
  assert.is(MEM.size, 32);
  assert.is(MEM_MAX, 65536);
  const b = Buffer.alloc(32, 0xee);
  writeMemHeader(b, MemOp.WRITE, 2n ** 40n + 3n, 4096, 8);
  assert.is(b.readUInt32LE(0), 2);
  assert.is(b.readUInt32LE(4), 0);
  assert.is(b.readBigUInt64LE(8), 2n ** 40n + 3n);
  assert.is(b.readBigUInt64LE(16), 4096n);
  assert.is(b.readBigUInt64LE(24), 8n);
});

test('a Value of another node attaches as a remote one; without a transport its accesses fail with NO_TRANSPORT', () => {
  const far = MemoryPool.create({ bytes: 1 << 20, hostId: 1 });
  const v = new Value('i', 5, { pool: far });
  const saved = { node: process.env.DRAGON_NODE_INDEX, gw: process.env.DRAGON_GATEWAY };
  process.env.DRAGON_NODE_INDEX = '0';
  delete process.env.DRAGON_GATEWAY;
  Gateway.reset();
  try {
    const r = Value.attach(v.serialize());
    assert.is(r.isLocal, false);
    assert.is(r.typecode, 'i');
    assert.throws(() => r.value, (e: DragonError) => e.code === 'DRAGON_ERR_NO_TRANSPORT');
    assert.throws(() => r.getObj(), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
    assert.throws(() => r.destroy(), (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT');
    assert.equal(r.serialize(), v.serialize());
    r.detach();
  } finally {
    if (saved.node === undefined) delete process.env.DRAGON_NODE_INDEX;
    else process.env.DRAGON_NODE_INDEX = saved.node;
    if (saved.gw !== undefined) process.env.DRAGON_GATEWAY = saved.gw;
  }
  assert.is(v.value, 5);
  v.destroy();
  far.destroy();
});

const invalid = (msg: RegExp) => (e: DragonError) => e.code === 'DRAGON_ERR_INVALID_ARGUMENT' && msg.test(e.message);

test("typecode 'c' (char): the value is a one-byte Buffer (Python's b'x'); it takes one byte or a byte value", () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const c = new Value('c', Buffer.from('x'), { pool, lock: false });
  assert.ok(Buffer.isBuffer(c.value));
  assert.is(c.value.toString(), 'x');
  c.value = 0x41;
  assert.equal([...c.value], [0x41]);
  c.value = new Uint8Array([0xff]);
  assert.equal([...c.value], [0xff]);
  assert.is(c.getObj().BYTES_PER_ELEMENT, 1);
  const named = new Value('char', undefined, { pool, lock: false });
  assert.equal([...named.value], [0], "'char' is its name; the default is b'\\x00'");
  named.destroy();
  for (const bad of ['x', Buffer.from('xy'), new Uint8Array(0), 256, -1, 1.5]) {
    assert.throws(() => (c.value = bad as never), invalid(/type char \('c'\) takes one byte: a 1-byte Buffer\/Uint8Array or an integer in \[0, 255\]/));
  }
  assert.throws(() => new Value('c', 'x' as never, { pool }), invalid(/takes one byte/));
  const again = Value.attach<'c'>(c.serialize());
  assert.equal([...again.value], [0xff]);
  assert.is(again.typecode, 'c');
  assert.is(String(c), "Value('c', " + String(c.value) + ')');
  again.detach();
  c.destroy();
});

test("typecode 'u' (wchar_t): the value is a one-character string, stored in 4 bytes (Linux), any code point", () => {
  using pool = MemoryPool.create({ bytes: 1 << 20 });
  const u = new Value('u', 'é', { pool, lock: false });
  assert.is(u.value, 'é');
  u.value = '🐉';
  assert.is(u.value, '🐉', 'a code point beyond the BMP fits a 4-byte wchar_t');
  assert.is(u.getObj().BYTES_PER_ELEMENT, 4);
  assert.is(u.getObj()[0], 0x1f409);
  const named = new Value('wchar', undefined, { pool, lock: false });
  assert.is(named.value, '\0', "'wchar' is its name; the default is '\\0'");
  named.destroy();
  for (const bad of ['ab', '', 65, Buffer.from('a'), '\ud800']) {
    assert.throws(() => (u.value = bad as never), invalid(/type wchar \('u'\) takes a one-character string/));
  }
  const again = Value.attach<'u'>(u.serialize());
  assert.is(again.value, '🐉');
  again.detach();
  u.destroy();
});

test.run();
