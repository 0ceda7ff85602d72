// Library use from an installed package: `dragonhpc/launch` resolves and
// runDragon runs the Queue check as `npx dragon` does; exits with its code.
import { runDragon } from 'dragonhpc/launch';

const script = new URL('queue-to-process.mjs', import.meta.url).pathname;
process.exitCode = await runDragon({ script, args: [] });
