// SSH: a list of hosts (--hostfile / --hosts), one ssh per host.
import { readFileSync } from 'node:fs';
import { Errors } from '../errors/errors.js';
import { requireOnPath } from './exec.js';
import { remoteCommand, remoteSettings } from './remote.js';
import { SECRETS_STDIN } from './secrets.js';
import type { LaunchPlan } from './types.js';

/**
 * A hostfile: one host per line; '#' starts a comment; blank lines are
 * skipped; only the first word counts, so Open MPI / MPICH style lines
 * ("node1 slots=4", "node1:4") work too. Duplicates are dropped, order kept.
 */
export function parseHostfile(text: string): string[] {
  const hosts: string[] = [];
  for (const raw of text.split('\n')) {
    const word = raw.replace(/#.*/, '').trim().split(/\s+/)[0] ?? '';
    const host = word.replace(/:\d+$/, '');
    if (host) hosts.push(host);
  }
  return [...new Set(hosts)];
}

export function readHostfile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw Errors.usage(`--hostfile ${path} ${why}`, 'Give a file with one host name per line');
  }
  const hosts = parseHostfile(text);
  if (hosts.length === 0) throw Errors.usage(`--hostfile ${path} names no host`, 'Put one host name per line (# starts a comment)');
  return hosts;
}

/** --hosts a,b,c (the flag may also be given several times). */
export function parseHosts(hosts: string[]): string[] {
  const out = [...new Set(hosts.flatMap((h) => h.split(',')).map((h) => h.trim()).filter(Boolean))];
  if (out.length === 0) throw Errors.usage('--hosts names no host', 'Give host names separated by commas, as in --hosts node1,node2');
  for (const h of out) {
    // A host starting with '-' would be read by ssh as an option.
    if (h.startsWith('-') || /\s/.test(h)) throw Errors.usage(`--hosts: ${JSON.stringify(h)} is not a host name`, 'Give host names separated by commas, as in --hosts node1,node2');
  }
  return out;
}

export const SSH_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-T'];

/**
 * One ssh per host: `ssh -o BatchMode=yes -o ConnectTimeout=10 -T HOST
 * 'cd CWD && exec env DRAGON_NODE_INDEX=i DRAGON_SECRETS_STDIN=1 ARGV...'`;
 * the secrets and DRAGON_* settings are its stdin (secrets.ts). BatchMode:
 * a host that wants a password fails at once instead of prompting.
 */
export function sshPlans(nodes: string[], argv: string[], env: NodeJS.ProcessEnv, secrets: Record<string, string>, cwd = process.cwd()): LaunchPlan[] {
  const ssh = requireOnPath('ssh', env, 'needed to start a process on each host of --hostfile/--hosts', 'Install an OpenSSH client, or run inside a Slurm/PBS job instead');
  const stdin = remoteSettings(env, secrets);
  const launcherEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !(k in secrets)) launcherEnv[k] = v;
  return nodes.map((host, i) => ({
    command: ssh,
    args: [...SSH_OPTIONS, '--', host, remoteCommand(cwd, { DRAGON_NODE_INDEX: String(i), [SECRETS_STDIN]: '1' }, argv)],
    env: launcherEnv,
    stdin,
  }));
}
