// Entry point of `dragon` (bin/dragon.js). The plain `dragon SCRIPT [ARGS...]`
// line has no flag to parse (everything after SCRIPT is the script's), so it
// skips loading oclif, ~110 ms of a start-up budget of 300 ms; the settings
// then come from DRAGON_* variables and defaults, through the same
// resolveConfig() as the oclif command's. Any line that starts with a flag
// (or is empty) goes to the oclif command: flags, --help, --version, errors.
import '../core/no-inspector.js'; // first: SIGUSR1/SIGUSR2 never open the inspector
import { resolveConfig } from '../config/resolve.js';
import { finish, launch } from './launch.js';
import { loadOptions } from './oclif-config.js';
import { reportFailure } from './report.js';

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-')) {
    try {
      finish(await launch(resolveConfig({ script: first, args: argv.slice(1) })));
    } catch (err) {
      reportFailure('dragon', err);
    }
    return;
  }
  try {
    const { default: Dragon } = await import('../../commands/dragon.js');
    await Dragon.run(argv, loadOptions('dragon'));
  } catch (err) {
    reportFailure('dragon', err); // before the command ran (oclif could not load)
  }
}
