// No workload manager: this machine is the only node. The launcher starts
// its backend as a child process itself; the plan here (argv run directly)
// exists so that every kind answers launchPlans() the same way.
import { hostname } from 'node:os';
import type { Allocation, LaunchPlan } from './types.js';

export function localAllocation(): Allocation {
  return { kind: 'local', nodes: [hostname()], jobId: '' };
}

export function localPlan(argv: string[], env: NodeJS.ProcessEnv, secrets: Record<string, string>): LaunchPlan {
  const [command, ...args] = argv;
  return { command: command ?? process.execPath, args, env: { ...env, ...secrets, DRAGON_NODE_INDEX: '0' }, stdin: null };
}
