// The environment of a user process: the caller's (or, for the head, the
// frontend's), minus what belongs to our own launch, plus the variables
// that place the process in the run-time.
//
// Scrubbed: the job's secret token and the backend's settings; the
// variables a workload manager gives the *step that started our backends*
// (SLURM_STEP_*, the task's rank and ids, PMI/PMIx, Open MPI and PALS rank
// variables), so an MPI program started under Dragon does not believe it
// is a rank of our backend step. Allocation-wide variables (SLURM_JOB_*,
// GPU visibility) are kept.
import { ENV } from '../core/runtime-env.js';

const SCRUB_NAMES = new Set([
  'DRAGON_TOKEN',
  'DRAGON_BACKEND',
  // set by this node's services when it has a transport agent, never inherited
  'DRAGON_GATEWAY',
  'DRAGON_PARENT_PUID',
  'DRAGON_PROCESS_NAME',
  'DRAGON_DAEMON',
  'SLURM_PROCID',
  'SLURM_LOCALID',
  'SLURM_TASK_PID',
  'SLURM_GTIDS',
  'SLURM_SRUN_COMM_HOST',
  'SLURM_SRUN_COMM_PORT',
  'SLURM_LAUNCH_NODE_IPADDR',
]);
const SCRUB_PREFIXES = ['SLURM_STEP_', 'PMI', 'PMIX_', 'OMPI_COMM_WORLD_', 'PALS_'];

export function scrubbed(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || SCRUB_NAMES.has(k) || SCRUB_PREFIXES.some((p) => k.startsWith(p))) continue;
    out[k] = v;
  }
  return out;
}

/** What every process of this node's run-time gets (besides its own puid). */
export interface RuntimeVars {
  rtid: string;
  defaultPool: Uint8Array;
  gsChannel: Uint8Array;
  /** The transport agent's gateway channel (cross-node channels), when the node has one. */
  gateway?: Uint8Array | undefined;
  hostname: string;
  nodeIndex: number;
  logLevel: string;
}

export interface Identity {
  puid: number;
  parentPuid?: number;
  name?: string;
  daemon?: boolean;
}

export function runtimeVars(rt: RuntimeVars): Record<string, string> {
  const gateway: Record<string, string> = rt.gateway ? { [ENV.gateway]: Buffer.from(rt.gateway).toString('base64') } : {};
  return {
    ...gateway,
    [ENV.rtid]: rt.rtid,
    [ENV.defaultPool]: Buffer.from(rt.defaultPool).toString('base64'),
    [ENV.gsChannel]: Buffer.from(rt.gsChannel).toString('base64'),
    [ENV.hostname]: rt.hostname,
    [ENV.nodeIndex]: String(rt.nodeIndex),
    [ENV.logLevel]: rt.logLevel,
  };
}

export function processEnv(base: Readonly<Record<string, string | undefined>>, rt: Record<string, string>, id: Identity): Record<string, string> {
  const env: Record<string, string> = { ...scrubbed(base), ...rt, [ENV.puid]: String(id.puid) };
  if (id.parentPuid !== undefined) env[ENV.parentPuid] = String(id.parentPuid);
  if (id.name !== undefined) env[ENV.name] = id.name;
  if (id.daemon) env[ENV.daemon] = '1';
  return env;
}

/** The environment of an idle warm process: the run-time's, no identity yet. */
export function warmEnv(base: Readonly<Record<string, string | undefined>>, rt: Record<string, string>): Record<string, string> {
  const env = { ...scrubbed(base), ...rt };
  delete env[ENV.puid];
  return env;
}
