// Which workload manager this run is under, and its nodes.
// Order: --wlm (or DRAGON_WLM) if given; else --hostfile/--hosts (asking
// for hosts by name is explicit, it beats what the environment says);
// else SLURM_JOB_ID -> slurm; PBS_JOBID or PBS_NODEFILE -> pbs; else local.
import { Errors } from '../errors/errors.js';
import { localAllocation } from './local.js';
import { readNodefile } from './pbs.js';
import { slurmNodes } from './slurm.js';
import { parseHosts, readHostfile } from './ssh.js';
import { WLM_KINDS, type Allocation, type DetectOptions, type WlmKind } from './types.js';

function chooseKind(o: DetectOptions): WlmKind {
  const hostsGiven = o.hostfile !== undefined || (o.hosts !== undefined && o.hosts.length > 0);
  if (o.wlm !== undefined) {
    if (!WLM_KINDS.includes(o.wlm)) throw Errors.badConfig('--wlm', String(o.wlm), `expected one of ${WLM_KINDS.join(', ')}`);
    if (hostsGiven && o.wlm !== 'ssh') {
      throw Errors.usage(`--hostfile/--hosts go with --wlm ssh, not --wlm ${o.wlm}`, `Leave out --wlm (hosts mean ssh) or leave out the hosts to use the ${o.wlm} allocation`);
    }
    return o.wlm;
  }
  if (hostsGiven) return 'ssh';
  if (o.env.SLURM_JOB_ID) return 'slurm';
  if (o.env.PBS_JOBID || o.env.PBS_NODEFILE) return 'pbs';
  return 'local';
}

export async function detectAllocation(o: DetectOptions): Promise<Allocation> {
  const env = o.env;
  const kind = chooseKind(o);
  switch (kind) {
    case 'local':
      return localAllocation();
    case 'slurm':
      if (!env.SLURM_JOB_ID) {
        throw Errors.usage('--wlm slurm: this is not inside a Slurm job (SLURM_JOB_ID is not set)', 'Run inside an allocation (salloc -N 2 dragon app.mjs, or sbatch), or leave out --wlm');
      }
      return { kind, nodes: await slurmNodes(env), jobId: env.SLURM_JOB_ID };
    case 'pbs':
      if (!env.PBS_NODEFILE) {
        throw Errors.usage('--wlm pbs: this is not inside a PBS job (PBS_NODEFILE is not set)', 'Run inside a PBS job (qsub, qsub -I), or leave out --wlm');
      }
      return { kind, nodes: readNodefile(env).nodes, jobId: env.PBS_JOBID ?? '' };
    case 'ssh': {
      const fromFile = o.hostfile !== undefined ? readHostfile(o.hostfile) : [];
      const given = o.hosts !== undefined && o.hosts.length > 0 ? parseHosts(o.hosts) : [];
      if (fromFile.length + given.length === 0) {
        throw Errors.usage('--wlm ssh needs the hosts to use', 'Pass --hostfile FILE (one host per line) or --hosts node1,node2');
      }
      return { kind, nodes: [...new Set([...fromFile, ...given])], jobId: '' };
    }
  }
}
