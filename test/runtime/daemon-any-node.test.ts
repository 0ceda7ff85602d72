// Global Services enforces Python's daemon flag for every node alike: when a
// process exits, its daemonic children are signalled on the nodes they run
// on; a daemonic process may not start processes. GS alone, with fake nodes
// (the same run through real nodes: test/runtime/process-daemon.test.ts).
import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { Log } from '../../src/runtime/control/log.js';
import { GlobalServices, type ExitRecord } from '../../src/runtime/backend/global-services.js';
import { FIRST_PUID } from '../../src/runtime/backend/puids.js';

const test = suite('Global Services: daemonic processes on any node');
const EXIT: ExitRecord = { code: 0, signal: null, exitCode: 0, error: null };

function setup() {
  const signals: Array<[node: number, puid: number, signal: string]> = [];
  const replies: any[] = [];
  let pid = 100;
  const gs = new GlobalServices({
    log: new Log('/nonexistent/dragon-test.log', 'rt', 'host', 'error'),
    node: (i) => ({ start: async () => ({ pid: pid++, startTime: '1' }), signal: (puid, sig) => void signals.push([i, puid, sig]) }),
    reply: (_origin, r) => void replies.push(r),
    onExit: () => undefined,
  });
  gs.setNodes(['n0', 'n1', 'n2']);
  gs.adoptHead(FIRST_PUID, 1);
  let id = 0;
  // A create from `from`, placed on `host`; resolves with GS's reply.
  const create = async (from: number, host: string, daemon: boolean): Promise<any> => {
    const n = replies.length;
    const spec = { target: { kind: 'command', command: 'sleep', args: ['9'] }, env: {}, cwd: '/', policy: { host }, ...(daemon ? { daemon } : {}) };
    gs.request({ v: 1, id: ++id, from, reply: new Uint8Array(4), type: 'create', spec }, 0);
    while (replies.length === n) await new Promise((r) => setImmediate(r));
    return replies[n];
  };
  return { gs, signals, create };
}

test('a parent\'s exit signals its daemonic children on their nodes (SIGTERM), not the others, not twice', async () => {
  const { gs, signals, create } = setup();
  const parent = (await create(FIRST_PUID, 'n2', false)).puid;
  const d1 = (await create(parent, 'n1', true)).puid;
  const d2 = (await create(parent, 'n0', true)).puid;
  const plain = (await create(parent, 'n1', false)).puid;
  const gone = (await create(parent, 'n2', true)).puid;
  gs.exited(gone, EXIT); // a daemonic child that already ended is left alone
  gs.exited(parent, EXIT);
  assert.equal(signals.sort(), [[0, d2, 'SIGTERM'], [1, d1, 'SIGTERM']].sort());
  assert.ok(plain > 0);
  gs.exited(parent, EXIT);
  assert.is(signals.length, 2);
});

test('the head\'s exit signals its daemonic children too', async () => {
  const { gs, signals, create } = setup();
  const d = (await create(FIRST_PUID, 'n1', true)).puid;
  gs.exited(FIRST_PUID, EXIT);
  assert.equal(signals, [[1, d, 'SIGTERM']]);
});

test('a daemonic process may not start processes', async () => {
  const { create } = setup();
  const d = (await create(FIRST_PUID, 'n1', true)).puid;
  const r = await create(d, 'n2', false);
  assert.is(r.ok, false);
  assert.is(r.error.code, 'DRAGON_ERR_PROCESS_STATE');
  assert.match(r.error.message, new RegExp(`process ${d} is daemonic, and a daemonic process may not start processes`));
});

test.run();
