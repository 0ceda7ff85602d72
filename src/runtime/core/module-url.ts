// A process's `module` is resolved in the caller, to an absolute file: URL
// string (a URL object would not survive structured clone, and a relative
// path means nothing in another process with another working directory).
//   URL or "file:..."   as is
//   "/abs/x.mjs"        that file
//   "./x.mjs", "../x"   relative to the working directory (like child_process.fork)
//   "pkg", "pkg/sub"    resolved like require.resolve from the main script, not from inside dragonhpc
//                       (a bare name that is an existing file in the working directory is that file)
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Errors } from '../errors/errors.js';

export function resolveModule(module: unknown, op: string): string {
  let url: URL;
  if (module instanceof URL) {
    url = module;
  } else if (typeof module !== 'string' || module === '') {
    throw Errors.invalidArgument(op, 'module must be a file path, a file: URL string or a URL');
  } else if (module.startsWith('file:')) {
    url = new URL(module);
  } else if (isAbsolute(module)) {
    url = pathToFileURL(module);
  } else if (/^\.\.?(\/|$)/.test(module)) {
    url = pathToFileURL(resolve(module));
  } else if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(module)) {
    throw Errors.invalidArgument(op, `module must be a file (got ${module})`);
  } else {
    url = pathToFileURL(resolveBare(module, op));
  }
  if (url.protocol !== 'file:') throw Errors.invalidArgument(op, `module must be a file: URL (got ${url.href})`);
  const path = fileURLToPath(url);
  if (!existsSync(path) || !statSync(path).isFile()) throw Errors.moduleNotFound(op, path);
  return url.href;
}

function resolveBare(spec: string, op: string): string {
  const main = process.argv[1];
  const from = main && isAbsolute(main) ? main : join(process.cwd(), 'noop.js');
  try {
    return createRequire(from).resolve(spec);
  } catch {
    const local = resolve(spec);
    if (existsSync(local)) return local;
    throw Errors.moduleNotFound(op, spec);
  }
}
