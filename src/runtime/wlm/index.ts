// Workload managers: what the allocation is (detect.ts), which of its nodes
// to use, and how to start one process on each of them (one module per
// WLM). The launcher and dragon-cleanup are the users.
import { Errors } from '../errors/errors.js';
import { compressHostlist } from './hostlist.js';
import { localPlan } from './local.js';
import { pbsPlans } from './pbs.js';
import { slurmPlan } from './slurm.js';
import { sshPlans } from './ssh.js';
import type { Allocation, LaunchPlan } from './types.js';

export type { Allocation, DetectOptions, LaunchPlan, WlmKind } from './types.js';
export { WLM_KINDS } from './types.js';
export { detectAllocation } from './detect.js';
export { nodeIndexFromEnv } from './rank.js';
export { nodeInfo, type NodeInfo } from './node-info.js';
export { explainLaunchFailure } from './explain.js';
export { loadSecrets, parseSecrets, readSecretsFromStdin, formatSecrets, SECRETS_FILE, SECRETS_STDIN } from './secrets.js';
export { compressHostlist, expandHostlist } from './hostlist.js';
export { shellQuote } from './remote.js';

const plural = (n: number) => `${n} node${n === 1 ? '' : 's'}`;

function largerAllocation(a: Allocation, n: number): string {
  switch (a.kind) {
    case 'slurm':
      return `or ask Slurm for more (salloc -N ${n} / sbatch -N ${n})`;
    case 'pbs':
      return `or ask PBS for more (qsub -l select=${n})`;
    case 'ssh':
      return 'or add hosts to --hostfile/--hosts';
    case 'local':
      return 'or run inside a Slurm or PBS job, or give the hosts with --hostfile/--hosts';
  }
}

/** n = 0: all nodes; otherwise the first n, in allocation order. */
export function selectNodes(a: Allocation, n: number): string[] {
  if (!Number.isSafeInteger(n) || n < 0) throw Errors.usage(`-N ${n}: not a number of nodes`, 'Give a whole number of nodes, 0 for all');
  if (n === 0) return [...a.nodes];
  if (n > a.nodes.length) {
    const where = a.kind === 'local' ? 'without an allocation there is 1 node' : `the allocation has ${plural(a.nodes.length)}`;
    throw Errors.usage(
      `-N ${n}: ${where} (${compressHostlist(a.nodes)})`,
      `Ask for at most ${a.nodes.length} (-N ${a.nodes.length} or -N 0 for all), ${largerAllocation(a, n)}`,
    );
  }
  return a.nodes.slice(0, n);
}

/**
 * How to start `argv` once on each of `nodes` (see the brief and each WLM's
 * module): slurm and pbs/mpiexec give ONE plan for all nodes, in which
 * rank i runs on nodes[i] (srun without --nodelist picks the nodes itself:
 * the backends report their host name, match on that); ssh and pbsdsh give
 * one plan per node, plan i for nodes[i]; local gives one plan.
 */
export async function launchPlans(
  a: Allocation,
  nodes: string[],
  argv: string[],
  env: NodeJS.ProcessEnv,
  secrets: Record<string, string>,
): Promise<LaunchPlan[]> {
  if (argv.length === 0) throw new TypeError('launchPlans: argv is empty');
  if (nodes.length === 0) throw Errors.usage('no node to start on', 'Use -N 0 (all nodes) or a positive count');
  if (a.kind !== 'local') {
    const known = new Set(a.nodes);
    const stray = nodes.filter((x) => !known.has(x));
    if (stray.length) throw Errors.usage(`${compressHostlist(stray)} ${stray.length === 1 ? 'is' : 'are'} not in the allocation (${compressHostlist(a.nodes)})`, 'Choose nodes of the allocation');
  }
  switch (a.kind) {
    case 'local':
      return [localPlan(argv, env, secrets)];
    case 'slurm':
      return [slurmPlan(a, nodes, argv, env, secrets)];
    case 'pbs':
      return pbsPlans(nodes, argv, env, secrets);
    case 'ssh':
      return sshPlans(nodes, argv, env, secrets);
  }
}
