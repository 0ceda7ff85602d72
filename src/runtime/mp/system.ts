// The job as the multiprocessing-shaped API sees it: its nodes (index,
// hostname, CPUs) and cpuCount(), the CPUs of the whole job. Inside a
// run-time Global Services knows every node (each backend reports its CPUs
// in its hello); outside one, the job is this machine. Asked once per
// process: the node set of a run-time never changes.
import { availableParallelism, hostname } from 'node:os';
import type { SystemNode, SystemReply } from '../../../schemas/gs.js';
import { GsClient } from '../api/gs-client.js';
import { runtimeEnv } from '../core/runtime-env.js';

export type { SystemNode };

let nodes: Promise<SystemNode[]> | undefined;

/** The nodes of the job: `[{ index, host, cpus }]` by index (this machine alone outside a run-time). */
export function jobNodes(): Promise<SystemNode[]> {
  if (nodes) return nodes.then((n) => n.map((x) => ({ ...x })));
  if (!runtimeEnv()) {
    nodes = Promise.resolve([{ index: 0, host: hostname(), cpus: availableParallelism() }]);
  } else {
    nodes = GsClient.get('jobNodes')
      .request<SystemReply>({ type: 'system' }, 'jobNodes')
      .then((r) => r.nodes);
    nodes.catch(() => (nodes = undefined)); // asked again next time
  }
  return jobNodes();
}

/** The CPUs of the whole job: the sum over its nodes (os.availableParallelism() outside a run-time). */
export async function cpuCount(): Promise<number> {
  let n = 0;
  for (const node of await jobNodes()) n += node.cpus;
  return n;
}
