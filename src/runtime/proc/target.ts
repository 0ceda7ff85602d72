// Runs a `{ module, fn, args }` process: `node proc/main.js --target`.
// Everything about the target arrives on fd 3 (see payload.ts), which a
// warm process started ahead of time blocks on until Local Services hands
// it a request. An error the target throws goes back on fd 3 (name,
// message, code, remote stack) before the process exits with code 1.
import { readFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeArgs } from '../api/args.js';
import { encode, encoded } from '../core/codec/codec.js';
import { Errors } from '../errors/errors.js';
import { NOT_STARTED, PAYLOAD_FD, READY, decodePayload, type NotStarted, type TargetHeader } from './payload.js';
import { describe, displayPath, loadFailure, reportLine, userStack } from './report.js';

export async function runTarget(): Promise<void> {
  const buf = readFileSync(PAYLOAD_FD); // blocks until Local Services wrote the payload
  if (buf.length === 0) return; // an idle warm process released at teardown
  const { header, args } = decodePayload(buf);
  adopt(header);
  // Later uncaught errors still get Node's report and exit code 1; the
  // parent also receives the error itself.
  process.on('uncaughtExceptionMonitor', (err) => sendError(err));

  // Without fn, loading the module is the work: the caller does not wait for it.
  if (header.fn === undefined) ready();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(header.module)) as Record<string, unknown>;
  } catch (err) {
    return fail(err, loadFailure(`the module of process ${header.puid} (${displayPath(header.module)})`, err, fileURLToPath(header.module)));
  }
  const fn = pick(mod, header);
  if (typeof fn !== 'function') {
    const err = Errors.exportNotFound(displayPath(header.module), header.fn ?? 'default', Object.keys(mod));
    return fail(err, err.message);
  }
  let values: unknown[];
  try {
    if (header.hasObjects) await import('../../index.js'); // registers every Dragon object class
    values = decodeArgs(args);
  } catch (err) {
    return fail(err, `process ${header.puid} could not decode its arguments: ${describe(err)}`);
  }
  ready();
  try {
    await (fn as (...a: unknown[]) => unknown)(...values);
  } catch (err) {
    sendError(err);
    reportLine(`process ${header.puid} (${header.fn ?? 'default'} from ${displayPath(header.module)}) failed: ${userStack(err)}`);
    process.exit(1);
  }
}

// The process becomes the one the request describes (a warm process was
// started before it knew).
function adopt(h: TargetHeader): void {
  for (const k of Object.keys(process.env)) if (!(k in h.env)) delete process.env[k];
  Object.assign(process.env, h.env);
  process.chdir(h.cwd);
  // argv[1] stays this entry: the module is imported, not the main module,
  // so `process.argv[1] === fileURLToPath(import.meta.url)` is false in it
  // (like __name__ != '__main__' in a Python multiprocessing child).
  process.argv = [process.argv[0]!, process.argv[1]!];
  if (h.name) process.title = h.name;
}

function pick(mod: Record<string, unknown>, h: TargetHeader): unknown {
  // A CommonJS module's exports Node could not detect statically are on its default export.
  if (h.fn !== undefined) return mod[h.fn] ?? (mod.default as Record<string, unknown> | undefined)?.[h.fn];
  // No fn: call the default export if it is a function; a module without
  // one did its work by loading.
  return typeof mod.default === 'function' ? mod.default : () => undefined;
}

// Before ready(), the caller's start() rejects with `line` (nothing on
// stderr: the caller has the error); after, it is the target's failure.
function fail(err: unknown, line: string): never {
  if (isReady) {
    sendError(err);
    reportLine(line, err);
  } else {
    const code = (err as { code?: unknown })?.code;
    const record: NotStarted = { message: line, code: typeof code === 'string' && code.startsWith('DRAGON_') ? code : 'DRAGON_ERR_SCRIPT' };
    writeFd3(Buffer.concat([Buffer.from([NOT_STARTED]), Buffer.from(JSON.stringify(record), 'utf8')]));
    sent = true;
    if (process.env.DRAGON_LOG_LEVEL === 'debug') reportLine(line, err);
  }
  process.exit(1);
}

let isReady = false;
// The target was found: the caller's start() resolves.
function ready(): void {
  isReady = true;
  writeFd3(Buffer.from([READY]));
}

function writeFd3(b: Buffer): void {
  try {
    writeSync(PAYLOAD_FD, b);
  } catch {
    // Local Services is gone: the run-time is ending
  }
}

let sent = false;
function sendError(err: unknown): void {
  if (sent || !isReady) return;
  sent = true;
  try {
    encode(err instanceof Error ? err : new Error(describe(err)), 'Process');
    writeSync(PAYLOAD_FD, encoded.buf, 0, encoded.len);
  } catch {
    // Local Services is gone or the error does not encode: the exit code still tells
  }
}
