// Runs the package's executables (bin/*.js, which load dist/: `npm test`
// builds it first) the way a user does, and finds what a run left behind.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const bin = (name: 'dragon' | 'dragon-cleanup') => `${root}bin/${name}.js`;

export interface Run {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** Value of DRAGON_TEST_MARK given to the run (and inherited by whatever it started). */
  mark: string;
}

/** Runs `bin args` with `env` added (DRAGON_* of the test runner removed, except the run-time id's absence). */
export async function run(name: 'dragon' | 'dragon-cleanup', args: string[], env: Record<string, string> = {}, options: Options = {}): Promise<Run> {
  const mark = randomBytes(6).toString('hex');
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRAGON_')));
  const r = await execa(process.execPath, [bin(name), ...args], {
    env: { ...clean, ...env, DRAGON_TEST_MARK: mark },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
    stdin: 'ignore',
    ...options,
  } as Options);
  return { exitCode: r.exitCode, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), mark };
}

/** Pids of live processes whose environment holds DRAGON_TEST_MARK=mark. */
export function processesMarked(mark: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1');
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (env.split('\0').includes(`DRAGON_TEST_MARK=${mark}`)) out.push(Number(name));
    } catch {
      // gone, or not readable
    }
  }
  return out;
}
