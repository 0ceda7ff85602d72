// What Local Services tells a process about its place in the run-time,
// through the environment (names shared with the backend: backend/env.ts).
export const ENV = {
  rtid: 'DRAGON_RT_UID',
  puid: 'DRAGON_PUID',
  parentPuid: 'DRAGON_PARENT_PUID',
  name: 'DRAGON_PROCESS_NAME',
  /** '1' in a daemonic process (Process daemon: true). */
  daemon: 'DRAGON_DAEMON',
  defaultPool: 'DRAGON_DEFAULT_POOL',
  gsChannel: 'DRAGON_GS_CHANNEL',
  hostname: 'DRAGON_HOSTNAME',
  nodeIndex: 'DRAGON_NODE_INDEX',
  logLevel: 'DRAGON_LOG_LEVEL',
  /** The node's transport gateway channel (cross-node channels); absent: none on this node. */
  gateway: 'DRAGON_GATEWAY',
} as const;

export interface RuntimeEnv {
  puid: number;
  parentPuid: number | undefined;
  name: string | undefined;
  daemon: boolean;
  defaultPool: Uint8Array;
  gsChannel: Uint8Array;
  hostname: string;
  nodeIndex: number;
}

/** This process's run-time identity, or undefined outside a run-time (plain `node`). */
export function runtimeEnv(): RuntimeEnv | undefined {
  const e = process.env;
  const puid = Number(e[ENV.puid]);
  const pool = e[ENV.defaultPool];
  const gs = e[ENV.gsChannel];
  if (!Number.isSafeInteger(puid) || puid <= 0 || !pool || !gs) return undefined;
  const parent = Number(e[ENV.parentPuid]);
  return {
    puid,
    parentPuid: Number.isSafeInteger(parent) && parent > 0 ? parent : undefined,
    name: e[ENV.name] || undefined,
    daemon: e[ENV.daemon] === '1',
    defaultPool: new Uint8Array(Buffer.from(pool, 'base64')),
    gsChannel: new Uint8Array(Buffer.from(gs, 'base64')),
    hostname: e[ENV.hostname] ?? '',
    nodeIndex: Number(e[ENV.nodeIndex] ?? 0),
  };
}
