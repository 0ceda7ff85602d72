// A launcher (ssh, srun, mpiexec, pbsdsh) failed: its exit code and stderr
// turned into one line that names the host and says what to do, for the
// launcher's error message. null when there is nothing better to say than
// "exited with N" (the caller then says that).
import type { WlmKind } from './types.js';

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

function sshFailure(stderr: string, host: string | undefined): string {
  const at = host ? ` ${host}` : '';
  for (const l of lines(stderr)) {
    let m = /Could not resolve hostname (\S+?):/.exec(l);
    if (m) return `cannot reach host ${m[1]}: its name does not resolve. Fix the name in --hostfile/--hosts`;
    m = /connect to host (\S+) port \d+: (.*)$/.exec(l);
    if (m) return `cannot reach host ${m[1]}: ${m[2]!.toLowerCase()}. Check that the host is up and runs sshd, or remove it from --hostfile/--hosts`;
    if (/Permission denied/.test(l)) {
      return `ssh to${at || ' the host'} was refused (${l.replace(/^.*?Permission denied/, 'permission denied')}). Set up key-based login (ssh-copy-id${at}); ssh runs with BatchMode=yes, no password prompt`;
    }
    if (/Host key verification failed/.test(l)) return `ssh to${at || ' the host'}: host key verification failed. Connect once by hand (ssh${at}) to accept its key`;
    if (/Connection timed out|timed out/.test(l)) return `cannot reach host${at}: connection timed out. Check that it is up, or remove it from --hostfile/--hosts`;
    if (/Connection closed|Connection reset/.test(l)) return `ssh to${at || ' the host'}: ${l.replace(/^ssh:\s*/, '')}`;
  }
  const first = lines(stderr)[0];
  return `ssh to${at || ' the host'} failed${first ? `: ${first}` : ' (exit 255)'}. Check that \`ssh -o BatchMode=yes${at} true\` works`;
}

function srunFailure(stderr: string, what: string): string | null {
  for (const l of lines(stderr)) {
    // A task (our backend) died: srun names its node.
    let m = /^srun: error: (\S+): tasks? [\d,-]+: (.*)$/.exec(l);
    if (m) return `${what} on ${m[1]} failed: ${m[2]!.replace(/\.$/, '').toLowerCase()}`;
    m = /^srun: error: Node failure on (\S+)/.exec(l);
    if (m) return `node ${m[1]} failed (Slurm reports a node failure)`;
    m = /^srun: error: Unable to create step for job \S+: (.*)$/.exec(l);
    if (m) return `srun could not start ${what} on the nodes: ${m[1]}. Check -N against the job's nodes (squeue -j $SLURM_JOB_ID) and that the job is still running`;
    m = /^srun: error: (?:Unable to allocate resources|.*Invalid job id).*?: (.*)$/.exec(l);
    if (m) return `srun could not start ${what} on the nodes: ${m[1]}. Run inside the job (sbatch/salloc) that owns the nodes`;
    m = /^srun: (?:error|fatal): (.*)$/.exec(l);
    if (m) return `srun could not start ${what} on the nodes: ${m[1]}`;
  }
  return null;
}

function mpiexecFailure(stderr: string, what: string): string | null {
  for (const l of lines(stderr)) {
    const m = /(?:ssh: )?connect to host (\S+) port \d+: (.*)$/.exec(l) ?? /Could not resolve hostname (\S+?):\s*(.*)$/.exec(l);
    if (m) return `mpiexec cannot reach node ${m[1]}: ${m[2]!.toLowerCase()}`;
  }
  const err = lines(stderr).find((l) => /error|fatal|abort/i.test(l));
  return err ? `mpiexec could not start ${what} on the nodes: ${err}` : null;
}

/**
 * `kind`: the allocation's; `host`: the one host this launcher targeted
 * (ssh and pbsdsh run one launcher per host), when known; `what`: what was
 * started on each node, for the message ("the backend", "dragon-cleanup").
 */
export function explainLaunchFailure(kind: WlmKind, exitCode: number | null, stderr: string, host?: string, what = 'the backend'): string | null {
  if (exitCode === 0) return null;
  switch (kind) {
    case 'ssh':
      // 255 is ssh's own failure; anything else is the remote command's exit.
      return exitCode === 255 ? sshFailure(stderr, host) : null;
    case 'slurm':
      return srunFailure(stderr, what);
    case 'pbs':
      return mpiexecFailure(stderr, what);
    case 'local':
      return null;
  }
}
