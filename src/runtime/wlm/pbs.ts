// PBS Pro / Torque (and PALS on HPE Cray systems): the nodes from
// PBS_NODEFILE, one rank per node through the mpiexec found on PATH, or
// pbsdsh when there is none.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Errors } from '../errors/errors.js';
import { capture, findOnPath } from './exec.js';
import { remoteCommand, remoteSettings } from './remote.js';
import { SECRETS_FILE } from './secrets.js';
import type { LaunchPlan } from './types.js';

export interface Nodefile {
  /** Unique nodes, in the order of their first line. */
  nodes: string[];
  /** Line index (0-based) of each node's first line: pbsdsh -n takes it. */
  firstLine: Map<string, number>;
}

const shortName = (h: string) => h.split('.')[0]!;

/**
 * PBS_NODEFILE has one line per slot (a 4-CPU chunk is 4 lines) and may
 * spell a host with or without its domain. Normalised here: trimmed,
 * lower-cased (DNS names ignore case), the first word only; a host is a
 * duplicate of an earlier one if their first labels match (node1 and
 * node1.cluster are one node). The first spelling is kept as is, domain
 * included: that is the name PBS and mpiexec know, and stripping it could
 * give a name the login node cannot resolve. Host names reported by the
 * backends (os.hostname()) should be compared by first label too.
 */
export function parseNodefile(text: string): Nodefile {
  const nodes: string[] = [];
  const firstLine = new Map<string, number>();
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const host = (raw.replace(/#.*/, '').trim().split(/\s+/)[0] ?? '').toLowerCase();
    if (!host) return;
    const key = shortName(host);
    if (seen.has(key)) return;
    seen.add(key);
    nodes.push(host);
    firstLine.set(host, i);
  });
  return { nodes, firstLine };
}

