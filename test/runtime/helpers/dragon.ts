// Runs the real frontend for the runtime tests: runDragon() in a child
// process (test/fixtures/runtime/frontend.ts), with stdout/stderr captured
// as bytes and the RuntimeInfo (run-time id, backend pid) read from fd 3.
// leftovers() lists what a run-time left: live processes carrying its id in
// their environment, its /dev/shm segments, its run-time directory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';

const here = new URL('.', import.meta.url);
/** The package root (the test build lives in <root>/.build/). */
export const ROOT = fileURLToPath(new URL('../../../../', here));
export const FRONTEND = fileURLToPath(new URL('../../fixtures/runtime/frontend.js', here));

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/runtime/${name}.js`, here));
}

// The exec shim is a separate small program (native/exec-shim): make sure it is built.
const shim = spawnSync('make', ['-s', '-C', join(ROOT, 'native', 'exec-shim')], { encoding: 'utf8' });
if (shim.status !== 0) throw new Error(`cannot build the exec shim: ${shim.stderr}`);

export interface RuntimeInfo {
  runtimeId: string;
  backendPid: number;
  runtimeDir: string;
}

export interface DragonOptions {
  /** DragonConfig fields besides script and args. */
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  stdin?: string | Buffer;
  cwd?: string;
  /** Own process group (to signal it as a terminal would). */
  detached?: boolean;
  /** Build to run the frontend from (file: URL of a directory with src/); default the test build. */
  root?: string;
}

export interface Running {
  child: ChildProcess;
  info: Promise<RuntimeInfo>;
  stdout(): Buffer;
  stderr(): Buffer;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout contains `text`. */
  waitFor(text: string | RegExp, ms?: number): Promise<string>;
}

const started = new Set<ChildProcess>();

/** Kills every frontend still running (their backends then tear down): for a test's after hook. */
export function killAll(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) killTree(c);
}

export function startDragon(script: string, args: string[] = [], opts: DragonOptions = {}): Running {
  const config = { script, args, ...opts.config };
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, TEST_INFO_FD: '3' };
  if (opts.root) env.TEST_DRAGON_ROOT = opts.root;
  const child = spawn(process.execPath, [FRONTEND, JSON.stringify(config)], {
    cwd: opts.cwd ?? ROOT,
    env,
    detached: opts.detached ?? false,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  const info = new Promise<RuntimeInfo>((resolve, reject) => {
    let text = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]!) as RuntimeInfo);
    });
    child.once('exit', () => setTimeout(() => reject(new Error('the frontend exited without starting a run-time')), 50));
  });
  info.catch(() => {});
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  else child.stdin!.end();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const stdout = () => Buffer.concat(out);
  return {
    child,
    info,
    stdout,
    stderr: () => Buffer.concat(err),
    exit,
    waitFor: (text, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const poll = () => {
          const s = stdout().toString();
          if (typeof text === 'string' ? s.includes(text) : text.test(s)) return resolve(s);
          if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`the frontend exited before printing ${text}: ${s}${Buffer.concat(err)}`));
          if (Date.now() > deadline) return reject(new Error(`no ${text} within ${ms} ms: ${s}`));
          setTimeout(poll, 20);
        };
        poll();
      }),
  };
}

export interface DragonResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  out: Buffer;
  err: Buffer;
  info: RuntimeInfo | undefined;
}

/** Runs `dragon script args...` to the end (killing it after `ms`). */
export async function dragon(script: string, args: string[] = [], opts: DragonOptions = {}, ms = 60_000): Promise<DragonResult> {
  const r = startDragon(script, args, opts);
  const timer = setTimeout(() => killTree(r.child), ms);
  const { code, signal } = await r.exit;
  clearTimeout(timer);
  const info = await r.info.catch(() => undefined);
  return { code, signal, stdout: r.stdout().toString(), stderr: r.stderr().toString(), out: r.stdout(), err: r.stderr(), info };
}

function killTree(child: ChildProcess): void {
  try {
    process.kill(child.pid!, 'SIGKILL');
  } catch {
    // gone
  }
}

const user = (() => {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 32);
  } catch {
    return `u${process.geteuid?.() ?? 0}`;
  }
})();

/** What the run-time `rtid` left on this machine (empty: nothing). */
export function leftovers(rtid: string): string[] {
  const left: string[] = [];
  const needle = `DRAGON_RT_UID=${rtid}\0`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(needle)) left.push(`process ${name} ${stat.slice(stat.indexOf('('), stat.lastIndexOf(')') + 1)}`);
    } catch {
      // exited while we looked
    }
  }
  for (const f of readdirSync('/dev/shm')) if (f.startsWith(`dragon-${user}-${rtid}-`)) left.push(`segment ${f}`);
  for (const d of [rtid, `.${rtid}.tmp`]) if (existsSync(`/tmp/dragon-${user}/${d}`)) left.push(`directory /tmp/dragon-${user}/${d}`);
  return left;
}

/** Polls until the run-time left nothing, or `ms` passed; returns what is left. */
export async function nothingLeft(rtid: string, ms = 10_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = leftovers(rtid);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Is this pid alive (and not a zombie)? */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * The scenarios a head fixture reported (`RESULT <name> <json>` lines):
 * `result(name)` asserts that the scenario ran and did not fail, and gives
 * what it reported.
 */
export function scenarios(run: DragonResult): (name: string) => any {
  const results = new Map<string, any>();
  for (const m of run.stdout.matchAll(/RESULT (\S+) (.*)$/gm)) results.set(m[1]!, JSON.parse(m[2]!));
  return (name) => {
    const r = results.get(name);
    assert.ok(r, `scenario ${name} ran (exit ${run.code}): ${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
    assert.not.ok(r.failed, `scenario ${name}: ${r.failed}`);
    return r;
  };
}
