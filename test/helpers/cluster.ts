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

/**
 * What this user's run-times left on a node: processes carrying a run-time id
 * in their environment, /dev/shm segments, run-time directories.
 */
export async function leftovers(node: string): Promise<string[]> {
  const sh =
    'for e in /proc/[0-9]*/environ; do if tr "\\0" "\\n" < $e 2>/dev/null | grep -q "^DRAGON_RT_UID="; then p=${e%/environ}; echo "process ${p#/proc/}: $(tr "\\0" " " < $p/cmdline 2>/dev/null)"; fi; done; ' +
    'ls /dev/shm | grep "^dragon-" | sed "s/^/segment /"; for d in /tmp/dragon-*/[0-9a-f]*; do [ -d "$d" ] && echo "run-time directory $d"; done; true';
  // A clean environment: the test runner's own DRAGON_RT_UID must not show up as a leftover.
  const r = await onNode(node, ['sh', '-c', sh], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, extendEnv: false });
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** Waits (up to `ms`) until no node has leftovers; then returns what is left, by node ({} when clean). */
export async function leftoversOn(nodes: string[], ms = 10_000): Promise<Record<string, string[]>> {
  const end = Date.now() + ms;
  for (;;) {
    const left: Record<string, string[]> = {};
    for (const n of nodes) {
      const l = await leftovers(n);
      if (l.length) left[n] = l;
    }
    if (Object.keys(left).length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}
