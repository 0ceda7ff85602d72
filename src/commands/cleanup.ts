// `dragon-cleanup [--dry-run] [--local]`: removes what this user's dead
// run-times left, on every node of the allocation it runs in (or on this
// node only). The rules (what is dead, what is ours) live in
// src/runtime/cleanup/; reaching the other nodes in
// src/runtime/cleanup/across-nodes.ts; this class is the command line.
import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import { WLMS } from '../../schemas/config.js';
import { cleanupAcrossNodes, cleanupLocalJson } from '../runtime/cleanup/across-nodes.js';
import { cleanupLocal } from '../runtime/cleanup/index.js';
import { reportFailure } from '../runtime/cli/report.js';
import { durationFromText } from '../runtime/config/text.js';
import { Errors } from '../runtime/errors/errors.js';
import { detectAllocation, type WlmKind } from '../runtime/wlm/index.js';

const DEFAULT_TIMEOUT = '60s';

export default class Cleanup extends Command {
  static override summary = "Remove what this user's dead Dragon run-times left, on every node of the allocation.";
  static override description = `After a run-time was killed without its teardown (kill -9 of the whole tree, a crashed node service...), removes its leftover processes, its shared-memory segments in /dev/shm (dragon-<user>-<run-time id>-*) and its directory /tmp/dragon-<user>/<run-time id>/. Prints each thing it removes.

Only this user's things, only dead run-times: a run-time is alive while its backend holds the lock on /tmp/dragon-<user>/<run-time id>/lock, so cleaning while other runs are going on is safe. Processes are recognised by DRAGON_RT_UID in their environment. Segments of a run-time without a directory (the library used without the launcher) are removed only when no process of yours maps them or carries their run-time id. Running it twice is harmless.

Which nodes: inside a Slurm job (SLURM_JOB_ID set) every node of the job, reached with one srun step (--overlap, so it runs beside the job's other steps); inside a PBS job (PBS_NODEFILE set) every node, through mpiexec or pbsdsh; with --hostfile/--hosts every host named, through ssh -o BatchMode=yes; otherwise, or with --local, this node only. --wlm chooses instead of the detection. On each node it runs itself (this node's node binary and this package's bin/dragon-cleanup.js, so both paths must exist on every node: a shared filesystem) with --local, and prints the reports prefixed with the node's name. A node that does not report within --timeout is named. Exit status 1 when a node did not report or something could not be removed.`;

  static override examples = [
    { description: 'See what would be removed (on every node of the job, inside one)', command: '<%= config.bin %> --dry-run' },
    { description: 'Remove it', command: '<%= config.bin %>' },
    { description: 'Over ssh, on the hosts of a file', command: '<%= config.bin %> --hostfile hosts.txt' },
    { description: 'This node only', command: '<%= config.bin %> --local' },
  ];

  static override flags = {
    'dry-run': Flags.boolean({ summary: 'Print what would be removed; remove nothing.' }),
    local: Flags.boolean({ summary: 'Clean this node only, even inside an allocation.', exclusive: ['wlm', 'hostfile', 'hosts'] }),
    wlm: Flags.string({ options: [...WLMS], helpValue: WLMS.join('|'), summary: 'Workload manager whose nodes to clean (default: detected).' }),
    hostfile: Flags.string({ helpValue: '<file>', summary: 'Clean the hosts listed in FILE (one per line, # comments) over ssh.' }),
    hosts: Flags.string({ helpValue: '<host,...>', summary: 'Clean these hosts over ssh.', multiple: true }),
    timeout: Flags.string({ helpValue: '<duration>', summary: `How long to wait for the nodes' reports: 30s, 2m... (default ${DEFAULT_TIMEOUT}).` }),
    json: Flags.boolean({ summary: 'Print one JSON object per line (for programs; each names its node).' }),
    help: Flags.help({ char: 'h' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Cleanup);
    const dryRun = flags['dry-run'];
    const timeoutText = flags.timeout ?? DEFAULT_TIMEOUT;
    const deadlineMs = durationFromText(timeoutText);
    if (typeof deadlineMs !== 'number' || deadlineMs <= 0) {
      throw Errors.usage(`--timeout ${timeoutText}: not a duration`, 'Give a duration like 30s, 2m or 500ms');
    }

    if (!flags.local) {
      const allocation = await detectAllocation({
        wlm: flags.wlm as WlmKind | undefined,
        hostfile: flags.hostfile,
        hosts: flags.hosts,
        env: process.env,
      });
      if (allocation.kind !== 'local') {
        const ok = await cleanupAcrossNodes(allocation, {
          dryRun,
          deadlineMs,
          env: process.env,
          json: flags.json,
          print: (line) => this.log(line),
          warn: (line) => process.stderr.write(`dragon-cleanup: ${line}\n`),
        });
        if (!ok) process.exitCode = 1;
        return;
      }
    }

    if (flags.json) {
      const result = await cleanupLocalJson((line) => this.log(line), { dryRun });
      if (!result || result.failed > 0) process.exitCode = 1;
      return;
    }
    const result = await cleanupLocal({
      dryRun,
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
