// Who this process is within the run-time: the run-time id (rtid) that
// names every segment and descriptor, the run-time process id (puid) that
// owns what this process allocates or holds, and fresh pool ids.
import { createRequire } from 'node:module';
import { Errors } from '../errors/errors.js';

const RT_ENV = 'DRAGON_RT_UID';
const PUID_ENV = 'DRAGON_PUID';

let rtidValue: bigint | undefined;
let rtidChosenHere = false;
let puidValue: bigint | undefined;
let poolCounter = 0;

function parseHex(name: string, value: string, bits: number): bigint {
  if (!/^(0x)?[0-9a-fA-F]{1,16}$/.test(value)) throw Errors.badEnv(name, value, 'a hexadecimal number');
  const n = BigInt(value.startsWith('0x') ? value : `0x${value}`);
  if (n === 0n || n >= 1n << BigInt(bits)) throw Errors.badEnv(name, value, `a non-zero ${bits}-bit number`);
  return n;
}

// The run-time id: DRAGON_RT_UID (hex) when a launcher or parent set it,
// else a random 48-bit id chosen once and exported, so that every child
// process started from here (child_process inherits process.env) joins the
// same run-time. Such a run-time has no backend to hold its lock:
// rundir/runtime-lock.ts holds it once this process creates a segment.
export function runtimeId(): bigint {
  if (rtidValue === undefined) {
    const env = process.env[RT_ENV];
    if (env) {
      rtidValue = parseHex(RT_ENV, env, 64);
    } else {
      // node:crypto loads here, not at import (~5 ms most processes need not pay).
      const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
      let id = 0n;
      while (id === 0n) id = BigInt(`0x${randomBytes(6).toString('hex')}`);
      rtidValue = id;
      rtidChosenHere = true;
      process.env[RT_ENV] = id.toString(16);
    }
  }
  return rtidValue;
}

/** True when this process chose the run-time id itself: nobody (launcher, parent) set DRAGON_RT_UID. */
export function choseRuntimeId(): boolean {
  runtimeId();
  return rtidChosenHere;
}

// The run-time process id: DRAGON_PUID when the run-time started this
// process, else the OS pid (unique on this node while the process lives).
export function processId(): bigint {
  if (puidValue === undefined) {
    const env = process.env[PUID_ENV];
    if (env) {
      if (!/^[0-9]+$/.test(env) || BigInt(env) === 0n) throw Errors.badEnv(PUID_ENV, env, 'a positive decimal number');
      puidValue = BigInt(env);
    } else {
      puidValue = BigInt(process.pid);
    }
  }
  return puidValue;
}

// A pool id no other process of this node picks: the pid in the high bits
// (pids are unique among live processes) and a per-process counter below.
export function newPoolId(): bigint {
  poolCounter = (poolCounter + 1) & 0xffff;
  if (poolCounter === 0) poolCounter = 1;
  return (BigInt(process.pid) << 16n) | BigInt(poolCounter);
}

/** Hex spelling used in segment names ("dragon-<user>-<rtid hex>-p<pool id>"). */
export function runtimeIdHex(): string {
  return runtimeId().toString(16);
}
