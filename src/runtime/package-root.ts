// The installed dragonhpc package: the nearest directory above this file
// whose package.json is ours. The same walk works from dist/ and from the
// test build in .build/, and from a user's node_modules. What the package
// ships (libdragon, the exec shim, the transport agent, bin/) is found from
// here.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Errors } from './errors/errors.js';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'dragonhpc') return (root = dir);
      } catch {
        // not ours (or unreadable): keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw Errors.library('cannot find the dragonhpc package root', 'Reinstall dragonhpc');
    dir = up;
  }
}
