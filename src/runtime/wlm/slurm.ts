// Slurm: the nodes of the job and the one srun step that starts a process
// on each of them.
import { Errors } from '../errors/errors.js';
import { capture, findOnPath, firstLine, requireOnPath } from './exec.js';
import { expandHostlist } from './hostlist.js';
import type { Allocation, LaunchPlan } from './types.js';

/**
 * Variables srun reads as defaults for options we do not pass, inherited
 * from `sbatch -c 4 --mem-per-cpu=... --ntasks-per-node=8 --hint=...` or an
 * enclosing step. Left in, they would shape our step instead of
 * "one task per node, every CPU, all the memory, all the GPUs of the job":
 *  - CPUs per task (SLURM_CPUS_PER_TASK, SRUN_CPUS_PER_TASK since 22.05,
 *    SLURM_TRES_PER_TASK=cpu:4 since 23.x) would confine the backend, and
 *    so every process it starts, to that many CPUs;
 *  - memory per CPU/node/GPU: a step limit below the job's, and srun fails
 *    outright when two of them come in at once;
 *  - tasks per node/core/socket/GPU and SLURM_DISTRIBUTION (plane=...)
 *    contradict --ntasks-per-node=1; SLURM_NTASKS/SLURM_NPROCS are
 *    overridden by --ntasks but go too, for a clean step;
 *  - --hint / threads per core / -B are refused together with --cpu-bind;
 *  - SLURM_EXACT / SLURM_EXCLUSIVE give the step only the CPUs it asks for
 *    (one); GPU requests per task/node/socket give the
 *    backend a subset of the job's GPUs (a step that asks for none gets all
 *    of them);
 *  - SLURM_CPU_BIND*, SLURM_MEM_BIND*: binding of the previous step;
 *  - SLURM_LABELIO, SLURM_STDOUTMODE/STDERRMODE/STDINMODE, SLURM_UNBUFFEREDIO:
 *    would label or redirect the backends' output, which the launcher reads;
 *  - SLURM_EXPORT_ENV, SLURM_MPI_TYPE, SLURM_OVERLAP: we pass our own on
 *    the line (it wins), gone so the step's environment says what it got.
 * Allocation-wide facts (SLURM_JOB_*, SLURM_NNODES, SLURM_CPUS_ON_NODE,
 * SLURM_GPUS_ON_NODE, CUDA_VISIBLE_DEVICES) stay: processes may want them.
 */
export const SLURM_SIZING_NAMES: readonly string[] = [
  'SLURM_CPUS_PER_TASK',
  'SRUN_CPUS_PER_TASK',
  'SLURM_TRES_PER_TASK',
  'SLURM_CPUS_PER_GPU',
  'SLURM_MEM_PER_CPU',
  'SLURM_MEM_PER_NODE',
  'SLURM_MEM_PER_GPU',
  'SLURM_DISTRIBUTION',
  'SLURM_DIST_PLANESIZE',
  'SLURM_ARBITRARY_NODELIST',
  'SLURM_NTASKS',
  'SLURM_NPROCS',
  'SLURM_HINT',
  'SLURM_THREADS_PER_CORE',
  'SLURM_CORES_PER_SOCKET',
  'SLURM_SOCKETS_PER_NODE',
  'SLURM_EXACT',
  'SLURM_EXCLUSIVE',
  'SLURM_GPUS',
  'SLURM_GPUS_PER_TASK',
  'SLURM_GPUS_PER_NODE',
  'SLURM_GPUS_PER_SOCKET',
  'SLURM_GRES',
  'SLURM_GPU_BIND',
  'SLURM_TRES_BIND',
  'SLURM_LABELIO',
  'SLURM_STDOUTMODE',
  'SLURM_STDERRMODE',
  'SLURM_STDINMODE',
  'SLURM_UNBUFFEREDIO',
  'SLURM_EXPORT_ENV',
  'SLURM_MPI_TYPE',
  'SLURM_OVERLAP',
];
export const SLURM_SIZING_PREFIXES: readonly string[] = ['SLURM_NTASKS_PER_', 'SLURM_CPU_BIND', 'SLURM_MEM_BIND'];

