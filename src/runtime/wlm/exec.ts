// Running the workload manager's tools through execa: the short queries
// (scontrol show hostnames, mpiexec --version: capture()) and the launchers
// that start one process per node (srun, mpiexec, ssh, pbsdsh: startLauncher()).
// execa is imported on first use: its import costs 140-230 ms of CPU on our
// 2-core machine, more than the rest of the launcher, and a run on this
// machine alone never needs it.
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { Errors } from '../errors/errors.js';

type Execa = typeof import('execa');
let execaModule: Promise<Execa> | undefined;
const loadExeca = () => (execaModule ??= import('execa'));

/** The absolute path of `cmd` on the PATH of `env`, or undefined. */
export function findOnPath(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = cmd.includes('/') ? [cmd] : (env.PATH ?? '').split(delimiter).filter(isAbsolute).map((d) => join(d, cmd));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not there, or not executable: next
    }
  }
  return undefined;
}

/**
 * Like findOnPath, but a missing tool is the one-line error the user sees:
 * "srun not found on PATH (needed to start the backends of a Slurm job)".
 */
export function requireOnPath(cmd: string, env: NodeJS.ProcessEnv, why: string, fix: string): string {
  const found = findOnPath(cmd, env);
  if (!found) throw Errors.startup(`${cmd} not found on PATH (${why})`, fix);
  return found;
}

export interface Output {
  /** null: killed (timedOut says whether by the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a short query command; never throws for a non-zero exit or a
 * timeout, throws when it could not run at all (ENOENT, EACCES...). Killed
 * if this process exits first.
 */
export async function capture(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<Output> {
  const { execa } = await loadExeca();
  const r = await execa(command, args, { env, extendEnv: false, timeout: timeoutMs, maxBuffer: 64 << 20, reject: false, stdin: 'ignore', stripFinalNewline: false });
  if (r.exitCode === undefined && r.signal === undefined) throw new Error(r.originalMessage || firstLine(r.shortMessage ?? ''));
  return { code: r.exitCode ?? null, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut };
}

export interface LauncherSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Written to its stdin, then closed; null: no stdin. */
  stdin: string | null;
}

export interface LauncherExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not start (ENOENT...), for messages; undefined when it ran. */
  startError: string | undefined;
}

/**
 * Starts a launcher in its own session (detached: a terminal's Ctrl-C
 * reaches only us, and its process group can be signalled as one), nothing
 * buffered: the caller reads stdout/stderr as they come. `exited` never
 * rejects.
 */
export async function startLauncher(spec: LauncherSpec, stdout: 'pipe' | 'ignore'): Promise<{ child: ChildProcess; exited: Promise<LauncherExit> }> {
  const { execa } = await loadExeca();
  const child = execa(spec.command, spec.args, {
    env: spec.env,
    extendEnv: false,
    detached: true,
    reject: false,
    buffer: false,
    stdout,
    stderr: 'pipe',
    ...(spec.stdin === null ? { stdin: 'ignore' as const } : { input: spec.stdin }),
  });
  const exited = child.then((r) => ({
    code: r.exitCode ?? null,
    signal: (r.signal as NodeJS.Signals | undefined) ?? null,
    startError: r.exitCode === undefined && r.signal === undefined ? r.originalMessage || firstLine(r.shortMessage ?? '') : undefined,
  }));
  return { child, exited };
}

/** The first line of a command's error output, for messages. */
export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}
