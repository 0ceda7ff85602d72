// koffi, loaded on first use rather than at import: its native addon costs
// ~20 ms of start-up, which a process that imports dragonhpc but never maps
// shared memory (a Process target, the frontend) should not pay. Loaded
// through require(): the first use is synchronous (MemoryPool.create), and
// the CommonJS and ES entries of koffi share one addon (one type registry).
import { createRequire } from 'node:module';
import type KoffiModule from 'koffi';

export type Koffi = typeof KoffiModule;

let loaded: Koffi | undefined;

export function koffi(): Koffi {
  return (loaded ??= createRequire(import.meta.url)('koffi') as Koffi);
}
