// What a backend tells the frontend about its node, read from /proc and
// /sys once at start-up (a few small files: well under 2 ms).
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';

export interface NodeInfo {
  host: string;
  cpus: number;
  /** CPU ids this process may run on (sched_getaffinity, as /proc/self/status shows it). */
  affinity: number[];
  /** Bytes this process's cgroup may use, or the machine's memory when unlimited. */
  memoryLimit: number;
  /** GPU ids visible to this process (the WLM's *_VISIBLE_DEVICES), else the devices found. */
  gpus: string[];
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** "0-3,8,10-11" -> [0,1,2,3,8,10,11]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let i = a; i <= b && out.length < 65536; i++) out.push(i);
  }
  return out;
}

export function affinityFromStatus(status: string | undefined): number[] {
  const m = status ? /^Cpus_allowed_list:\s*(.+)$/m.exec(status) : null;
  return m ? parseCpuList(m[1]!) : [];
}

/**
 * The tightest memory limit on the way from this process's cgroup up to the
 * root: cgroup v2 memory.max ("max" = none) or v1 memory.limit_in_bytes
 * (a huge number = none); capped by the machine's memory.
 */
export function memoryLimit(procCgroup = '/proc/self/cgroup', sysCgroup = '/sys/fs/cgroup', total = totalmem()): number {
  let limit = total;
  const lines = (read(procCgroup) ?? '').split('\n');
  for (const line of lines) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    const v2 = controllers === '';
    if (!v2 && !controllers!.split(',').includes('memory')) continue;
    const base = v2 ? sysCgroup : `${sysCgroup}/memory`;
    const file = v2 ? 'memory.max' : 'memory.limit_in_bytes';
    let p = path;
    for (;;) {
      const v = read(`${base}${p === '/' ? '' : p}/${file}`)?.trim();
      if (v && /^\d+$/.test(v)) limit = Math.min(limit, Number(v));
      if (p === '/' || p === '') break;
      p = p.slice(0, p.lastIndexOf('/')) || '/';
    }
  }
  return limit;
}

/** GPU ids from the usual visibility variables, else /dev/nvidiaN devices. */
export function visibleGpus(env: NodeJS.ProcessEnv, devDir = '/dev'): string[] {
  for (const name of ['CUDA_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'HIP_VISIBLE_DEVICES', 'ZE_AFFINITY_MASK']) {
    const v = env[name];
    if (v === undefined) continue;
    // Set but empty (or NoDevFiles, Slurm's "none of yours"): no GPU.
    return v.trim() === '' || v === 'NoDevFiles' ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
  }
  let names: string[] = [];
  try {
    names = readdirSync(devDir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^nvidia(\d+)$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort((a, b) => Number(a) - Number(b));
}

export function nodeInfo(env: NodeJS.ProcessEnv = process.env): NodeInfo {
  const affinity = affinityFromStatus(read('/proc/self/status'));
  return {
    host: hostname(),
    cpus: affinity.length || availableParallelism(),
    affinity,
    memoryLimit: memoryLimit(),
    gpus: visibleGpus(env),
  };
}
