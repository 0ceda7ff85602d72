// Looking up and running the WLM's own tools (scontrol, mpiexec --version).
// node:child_process rather than execa: this is run-time code, and execa is
// only a dev dependency of the package.
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { Errors } from '../errors/errors.js';

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
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short query command; never throws for a non-zero exit. */
export function capture(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err); // ENOENT, EACCES...
      const code = err ? ((err as { code?: number | null }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/** The first line of a command's error output, for messages. */
export function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
}
