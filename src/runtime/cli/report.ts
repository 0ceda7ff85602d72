// What the user sees when a command fails: ONE line on stderr, "<bin>:
// what went wrong. What to do", and the exit code the error carries (2 for
// a wrong command line or setting, as oclif and shells do; 1 for
// everything else). oclif's
// own parse errors are several lines and end in "See more help with
// --help"; they are folded into the same one-line shape here.
import { DragonError } from '../errors/errors.js';

export interface Failure {
  /** The line to print, or undefined when there is nothing to say (an exit request). */
  line: string | undefined;
  exitCode: number;
}

interface OclifLike {
  message: string;
  code?: string;
  oclif?: { exit?: number };
}

const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

function oclifLine(bin: string, message: string): string {
  const lines = stripAnsi(message)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See more help with/.test(l) && !/^The following errors? occurred:?$/.test(l));
  const first = lines[0] ?? 'invalid command line';
  const help = `see ${bin} --help`;
  let m = /^Nonexistent flags?: (.*)$/.exec(first);
  if (m) return `unknown flag ${m[1]}: ${help} (the flags of ${bin} go before SCRIPT; what follows SCRIPT is the script's)`;
  if (/^Missing \d+ required arg/.test(first)) return `missing SCRIPT: give the file to run, as in ${bin} [FLAGS] SCRIPT [ARGS...]`;
  m = /^Unexpected arguments?: (.*)$/.exec(first);
  if (m) return `unexpected argument ${m[1]}: ${help}`;
  return `${lines.join('; ')}: ${help}`;
}

// By shape too, not only instanceof: a DragonError may come from another
// copy of the module (dist/ and .build/, or a nested install).
function isDragonError(err: unknown): err is DragonError {
  return err instanceof DragonError || ((err as Error)?.name === 'DragonError' && typeof (err as DragonError).code === 'string');
}

export function describeFailure(bin: string, err: unknown): Failure {
  if (isDragonError(err)) {
    return { line: `${bin}: ${err.message}`, exitCode: err.exitCode ?? 1 };
  }
  const e = err as OclifLike | undefined;
  if (e?.code === 'EEXIT') return { line: undefined, exitCode: e.oclif?.exit ?? 0 }; // --help, --version, this.exit()
  if (e?.oclif && typeof e.message === 'string') {
    return { line: `${bin}: ${oclifLine(bin, e.message)}`, exitCode: e.oclif.exit ?? 2 };
  }
  // Not an error we made: a bug. Keep the stack, it is what a report needs.
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return { line: `${bin}: unexpected error (please report it): ${text}`, exitCode: 1 };
}

/** Prints the failure's line (if any) and sets the exit code; never throws. */
export function reportFailure(bin: string, err: unknown): number {
  const { line, exitCode } = describeFailure(bin, err);
  if (line) process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
  return exitCode;
}
