// `dragon [FLAGS] SCRIPT [ARGS...]`: the frontend of the run-time. This class
// is the command line's contract (flags, help, README reference); the work
// is done by resolveConfig() and runDragon() (src/runtime/).
import * as Args from '@oclif/core/args';
import { Command } from '@oclif/core/command';
import * as Flags from '@oclif/core/flags';
import { CONFIG_ENV, LOG_LEVELS, WLMS } from '../../schemas/config.js';
import { splitAtScript } from '../runtime/cli/argv.js';
import { finish, launch } from '../runtime/cli/launch.js';
import { reportFailure } from '../runtime/cli/report.js';
import { resolveConfig } from '../runtime/config/resolve.js';

const env = (name: string) => ` [env: ${name}]`;

export default class Dragon extends Command {
  static override summary = 'Run SCRIPT as the head process of a Dragon run-time.';
  static override description = `Starts the run-time (Local and Global Services and the node's default memory pool) on this machine, or inside a Slurm or PBS job on every node of the allocation (one srun step / mpiexec; --hostfile/--hosts: over ssh), runs SCRIPT (.js, .mjs or .ts) with node as the head process, relays stdin to it and the output of every process to stdout/stderr, and exits with the head's exit code (128+n if a signal killed it). When the head exits, every process it started is terminated and every segment removed.

Everything after SCRIPT goes to the script untouched; flags of dragon go before SCRIPT. Each flag can also be set by the DRAGON_* variable shown; a flag wins over its variable.

Ctrl-C or SIGTERM: graceful teardown (SIGTERM to the processes, --grace-period, then SIGKILL); a second one: SIGKILL at once. SIGUSR1/SIGUSR2 are passed on to the head (its process.on('SIGUSR1') hears them); every process of the run-time ignores them unless it listens: they never open Node's inspector nor end a process. A node lost during the run (its backend died, or silent for --heartbeat-timeout) ends the job with exit 1. Service logs: /tmp/dragon-<user>/<run-time id>/logs/ while running.`;

  static override usage = '[FLAGS] SCRIPT [ARGS...]';

  static override examples = [
    { description: 'Run an example', command: '<%= config.bin %> examples/hello.mjs' },
    { description: 'Arguments after SCRIPT are the script\'s, even flag-like ones', command: '<%= config.bin %> --label app.mjs --verbose -N 3' },
    { description: 'Settings from the environment', command: 'DRAGON_POOL_SIZE=2G DRAGON_LOG_LEVEL=info <%= config.bin %> app.ts' },
    { description: 'On 3 nodes of a Slurm allocation', command: 'salloc -N 3 <%= config.bin %> --label app.mjs' },
  ];

  static override args = {
    script: Args.string({ required: true, description: 'The head process: a .js, .mjs or .ts file, run with node.' }),
  };

  static override flags = {
    label: Flags.boolean({ allowNo: true, summary: `Prefix every output line with [host:puid].${env(CONFIG_ENV.label)}` }),
    'log-level': Flags.string({ helpValue: LOG_LEVELS.join('|'), summary: `Detail of the service logs (default warn).${env(CONFIG_ENV.logLevel)}` }),
    'pool-size': Flags.string({ helpValue: '<size>', summary: `Default pool of each node: 512M, 2G... or a share of the free /dev/shm (default 10%; 100% = the largest pool that fits with its ~1% metadata).${env(CONFIG_ENV.poolSize)}` }),
    'grace-period': Flags.string({ helpValue: '<duration>', summary: `Time between SIGTERM and SIGKILL at teardown: 2s, 500ms... (default 2s).${env(CONFIG_ENV.gracePeriod)}` }),
    nodes: Flags.string({ char: 'N', helpValue: '<n>', summary: `Nodes of the allocation to use (default 0 = all).${env(CONFIG_ENV.nodes)}` }),
    wlm: Flags.string({ helpValue: WLMS.join('|'), summary: `Workload manager (default: detected from SLURM_JOB_ID, PBS_JOBID, --hostfile/--hosts; else local).${env(CONFIG_ENV.wlm)}` }),
    hostfile: Flags.string({ helpValue: '<file>', summary: `Run over ssh on the hosts this file names, one per line.${env(CONFIG_ENV.hostfile)}` }),
    hosts: Flags.string({ helpValue: '<h1,h2,...>', summary: `Run over ssh on these hosts.${env(CONFIG_ENV.hosts)}` }),
    'heartbeat-timeout': Flags.string({ helpValue: '<duration>', summary: `End the job when a node is silent this long: 20s, 0 = never (default 20s).${env(CONFIG_ENV.heartbeatTimeout)}` }),
    'print-config': Flags.boolean({ summary: 'Print the resolved settings as JSON and exit without running SCRIPT.' }),
    help: Flags.help({ char: 'h' }),
    version: Flags.version(),
  };

  async run(): Promise<void> {
    // oclif would read flags after SCRIPT too: cut the line at SCRIPT first.
    const { flags: ours, script, args } = splitAtScript(this.argv, Dragon.flags);
    const { flags } = await this.parse(Dragon, script === undefined ? ours : [...ours, '--', script]);
    const config = resolveConfig({
      flags: {
        label: flags.label,
        logLevel: flags['log-level'],
        poolSize: flags['pool-size'],
        gracePeriod: flags['grace-period'],
        nodes: flags.nodes,
        wlm: flags.wlm,
        hostfile: flags.hostfile,
        hosts: flags.hosts,
        heartbeatTimeout: flags['heartbeat-timeout'],
      },
      script,
      args,
    });
    if (flags['print-config']) return this.log(JSON.stringify(config, null, 2));
    finish(await launch(config));
  }

  override async catch(err: Error): Promise<void> {
    reportFailure('dragon', err);
  }
}