export function readNodefile(env: NodeJS.ProcessEnv): Nodefile {
  const path = env.PBS_NODEFILE;
  if (!path) throw Errors.usage('PBS_NODEFILE is not set', 'Run inside the PBS job (qsub/qsub -I) that owns the nodes, or pass --wlm local');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw Errors.usage(`PBS_NODEFILE=${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'Run inside the PBS job that owns the nodes, or pass --wlm local');
  }
  const nf = parseNodefile(text);
  if (nf.nodes.length === 0) throw Errors.usage(`PBS_NODEFILE=${path} names no node`, 'Run inside the PBS job that owns the nodes, or pass --wlm local');
  return nf;
}

export type MpiexecFlavour = 'pals' | 'hydra' | 'openmpi';

/** From `mpiexec --version` (and the binary's path, for PALS, whose banner varies). */
export function flavourFromVersion(text: string, path = ''): MpiexecFlavour | undefined {
  if (/open mpi|openrte|prrte/i.test(text)) return 'openmpi';
  if (/hydra|intel\(r\) mpi/i.test(text)) return 'hydra'; // MPICH, MVAPICH, Intel MPI
  if (/pals|cray|hpe/i.test(text) || /\/pals\//.test(path)) return 'pals';
  return undefined;
}

export async function mpiexecFlavour(mpiexec: string, env: NodeJS.ProcessEnv): Promise<MpiexecFlavour> {
  let out = '';
  try {
    const r = await capture(mpiexec, ['--version'], env, 10_000);
    out = `${r.stdout}\n${r.stderr}`;
  } catch (err) {
    throw Errors.startup(`${mpiexec} --version could not run (${(err as Error).message})`, 'Fix the MPI installation on PATH, or remove it from PATH to start the backends with pbsdsh');
  }
  const f = flavourFromVersion(out, mpiexec);
  if (!f) {
    const first = out.trim().split('\n')[0] ?? '';
    throw Errors.startup(
      `${mpiexec} is not an mpiexec dragon knows (--version says ${JSON.stringify(first.slice(0, 80))})`,
      'Put the PALS, MPICH (Hydra) or Open MPI mpiexec first on PATH, or remove mpiexec from PATH to use pbsdsh',
    );
  }
  return f;
}

// Variables not to forward with Open MPI's -x: its own, and shell functions.
const OMPI_SKIP = /^(OMPI_|PMIX_|PRTE_|BASH_FUNC_)/;

/**
 * One mpiexec, one rank per node, ranks in the order of `nodes` (rank i on
 * nodes[i]). How each passes our environment (values never on argv):
 *  - PALS: the whole environment by default (--envall is its default);
 *  - Hydra: -genvall, the whole environment;
 *  - Open MPI forwards only what -x names: every variable is named (-x NAME
 *    takes the value from mpiexec's own environment).
 */
export function mpiexecArgs(flavour: MpiexecFlavour, nodes: string[], argv: string[], env: NodeJS.ProcessEnv): string[] {
  const n = String(nodes.length);
  switch (flavour) {
    case 'pals':
      return ['-n', n, '--ppn', '1', '--hosts', nodes.join(','), '--cpu-bind', 'none', ...argv];
    case 'hydra':
      return ['-n', n, '-ppn', '1', '-hosts', nodes.join(','), '-bind-to', 'none', '-genvall', ...argv];
    case 'openmpi': {
      const x = Object.keys(env)
        .filter((k) => env[k] !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !OMPI_SKIP.test(k))
        .sort()
        .flatMap((k) => ['-x', k]);
      return ['-n', n, '--map-by', 'ppr:1:node', '--host', nodes.map((h) => `${h}:1`).join(','), '--bind-to', 'none', ...x, ...argv];
    }
  }
}

/**
 * pbsdsh runs a program on one vnode (-n INDEX, an index into
 * PBS_NODEFILE: PBS Pro and Torque both have it; Torque's -u does not
 * exist in PBS Pro) with the job's environment, not ours, and forwards no
 * stdin: one pbsdsh per node, the settings and secrets in a file of the
 * user's (mode 0600 in ~/.dragon, 0700: the home directory is the one place
 * every node of a PBS job is sure to see) named on the command line.
 */
export function pbsdshPlans(pbsdsh: string, nf: Nodefile, nodes: string[], argv: string[], env: NodeJS.ProcessEnv, secrets: Record<string, string>, cwd = process.cwd()): LaunchPlan[] {
  const dir = join(env.HOME || homedir(), '.dragon');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `launch-${randomBytes(8).toString('hex')}`);
  writeFileSync(file, remoteSettings(env, secrets), { mode: 0o600, flag: 'wx' });
  const launcherEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !(k in secrets)) launcherEnv[k] = v;
  return nodes.map((host, i) => {
    const vnode = nf.firstLine.get(host);
    if (vnode === undefined) throw Errors.usage(`${host} is not a node of this PBS job`, 'Choose nodes from PBS_NODEFILE');
    const script = remoteCommand(cwd, { DRAGON_NODE_INDEX: String(i), [SECRETS_FILE]: file }, argv);
    return { command: pbsdsh, args: ['-n', String(vnode), '--', '/bin/sh', '-c', script], env: launcherEnv, stdin: null, files: [file] };
  });
}

export async function pbsPlans(nodes: string[], argv: string[], env: NodeJS.ProcessEnv, secrets: Record<string, string>): Promise<LaunchPlan[]> {
  const mpiexec = findOnPath('mpiexec', env);
  if (mpiexec) {
    const flavour = await mpiexecFlavour(mpiexec, env);
    const launcherEnv = { ...env, ...secrets };
    return [{ command: mpiexec, args: mpiexecArgs(flavour, nodes, argv, launcherEnv), env: launcherEnv, stdin: null }];
  }
  const pbsdsh = findOnPath('pbsdsh', env);
  if (!pbsdsh) {
    throw Errors.startup('neither mpiexec nor pbsdsh is on PATH (needed to start a process on each node of the PBS job)', 'Load an MPI module (module load cray-pals / mpich / openmpi) or PBS\'s tools, or pass --wlm local');
  }
  return pbsdshPlans(pbsdsh, readNodefile(env), nodes, argv, env, secrets);
}
