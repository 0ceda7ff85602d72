// The TypeScript copy of the gateway layout (core/ffi/gateway-wire.ts)
// against the C header it mirrors (include/dragon/gateway.h): a small C
// program prints every offset, size and code from the header.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import * as wire from '../../src/runtime/core/ffi/gateway-wire.js';
import { suite } from '../helpers/suite.js';
import { root as repoRoot } from '../helpers/cli.js';

const test = suite('gateway-wire');
const libdragon = join(repoRoot, 'native/libdragon');

function fromHeader(): Record<string, any> {
  execFileSync('make', ['-s', '-C', libdragon, 'layout'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(execFileSync(join(libdragon, 'build/gateway-layout'), { encoding: 'utf8' }));
}

const c = fromHeader();

test('request, reply, SYNC and MEM layouts match gateway.h field by field', () => {
  assert.equal({ ...wire.REQ }, c.REQ);
  assert.equal({ ...wire.REP }, c.REP);
  assert.equal({ ...wire.SYNC }, c.SYNC);
  assert.equal({ ...wire.MEM }, c.MEM);
  assert.is(wire.REQ_HEADER, c.REQ.size);
  assert.is(wire.REP_HEADER, c.REP.size);
});

test('op codes, sync ops and memory ops match gateway.h', () => {
  assert.equal({ ...wire.GwOp }, c.GwOp);
  assert.equal({ ...wire.SyncOp }, c.SyncOp);
  assert.equal({ ...wire.MemOp }, c.MemOp);
});

test('version, descriptor bytes, MEM_MAX and the magics match gateway.h', () => {
  assert.is(wire.GW_VERSION, c.version);
  assert.is(wire.GW_DESC_BYTES, c.descBytes);
  assert.is(wire.MEM_MAX, c.memMax);
  const magic = (n: number) => Buffer.from(Uint32Array.of(n).buffer).toString('latin1');
  assert.is(magic(wire.GW_REQ_MAGIC), c.reqMagic);
  assert.is(magic(wire.GW_REP_MAGIC), c.repMagic);
});

test('a request header written by the client reads back at the C offsets', () => {
  const b = Buffer.alloc(wire.REQ_HEADER);
  const target = new Uint8Array(96).fill(7);
  const reply = new Uint8Array(96).fill(9);
  wire.writeRequestHeader(b, { op: wire.GwOp.POLL, reqId: 2 ** 40 + 5, timeoutUs: -1, events: 3, payloadLen: 12, target, reply });
  assert.is(b.toString('latin1', c.REQ.magic, c.REQ.magic + 4), c.reqMagic);
  assert.is(b.readUInt16LE(c.REQ.op), wire.GwOp.POLL);
  assert.is(b.readBigUInt64LE(c.REQ.req_id), 2n ** 40n + 5n);
  assert.is(b.readBigInt64LE(c.REQ.timeout_us), -1n);
  assert.is(b.readUInt32LE(c.REQ.events), 3);
  assert.is(b.readBigUInt64LE(c.REQ.payload_len), 12n);
  assert.is(b[c.REQ.target], 7);
  assert.is(b[c.REQ.reply + 95], 9);
});

test.run();
