// The virtual Slurm cluster (scripts/virtual-cluster) from the tests: is it
// up, run a command on its login host ctl (`exec`) or inside a node (`on`).
// `npm run test:cluster` brings it up before test/cluster/ runs.
import { spawnSync } from 'node:child_process';
import { execa, type Options } from 'execa';
import { root } from './cli.js';

export const script = `${root}scripts/virtual-cluster`;

export interface Result {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** True when `scripts/virtual-cluster status` says the cluster is up. */
export function clusterUp(): boolean {
  return process.getuid?.() === 0 && spawnSync(script, ['status'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
}

/** Why the cluster tests cannot run here, or null when they can. */
export function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (the virtual cluster uses namespaces)';
  if (!clusterUp()) return 'the virtual cluster is down (scripts/virtual-cluster up 3, or npm run test:cluster)';
  return null;
}

async function run(args: string[], opts: Options): Promise<Result> {
  const r = await execa(script, args, { reject: false, stdin: 'ignore', timeout: 120_000, ...opts } as Options);
  return { exitCode: r.exitCode, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** `args` on the login host ctl with SLURM_CONF set, e.g. cluster(['srun', '-N', '3', 'hostname']). */
export function cluster(args: string[], opts: Options = {}): Promise<Result> {
  return run(['exec', ...args], opts);
}

/** `args` inside node `node` ('node2'): its network, hostname, /tmp, /dev/shm and PIDs. */
export function onNode(node: string, args: string[], opts: Options = {}): Promise<Result> {
  return run(['on', node, ...args], opts);
}
