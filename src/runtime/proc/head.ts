// Runs SCRIPT as the head process: `node [--import tsx] proc/main.js --head
// SCRIPT [args...]`. Loading the script ourselves (rather than `node SCRIPT`)
// is what lets a script that does not load (syntax error, throw at import,
// missing import) end with one clear line instead of Node's multi-line
// report. Once loaded, the script is on its own: later uncaught errors get
// Node's usual report and exit code 1, exactly as under plain `node`.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { displayPath, loadFailure, reportLine } from './report.js';

// The backend started us before its services existed; their variables
// (default pool, GS channel) come on this fd once they do. Nothing there:
// the run-time did not come up, and the backend reports why.
const SERVICES_FD_ENV = 'DRAGON_SERVICES_FD';

function awaitServices(): void {
  const fd = process.env[SERVICES_FD_ENV];
  if (fd === undefined) return;
  delete process.env[SERVICES_FD_ENV];
  const vars = readFileSync(Number(fd));
  if (vars.length === 0) process.exit(1);
  Object.assign(process.env, JSON.parse(vars.toString('utf8')) as Record<string, string>);
}

export async function runHead(script: string, args: string[]): Promise<void> {
  awaitServices();
  // As if started with `node SCRIPT args...`.
  process.argv = [process.argv[0]!, script, ...args];
  try {
    if (!isCommonJs(script) || !loadCommonJsMain(script)) await import(pathToFileURL(script).href);
  } catch (err) {
    reportLine(loadFailure(displayPath(script), err, script), err);
    process.exit(1);
  }
}

// Node decides a file's format by its extension and, for .js (and no
// extension), by the "type" of the nearest package.json.
function isCommonJs(file: string): boolean {
  const ext = extname(file);
  if (ext === '.cjs') return true;
  if (ext !== '.js' && ext !== '') return false; // .mjs; .ts/.mts/.cts go through tsx's loader
  return packageType(dirname(file)) !== 'module';
}

function packageType(dir: string): string | undefined {
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type;
      } catch {
        return undefined;
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

interface ModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
}

// CommonJS as the main module, so `require.main === module` holds in the
// script like under `node SCRIPT`. (Module._load is internal but stable: it
// is what Node's own runMain calls.) False: the file is ESM after all.
function loadCommonJsMain(file: string): boolean {
  const Module = createRequire(import.meta.url)('node:module') as ModuleInternals;
  try {
    Module._load(file, null, true);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') return false;
    throw err;
  }
}
