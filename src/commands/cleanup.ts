// `dragon-cleanup [--dry-run]`: removes what this user's dead run-times left
// on this node. The rules (what is dead, what is ours) live in
// src/runtime/cleanup/; this class is the command line around them.
import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import { cleanupLocal } from '../runtime/cleanup/index.js';
import { reportFailure } from '../runtime/cli/report.js';

export default class Cleanup extends Command {
  static override summary = "Remove what this user's dead Dragon run-times left on this node.";
  static override description = `After a run-time was killed without its teardown (kill -9 of the whole tree, a crashed node service...), removes its leftover processes, its shared-memory segments in /dev/shm (dragon-<user>-<run-time id>-*) and its directory /tmp/dragon-<user>/<run-time id>/. Prints each thing it removes.

Only this user's things, only dead run-times: a run-time is alive while its backend holds the lock on /tmp/dragon-<user>/<run-time id>/lock, so cleaning while other runs are going on is safe. Processes are recognised by DRAGON_RT_UID in their environment. Segments of a run-time without a directory (the library used without the launcher) are removed only when no process of yours maps them or carries their run-time id. Running it twice is harmless.`;

  static override examples = [
    { description: 'See what would be removed', command: '<%= config.bin %> --dry-run' },
    { description: 'Remove it', command: '<%= config.bin %>' },
  ];

  static override flags = {
    'dry-run': Flags.boolean({ summary: 'Print what would be removed; remove nothing.' }),
    help: Flags.help({ char: 'h' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Cleanup);
    const result = await cleanupLocal({
      dryRun: flags['dry-run'],
      report: (line) => this.log(line),
      warn: (line) => process.stderr.write(`dragon-cleanup: ${line}\n`),
    });
    if (result.removed === 0 && result.failed === 0) {
      const kept = result.plan.kept.length;
      this.log(`nothing to clean${kept ? ` (${kept} live run-time${kept > 1 ? 's' : ''} left alone)` : ''}`);
    }
    if (result.failed > 0) process.exitCode = 1;
  }

  override async catch(err: Error): Promise<void> {
    reportFailure('dragon-cleanup', err);
  }
}
