// Child processes for the multi-process tests: real separate OS processes
// running the compiled fixtures in test/fixtures/. They inherit
// DRAGON_RT_UID, so they join this process's run-time.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}.js`, import.meta.url));
}

/** Forks a fixture with an IPC channel (messages both ways). */
export function forkFixture(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return fork(fixture(name), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Spawns a fixture without IPC (an IPC channel could keep it alive), stdout piped. */
export function spawnFixture(
  name: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [...nodeArgs, fixture(name), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  return Object.assign(child, { output: () => out });
}

/** Next IPC message the child sends that satisfies `pred`. */
export function nextMessage<T = any>(child: ChildProcess, pred: (m: any) => boolean = () => true, ms = 20000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no message from the child within ${ms} ms`));
    }, ms);
    const onMsg = (m: any) => {
      if (m && m.error) {
        cleanup();
        reject(new Error(`child failed: ${m.error}`));
      } else if (pred(m)) {
        cleanup();
        resolve(m as T);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited (${code}) before sending the message`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    child.on('message', onMsg);
    child.on('exit', onExit);
  });
}

/** Exit code, or a rejection if the child is still running after `ms`. */
export function exitOf(child: ChildProcess, ms = 20000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child still running after ${ms} ms`));
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal) console.error(`child killed by ${signal}`);
      resolve(code ?? (signal ? 128 : null));
    });
  });
}

export const hex = (u8: Uint8Array) => Buffer.from(u8).toString('hex');
export const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
