// SIGUSR1/SIGUSR2 (what `sbatch --signal=B:USR1@60` sends before the time
// limit) never open Node's inspector (a debugger on 127.0.0.1:9229 any local
// user could use to run code as the job's owner) and never kill a process
// of the run-time: the frontend passes them on to the head, where a script's
// listener gets them; every other process ignores them unless it listens,
// and removing every listener does not undo that.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { bin, processesMarked } from '../helpers/cli.js';
import { fixture } from '../helpers/child.js';
import { suite } from '../helpers/suite.js';
import { alive } from '../runtime/helpers/dragon.js';

const test = suite('cli usr signals');
const INSPECTOR_PORT = (9229).toString(16).toUpperCase().padStart(4, '0');

/** Listening TCP sockets on the inspector's port (/proc/net/tcp{,6}: local address, state 0A = LISTEN). */
function inspectorListening(): string[] {
  const found: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${INSPECTOR_PORT}`) && cols[3] === '0A') found.push(`${f}: ${line.trim()}`);
    }
  }
  return found;
}

const count = (text: string, what: string) => text.split(what).length - 1;

test('SIGUSR1/SIGUSR2 to dragon, backend, head, a Process and a pool worker: no inspector, all alive, the head hears them', async () => {
  const release = join(tmpdir(), `usr-signals-${process.pid}-${Date.now()}`);
  const mark = `usr${process.pid}${Date.now()}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
  const dragon = spawn(process.execPath, [bin('dragon'), fixture('cli/usr-signals-head'), release], {
    env: { ...env, DRAGON_TEST_MARK: mark },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  dragon.stdout!.on('data', (d) => (out += d));
  dragon.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => dragon.on('close', (c) => resolve(c)));
  const until = async (what: string, ok: () => boolean, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end || dragon.exitCode !== null) throw new Error(`no ${what}: ${out}${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const both = (pids: number[]) => {
    for (const pid of pids) {
      for (const sig of ['SIGUSR1', 'SIGUSR2'] as const) {
        try {
          process.kill(pid, sig);
        } catch {
          // exited meanwhile: the checks below say so
        }
      }
    }
  };
  try {
    await until('READY', () => out.includes('READY'));
    const ready = JSON.parse(/READY (\{.*\})/.exec(out)![1]!) as { head: number; child: number; worker: number };
    const job = processesMarked(mark); // frontend, backend, head, child, worker, warm processes
    for (const pid of [dragon.pid!, ready.head, ready.child, ready.worker]) assert.ok(job.includes(pid), `${pid} is a process of the job`);

    // To dragon: passed on to the head.
    both([dragon.pid!]);
    await until('the head hearing both', () => count(out, 'HEAD SIGUSR1') >= 1 && count(out, 'HEAD SIGUSR2') >= 1);
    // To every other process; the child listens once, then removes every listener.
    both(job.filter((p) => p !== dragon.pid));
    await until('the child hearing one', () => out.includes('CHILD SIGUSR'));
    await until('the head hearing both again', () => count(out, 'HEAD SIGUSR1') >= 2 && count(out, 'HEAD SIGUSR2') >= 2);
    // Again to all, now that the child has no listener left.
    both(job);
    // The head gets each signal twice this round (from dragon and directly);
    // two of the same kind pending at once are one signal to the kernel.
    await until('the head hearing the third round', () => count(out, 'HEAD SIGUSR1') >= 3 && count(out, 'HEAD SIGUSR2') >= 3);
    for (let i = 0; i < 10; i++) {
      assert.equal(inspectorListening(), [], 'no inspector listening');
      for (const pid of job) assert.ok(alive(pid), `process ${pid} is alive (${readCmd(pid)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.not.match(err, /Debugger listening/);
    writeFileSync(release, '');
    assert.is(await exit, 0, err);
    assert.match(out, 'CHILD EXIT 0');
    assert.equal(processesMarked(mark), []);
  } finally {
    rmSync(release, { force: true });
    if (dragon.exitCode === null) process.kill(-dragon.pid!, 'SIGKILL');
  }
});

function readCmd(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return 'gone';
  }
}

test.run();
