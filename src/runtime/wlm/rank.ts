// Which node of the step a backend is on, from what its launcher set. The
// first variable present wins; the order puts ours first and the
// least precise last.
import { Errors } from '../errors/errors.js';

const RANK_VARS = [
  'DRAGON_NODE_INDEX', // ours: ssh, pbsdsh, local
  'SLURM_PROCID', // srun: with --ntasks-per-node=1 the task rank is the node's place in the step
  'SLURM_NODEID', // srun, if the task variables were scrubbed
  'PALS_RANKID', // HPE Cray PALS mpiexec
  'PMI_RANK', // MPICH Hydra, Intel MPI, PALS
  'OMPI_COMM_WORLD_RANK', // Open MPI
  'PMIX_RANK', // PMIx launchers (Open MPI 5 / PRRTE)
  'PBS_VNODENUM', // pbsdsh: an index into PBS_NODEFILE, right only with one line per node
] as const;

export function nodeIndexFromEnv(env: NodeJS.ProcessEnv): number {
  for (const name of RANK_VARS) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (/^\d+$/.test(v.trim()) && Number.isSafeInteger(Number(v))) return Number(v);
    // Ours must be right; a launcher's odd value is skipped for the next one.
    if (name === 'DRAGON_NODE_INDEX') throw Errors.badEnv(name, v, 'a node index (0, 1, 2...)');
  }
  return 0;
}
