// Entry of every Node process Local Services starts:
//   node [--import tsx] main.js --head SCRIPT [args...]   the head process
//   node [--import tsx] main.js --target                  a { module, fn, args } process (payload on fd 3)
// Kept tiny: whatever it imports, every process pays for at start-up.
// First of all, before the script and before a warm process blocks on fd 3:
// SIGUSR1/SIGUSR2 become harmless (never the inspector, never death).
import '../core/no-inspector.js';
const mode = process.argv[2];
if (mode === '--head') {
  const { runHead } = await import('./head.js');
  await runHead(process.argv[3]!, process.argv.slice(4));
} else if (mode === '--target') {
  const { runTarget } = await import('./target.js');
  await runTarget();
} else {
  process.stderr.write('dragon: this is an internal entry point of the run-time; run scripts with `dragon SCRIPT`\n');
  process.exitCode = 2;
}
