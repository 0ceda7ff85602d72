// The pieces between processes and the frontend, without processes:
// control-plane framing, line cutting, labels, the environment scrub.
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { BackendFrame } from '../../schemas/control.js';
import { GsRequest } from '../../schemas/gs.js';
import { FrameReader, MAX_FRAME_BYTES, encodeFrame } from '../../src/runtime/control/framing.js';
import { LINE_LIMIT, LineSplitter } from '../../src/runtime/backend/line-splitter.js';
import { processEnv, scrubbed } from '../../src/runtime/backend/env.js';
import { labelLines } from '../../src/runtime/launch/output.js';
import { ControlServer, type BackendConnection } from '../../src/runtime/launch/control-server.js';
import { Log } from '../../src/runtime/control/log.js';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const test = suite('wire');

test('frames survive any split of the byte stream', () => {
  const values = [{ v: 1, type: 'a', s: 'é'.repeat(1000) }, { v: 1, n: [1, 2, 3] }, {}];
  const bytes = Buffer.concat(values.map(encodeFrame));
  for (const step of [1, 3, 7, 4096]) {
    const got: unknown[] = [];
    const r = new FrameReader((v) => got.push(v));
    for (let i = 0; i < bytes.length; i += step) r.push(bytes.subarray(i, i + step));
    assert.equal(got, values, `chunks of ${step}`);
  }
});

test('an oversized or non-JSON frame is an error, not a hang', () => {
  const big = Buffer.alloc(4);
  big.writeUInt32BE(MAX_FRAME_BYTES + 1);
  assert.throws(() => new FrameReader(() => {}).push(big), /exceeds/);
  const bad = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
  assert.throws(() => new FrameReader(() => {}).push(bad), /not JSON/);
});

test('frames are validated: versions, types, fields', () => {
  assert.ok(BackendFrame.safeParse({ v: 1, type: 'output', host: 'h', puid: 5, fd: 1, data: 'aGk=' }).success);
  assert.not.ok(BackendFrame.safeParse({ v: 2, type: 'output', host: 'h', puid: 5, fd: 1, data: 'aGk=' }).success, 'protocol version');
  assert.not.ok(BackendFrame.safeParse({ v: 1, type: 'output', host: 'h', puid: 5, fd: 3, data: 'aGk=' }).success, 'fd');
  assert.not.ok(BackendFrame.safeParse({ v: 1, type: 'nope' }).success, 'type');
  const reply = new Uint8Array(96);
  assert.ok(GsRequest.safeParse({ v: 1, id: 1, from: 2 ** 32, reply, type: 'join', puid: 2 ** 32 + 1, timeout: null }).success);
  assert.not.ok(GsRequest.safeParse({ v: 1, id: 1, from: 2 ** 32, reply: 'x', type: 'join', puid: 1, timeout: null }).success, 'reply must be bytes');
});

test('lines are cut at newlines, the rest waits, a huge line is passed on in pieces', () => {
  const out: string[] = [];
  const s = new LineSplitter((b) => out.push(b.toString()));
  s.push(Buffer.from('a\nb'));
  s.push(Buffer.from('c\nd\ne'));
  assert.equal(out, ['a\n', 'bc\nd\n']);
  s.flush();
  assert.equal(out, ['a\n', 'bc\nd\n', 'e']);
  const pieces: number[] = [];
  const t = new LineSplitter((b) => pieces.push(b.length));
  t.push(Buffer.alloc(LINE_LIMIT + 10, 120));
  assert.equal(pieces, [LINE_LIMIT + 10]);
});

test('labels go at every line start, bytes untouched', () => {
  assert.is(labelLines(Buffer.from('x\ny\n'), '[h:1] ').toString(), '[h:1] x\n[h:1] y\n');
  assert.is(labelLines(Buffer.from('no newline'), '[h:1] ').toString(), '[h:1] no newline');
  const bin = Buffer.from([0, 255, 10, 128]);
  assert.equal([...labelLines(bin, 'L')], [76, 0, 255, 10, 76, 128]);
});

test('the environment scrub removes our launch and secrets, keeps the allocation', () => {
  const env = scrubbed({
    SLURM_JOB_ID: '1',
    SLURM_PROCID: '0',
    SLURM_STEP_ID: '0',
    SLURM_STEP_NODELIST: 'n1',
    PMI_RANK: '0',
    PMI_FD: '3',
    PMIX_RANK: '0',
    OMPI_COMM_WORLD_RANK: '0',
    PALS_RANKID: '0',
    DRAGON_TOKEN: 'secret',
    CUDA_VISIBLE_DEVICES: '0,1',
    HOME: '/home/x',
  });
  assert.equal(env, { SLURM_JOB_ID: '1', CUDA_VISIBLE_DEVICES: '0,1', HOME: '/home/x' });
  const full = processEnv({ DRAGON_TOKEN: 'x', DRAGON_PARENT_PUID: '9', A: 'b' }, { DRAGON_RT_UID: 'ab' }, { puid: 5 });
  assert.equal(full, { A: 'b', DRAGON_RT_UID: 'ab', DRAGON_PUID: '5' });
});

test('the control listener refuses a connection without the token, and logs it; accepts the right one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dragon-wire-'));
  const log = new Log(join(dir, 'frontend.log'), 'abc', 'host', 'warn');
  const token = 'a'.repeat(64);
  const server = await ControlServer.listen(token, log);
  const accepted: BackendConnection[] = [];
  server.onBackend((c) => accepted.push(c));
  const [host, port] = [server.address.split(':')[0]!, Number(server.address.split(':')[1])];
  const hello = (t: string) => encodeFrame({ v: 1, type: 'hello', token: t, host: 'n0', nodeIndex: 0, pid: 1, info: { cpus: 2, affinity: [0, 1], memoryLimit: 2 ** 30, gpus: [] } });
  const attempt = (bytes: Buffer) =>
    new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => s.write(bytes));
      s.on('close', () => resolve(false));
      s.on('error', () => {});
      setTimeout(() => {
        resolve(!s.destroyed);
        s.destroy();
      }, 300);
    });
  assert.not.ok(await attempt(hello('b'.repeat(64))), 'wrong token: closed');
  assert.not.ok(await attempt(encodeFrame({ v: 1, type: 'ready' })), 'no hello first: closed');
  assert.ok(await attempt(hello(token)), 'right token: kept');
  assert.is(accepted.length, 1);
  assert.is(accepted[0]!.host, 'n0');
  for (const c of accepted) c.close();
  server.close();
  log.close();
  const text = readFileSync(join(dir, 'frontend.log'), 'utf8');
  assert.match(text, /rt=abc host WARN \[control\] refused connection from .*: wrong token/);
  assert.match(text, /refused connection from .*: the first frame is not a valid hello/);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
