// The frontend as a library: `dragon SCRIPT` is runDragon(config). The
// package exports this module as `dragonhpc/launch`.
export { runDragon, type RunDragonOptions, type RunStats, type RuntimeInfo } from './run-dragon.js';
export type { DragonConfigInput as RunDragonConfig } from '../../../schemas/config.js';