export function isSlurmSizingVar(name: string): boolean {
  return SLURM_SIZING_NAMES.includes(name) || SLURM_SIZING_PREFIXES.some((p) => name.startsWith(p));
}

/** How long scontrol may take to answer (a hung slurmctld). */
const SCONTROL_TIMEOUT_MS = 15_000;

/** The job's node list: scontrol when it is on PATH (it knows every site's notation), else our own expander. */
export async function slurmNodes(env: NodeJS.ProcessEnv): Promise<string[]> {
  const list = env.SLURM_JOB_NODELIST || env.SLURM_NODELIST;
  if (!list) {
    throw Errors.usage(
      `SLURM_JOB_ID=${env.SLURM_JOB_ID} is set but SLURM_JOB_NODELIST is not`,
      'Run inside the job started by sbatch/salloc (its variables intact), or pass --wlm local',
    );
  }
  let nodes: string[];
  const scontrol = findOnPath('scontrol', env);
  if (scontrol) {
    const r = await capture(scontrol, ['show', 'hostnames', list], env, SCONTROL_TIMEOUT_MS);
    if (r.code !== 0) {
      throw Errors.startup(
        `scontrol show hostnames ${list} failed: ${r.timedOut ? `no answer within ${SCONTROL_TIMEOUT_MS / 1000} s` : firstLine(r.stderr) || (r.code === null ? 'killed' : `exit ${r.code}`)}`,
        'Check that Slurm works here (scontrol ping), or pass --wlm local',
      );
    }
    nodes = [...new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean))];
  } else {
    nodes = expandHostlist(list);
  }
  // SLURM_JOB_NUM_NODES is Slurm's own count: a list that disagrees is a
  // stale or hand-made SLURM_JOB_NODELIST, and we would start backends on
  // nodes the job does not have.
  const count = env.SLURM_JOB_NUM_NODES ?? env.SLURM_NNODES;
  if (count !== undefined && /^\d+$/.test(count) && Number(count) !== nodes.length) {
    throw Errors.usage(
      `SLURM_JOB_NODELIST=${list} names ${nodes.length} node${nodes.length === 1 ? '' : 's'} but SLURM_JOB_NUM_NODES=${count}`,
      'Do not set SLURM_JOB_* variables by hand; run inside the job sbatch/salloc started',
    );
  }
  if (nodes.length === 0) throw Errors.usage(`SLURM_JOB_NODELIST=${list} names no node`, 'Run inside the job sbatch/salloc started');
  return nodes;
}

/** The launcher's environment: the caller's, minus sizing variables, plus the secrets. */
export function slurmEnv(env: NodeJS.ProcessEnv, secrets: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !isSlurmSizingVar(k)) out[k] = v;
  return { ...out, ...secrets };
}

/** One srun step, one task on each of `nodes`. */
export function slurmPlan(a: Allocation, nodes: string[], argv: string[], env: NodeJS.ProcessEnv, secrets: Record<string, string>): LaunchPlan {
  const srun = requireOnPath('srun', env, 'needed to start a process on each node of the Slurm job', 'Load Slurm (e.g. module load slurm) or pass --wlm local to use this node only');
  const n = nodes.length;
  const args = [
    `--nodes=${n}`,
    `--ntasks=${n}`,
    '--ntasks-per-node=1',
    '--overlap', // the user's own steps (and dragon-cleanup) can run beside ours
    '--export=ALL', // sbatch --export=NONE would otherwise drop our variables
    '--mpi=none',
    '--input=none',
    '--cpu-bind=none',
  ];
  // --nodelist is refused on some sites: only when a strict subset is asked for.
  const all = new Set(a.nodes);
  if (n < all.size || nodes.some((x) => !all.has(x))) args.push(`--nodelist=${nodes.join(',')}`);
  return { command: srun, args: [...args, '--', ...argv], env: slurmEnv(env, secrets), stdin: null };
}
