// One package, two executables: `dragon` and `dragon-cleanup`. oclif knows
// one CLI per package.json (its "oclif" section describes `dragon`, a
// single-command CLI whose argument is a script, not a subcommand). For
// `dragon-cleanup` the same package.json is handed to oclif with that
// section pointed at the cleanup command, so its help, errors and README
// section say `dragon-cleanup`, not `dragon cleanup`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

export type Bin = 'dragon' | 'dragon-cleanup';

const TARGETS: Record<Bin, string> = {
  dragon: './dist/src/commands/dragon.js',
  'dragon-cleanup': './dist/src/commands/cleanup.js',
};

/** Config.load() options for one of the package's executables. */
export function loadOptions(bin: Bin): { root: string; pjson: any } {
  const root = packageRoot();
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  pjson.oclif = { ...pjson.oclif, bin, commands: { strategy: 'single', target: TARGETS[bin] } };
  return { root, pjson };
}
