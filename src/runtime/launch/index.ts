// The frontend as a library: `dragon SCRIPT` is runDragon(config).
export { runDragon, type RunDragonOptions, type RunStats, type RuntimeInfo } from './run-dragon.js';
