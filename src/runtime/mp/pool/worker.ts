// A Pool worker: a run-time Process running poolWorker(config). It takes
// chunks from its own task channel one at a time (so the parent knows what
// each worker holds), imports each task module once and caches the
// function, and sends results back in batches on the pool's result channel:
// it flushes when its channel has nothing more for it right now, after
// FLUSH_AT results or after FLUSH_MS (see protocol.ts for the messages).
import { performance } from 'node:perf_hooks';
import '../../remote/index.js'; // objects of another node in a task's inputs
import { encodeValue } from '../../core/codec/codec.js';
import { Errors } from '../../errors/errors.js';
import { attachedIn } from '../../core/codec/structured.js';
import { detachQuietly } from '../../core/codec/transferable.js';
import { displayPath } from '../../proc/report.js';
import { ERROR, FLUSH_AT, FLUSH_MS, INIT_FAILED, OK, RESULTS, STOP, type WorkerConfig } from './protocol.js';

type Fn = (...args: unknown[]) => unknown;
interface Thenable {
  then: unknown;
}

export async function poolWorker(cfg: WorkerConfig): Promise<void> {
  const { id, tasks, results, maxtasks } = cfg;
  if (cfg.init) {
    try {
      const init = await load(cfg.init.module, cfg.init.fn);
      await init(...cfg.init.args);
    } catch (err) {
      await results.send([INIT_FAILED, id, asError(err)]);
      throw err; // the worker ends with exit code 1 and this error
    }
  }
  const fns = new Map<number, Fn | Error>();
  const local = tasks.remoteNode === undefined;
  const out: unknown[] = [RESULTS, id, 0, 0];
  let n = 0; // results in `out`
  let busy = 0; // ms spent in tasks since the last flush
  let since = 0; // when the first result of `out` was ready
  let done = 0;
  const lent: unknown[] = []; // Dragon objects of inputs, detached after the next flush
  let lastYield = performance.now();

  const flush = async (): Promise<void> => {
    out[2] = busy;
    out[3] = n;
    try {
      await results.send(out);
    } catch (err) {
      // a result that cannot be serialized: say so for that task, send the rest
      if (!sanitize(out)) throw err;
      await results.send(out);
    }
    out.length = 4;
    // after the send: a result may be one of them
    if (lent.length > 0) {
      detachQuietly(lent);
      lent.length = 0;
    }
    n = 0;
    busy = 0;
  };

  for (;;) {
    let msg: unknown[];
    if (local && tasks.count() > 0) {
      msg = tasks.recvSync<unknown[]>();
      // a long run of ready tasks still lets timers and I/O of the tasks run
      const now = performance.now();
      if (now - lastYield > 5) {
        await new Promise(setImmediate);
        lastYield = now;
      }
    } else {
      if (n > 0) await flush();
      msg = await tasks.recv<unknown[]>();
      lastYield = performance.now();
    }
    if (msg[0] === STOP) break;
    // Dragon objects in the chunk's inputs are the task's for its duration
    // (as in Python, where each task gets its own copy): detached after it.
    const borrowed = attachedIn(msg);
    const tid = msg[1] as number;
    const fnId = msg[2] as number;
    let fn = fns.get(fnId);
    if (fn === undefined) {
      try {
        fn = await load(msg[5] as string, msg[6] as string | undefined);
      } catch (err) {
        fn = asError(err);
      }
      fns.set(fnId, fn);
    }
    const t0 = performance.now();
    if (n === 0) since = t0;
    if (fn instanceof Error) {
      out.push(tid, ERROR, fn);
    } else {
      const items = msg[4] as unknown[];
      const star = msg[3] === 1;
      try {
        const values = new Array<unknown>(items.length);
        for (let i = 0; i < items.length; i++) {
          let v = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
          if (v !== null && typeof v === 'object' && typeof (v as Thenable).then === 'function') v = await v;
          values[i] = v;
        }
        out.push(tid, OK, values);
      } catch (err) {
        out.push(tid, ERROR, asError(err));
      }
    }
    for (const o of borrowed) lent.push(o);
    const t1 = performance.now();
    busy += t1 - t0;
    n++;
    if (maxtasks > 0 && ++done >= maxtasks) break;
    if (!local || n >= FLUSH_AT || t1 - since > FLUSH_MS) await flush();
  }
  if (n > 0) await flush();
  // Exit now: a task may have left timers or handles behind.
  process.exit(0);
}

// A batch that did not encode: each result that does not encode alone is
// replaced by an error saying why. False when every result encodes (the
// failure was something else).
function sanitize(out: unknown[]): boolean {
  let changed = false;
  for (let i = 4; i < out.length; i += 3) {
    try {
      encodeValue(out[i + 2], 'Pool worker');
    } catch (err) {
      out[i + 1] = ERROR;
      out[i + 2] = Errors.invalidArgument('Pool task', `its result cannot be sent back to the caller (${(err as Error)?.message ?? String(err)})`);
      changed = true;
    }
  }
  return changed;
}

const modules = new Map<string, Promise<Record<string, unknown>>>();

async function load(module: string, fnName: string | undefined): Promise<Fn> {
  let m = modules.get(module);
  if (!m) modules.set(module, (m = importModule(module)));
  const mod = await m;
  const fn = fnName === undefined ? mod.default : (mod[fnName] ?? (mod.default as Record<string, unknown> | undefined)?.[fnName]);
  if (typeof fn !== 'function') throw Errors.exportNotFound(displayPath(module), fnName ?? 'default', Object.keys(mod));
  return fn as Fn;
}

// A TypeScript module goes through tsx, as a Process's would (Local
// Services starts those with --import tsx; a worker learns its modules later).
let tsx: Promise<unknown> | undefined;
async function importModule(module: string): Promise<Record<string, unknown>> {
  if (/\.[cm]?ts$/.test(new URL(module).pathname)) {
    tsx ??= import('../../package-files.js').then(({ tsxImport }) => import(tsxImport()));
    await tsx;
  }
  return (await import(module)) as Record<string, unknown>;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`a non-Error value was thrown: ${String(err)}`);
}
