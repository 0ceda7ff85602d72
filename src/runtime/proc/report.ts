// How a process of the run-time reports a failure that happened before or
// around the user's code (a script that does not load, a missing module or
// export): ONE line on stderr, saying what happened and what to do. The full
// stack is written too when DRAGON_LOG_LEVEL is debug.
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string;
  stack?: string;
}

/** "file:///a/b.mjs:3:7" -> "b.mjs:3:7" relative to the working directory. */
export function displayPath(fileOrUrl: string): string {
  const path = fileOrUrl.startsWith('file:') ? fileURLToPath(fileOrUrl) : fileOrUrl;
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** Our own build (dist/ or the test build): its frames are not where the user's error is. */
const OWN_ROOT = fileURLToPath(new URL('../..', import.meta.url)); // <build>/src/

// The first "<file>:<line>[:<col>]" of the user's code in a stack (Node puts
// a syntax error's location on the stack's first line).
export function location(err: ErrorLike): string | undefined {
  for (const m of (err.stack ?? '').matchAll(/(?<=^|[\s(])((?:file:\/\/)?\/[^\s():]+):(\d+)(?::(\d+))?/gm)) {
    const path = m[1]!.startsWith('file:') ? fileURLToPath(m[1]!) : m[1]!;
    if (path.startsWith(OWN_ROOT) || path.includes('/node_modules/')) continue;
    return `${displayPath(path)}:${m[2]}${m[3] ? `:${m[3]}` : ''}`;
  }
  return undefined;
}

/** The stack without the run-time's own frames (the user's code is what matters). */
export function userStack(err: unknown): string {
  const stack = (err as ErrorLike)?.stack;
  if (typeof stack !== 'string') return describe(err);
  const own = pathToFileURL(OWN_ROOT).href;
  return stack
    .split('\n')
    .filter((l) => !(/^\s+at /.test(l) && (l.includes(own) || l.includes(OWN_ROOT))))
    .join('\n');
}

export function describe(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  if (typeof err !== 'object' || err === null) return String(err);
  return `${e.name ?? 'Error'}: ${e.message ?? ''}`;
}

// Node keeps an ES module's syntax error location out of err.stack (it
// prints it only for the main entry). `node --check` finds it again; this
// runs only on the error path.
function syntaxLocation(file: string): string | undefined {
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const m = /^(\S+):(\d+)$/m.exec(r.stderr ?? '');
  return m ? `${displayPath(m[1]!)}:${m[2]}` : undefined;
}

// Why a module did not load, and what to do, as one sentence. `file`: the
// module itself, to locate a syntax error in it.
interface EsbuildError {
  errors?: Array<{ text?: string; location?: { file?: string; line?: number; column?: number } | null }>;
}

export function loadFailure(what: string, err: unknown, file?: string): string {
  const e = (err ?? {}) as ErrorLike;
  // TypeScript goes through tsx (esbuild): its errors list what failed where.
  // Its errors list arrives only in the message when the loader ran in its own thread.
  const first = (err as EsbuildError)?.errors?.[0];
  const m = /^Transform failed with \d+ errors?:\n(?:(\S+?):(\d+):(\d+): )?(?:ERROR: )?(.*)$/m.exec(e.message ?? '');
  if (first?.text || m) {
    const line = first?.location?.line ?? m?.[2];
    const col = first?.location?.column ?? m?.[3];
    // tsx names a compiled file .ts whatever its extension: name the real one when it is ours
    const named = first?.location?.file ?? m?.[1];
    const stem = (p: string) => basename(p).replace(/\.[cm]?[jt]s$/, '');
    const where = named && !(file && stem(named) === stem(file)) ? displayPath(named) : file ? displayPath(file) : what;
    const loc = line !== undefined ? ` at ${where}:${line}:${col}` : '';
    return `${what} cannot be compiled${loc}: ${first?.text ?? m?.[4]}. Fix it and run again`;
  }
  let where = location(e);
  if (e.name === 'SyntaxError') {
    if (!where && file) where = syntaxLocation(file);
    const who = where || !file ? what : `${what} or a module it imports`;
    return `${who} has a syntax error${where ? ` at ${where}` : ''}: ${e.message}. Fix it and run again`;
  }
  if (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') {
    return `${what} imports something that cannot be found: ${firstLine(e.message)}. Install the package or fix the import path`;
  }
  if (e.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return `${what} cannot be loaded: ${firstLine(e.message)}. Use a .js, .mjs or .ts file`;
  }
  return `${what} threw while loading${where ? ` (at ${where})` : ''}: ${firstLine(describe(err))}. Fix the error (DRAGON_LOG_LEVEL=debug or --log-level debug shows the stack)`;
}

export function firstLine(s: string | undefined): string {
  return (s ?? '').split('\n', 1)[0]!;
}

export function reportLine(line: string, err?: unknown): void {
  let text = `dragon: ${line}\n`;
  if (err && process.env.DRAGON_LOG_LEVEL === 'debug') text += `${(err as ErrorLike).stack ?? String(err)}\n`;
  try {
    writeSync(2, text);
  } catch {
    // stderr is gone: nobody to tell
  }
}
