// The shapes shared by every workload manager module and by their consumers
// (the launcher, dragon-cleanup). See mn-brief "src/runtime/wlm/ API".
export type WlmKind = 'local' | 'slurm' | 'pbs' | 'ssh';
export const WLM_KINDS: readonly WlmKind[] = ['local', 'slurm', 'pbs', 'ssh'];

export interface Allocation {
  kind: WlmKind;
  /** Node names, allocation order, deduplicated and normalised (short names as the WLM uses them). */
  nodes: string[];
  /** Job id ('' when none: local, ssh). */
  jobId: string;
}

export interface DetectOptions {
  wlm?: WlmKind;
  hostfile?: string;
  hosts?: string[];
  env: NodeJS.ProcessEnv;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  /** Full environment for the launcher process (caller's env + additions, sizing vars removed). */
  env: NodeJS.ProcessEnv;
  /** Text to write to the launcher's stdin then close (ssh: settings+token travel this way, never argv); null: stdin ignored. */
  stdin: string | null;
  /**
   * Files made for this launch (pbsdsh: the secrets file, which no other
   * channel can carry). The caller removes them once every backend has
   * checked in, and at teardown. Absent: nothing to remove.
   */
  files?: string[];
}
