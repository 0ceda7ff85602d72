// Entry of the backend process of a node (started by the frontend, in its
// own session). Loads only what the services need: never oclif.
//   DRAGON_BACKEND  its settings (JSON, schemas/control.ts BackendSettings)
//   DRAGON_TOKEN    the job's secret, sent back in the first frame; removed from our environment
//   DRAGON_RT_UID   the run-time id
import { BackendSettings } from '../../../schemas/control.js';

process.stderr.on('error', () => {}); // the frontend may be gone: never die of EPIPE

const FIRST_SERVICES_PUID = 1; // GS/LS own what they allocate under puid 1 + node index

function fail(msg: string): never {
  process.stderr.write(`dragon backend: ${msg}\n`);
  process.exit(2);
}

let settings: BackendSettings;
try {
  settings = BackendSettings.parse(JSON.parse(process.env.DRAGON_BACKEND ?? ''));
} catch (err) {
  fail(`bad or missing DRAGON_BACKEND settings (${(err as Error).message}); the backend is started by \`dragon\`, not by hand`);
}
const token = process.env.DRAGON_TOKEN;
if (!token) fail('DRAGON_TOKEN is not set; the backend is started by `dragon`, not by hand');
delete process.env.DRAGON_TOKEN;
delete process.env.DRAGON_BACKEND;
process.env.DRAGON_RT_UID = settings.rtid;
process.env.DRAGON_PUID = String(FIRST_SERVICES_PUID + settings.nodeIndex); // read lazily by the binding

// Imported after the environment is set: the binding reads it.
const { Backend } = await import('./backend.js');
const env = { ...process.env };
delete env.DRAGON_PUID;
const backend = new Backend(settings, token, env);

// Terminal signals never reach us (own session); these come from a person
// or a workload manager: tear down as for Ctrl-C.
process.on('SIGTERM', () => void backend.teardown('SIGTERM received'));
process.on('SIGINT', () => void backend.teardown('SIGINT received'));
process.on('SIGHUP', () => {});
process.on('uncaughtException', (err) => {
  process.stderr.write(`dragon backend: internal error: ${err.stack ?? err}\n`);
  void backend.teardown('internal error', 'SIGTERM', true).finally(() => process.exit(70));
});

process.exit(await backend.run());
