// The files of the installed package that the run-time starts or loads:
// the exec shim, the process entry, libdragon's build, and for TypeScript
// the tsx loader (where the package is: package-root.ts).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Errors } from './errors/errors.js';
import { packageRoot } from './package-root.js';

const here = dirname(fileURLToPath(import.meta.url));

export const procEntry = join(here, 'proc', 'main.js');

export function execShim(): string {
  const path = join(packageRoot(), 'native', 'exec-shim', 'build', 'dragon-exec');
  if (!existsSync(path)) throw Errors.notBuilt('the exec shim', path);
  return path;
}

/**
 * What every backend needs from the install script's build, checked by the
 * launcher before it starts anything (the package is at the same path on
 * every node).
 */
export function requireNativeBuild(): void {
  const lib = process.env.DRAGON_LIBDRAGON ?? join(packageRoot(), 'native', 'libdragon', 'build', 'libdragon.so');
  if (!existsSync(lib)) throw Errors.notBuilt('libdragon', lib);
  execShim();
}

export const TS_EXTENSIONS = ['.ts', '.mts', '.cts'];

export function needsTypeScript(file: string): boolean {
  return TS_EXTENSIONS.some((ext) => file.endsWith(ext));
}

let tsxUrl: string | undefined;
// `--import <tsx>` makes node run .ts files without a build step. Resolved
// here, from dragonhpc's own dependencies, not from the user's directory.
export function tsxImport(): string {
  if (tsxUrl === undefined) {
    try {
      tsxUrl = import.meta.resolve('tsx');
    } catch (err) {
      throw Errors.library('cannot run a TypeScript file: the tsx loader is not installed', 'Run `npm install` in the dragonhpc package, or compile the script to .js', err);
    }
  }
  return tsxUrl;
}
