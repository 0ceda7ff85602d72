// Entry of the backend process of a node (started by the frontend, in its
// own session). Loads only what the services need: never oclif. The head
// (node 0) is started first, from the raw settings, before the heavier
// modules (zod, the native binding) load: the two start-ups overlap.
//   DRAGON_BACKEND  its settings (JSON, schemas/control.ts BackendSettings)
//   DRAGON_TOKEN    the job's secret, sent back in the first frame; removed from our environment
//   DRAGON_RT_UID   the run-time id
import '../core/no-inspector.js'; // first: SIGUSR1/SIGUSR2 harmless from here on
import { hostname } from 'node:os';
import type { BackendSettings } from '../../../schemas/control.js';
import { nodeIndexFromEnv } from '../wlm/rank.js';
import { EarlyHead, type HeadSpec } from './early-head.js';
import { FIRST_PUID } from './puids.js';

process.stderr.on('error', () => {}); // the frontend may be gone: never die of EPIPE

const SERVICES_PUID = 1; // LS/GS own what they allocate under puid 1 + node index

function fail(msg: string): never {
  process.stderr.write(`dragon backend: ${msg}\n`);
  process.exit(2);
}

// ssh/pbsdsh carry no environment: the settings and the token come on stdin or in a file (wlm/secrets.ts).
if (process.env.DRAGON_SECRETS_STDIN || process.env.DRAGON_SECRETS_FILE) {
  try {
    await (await import('../wlm/secrets.js')).loadSecrets();
  } catch (err) {
    fail((err as Error).message);
  }
}

let raw: Partial<BackendSettings>;
try {
  raw = JSON.parse(process.env.DRAGON_BACKEND ?? '') as Partial<BackendSettings>;
} catch (err) {
  fail(`bad or missing DRAGON_BACKEND settings (${(err as Error).message}); the backend is started by \`dragon\`, not by hand`);
}
// One settings text for every node of a step: the launcher's rank says which node this is.
const nodeIndex = typeof raw.nodeIndex === 'number' ? raw.nodeIndex : nodeIndexFromEnv(process.env);
const token = process.env.DRAGON_TOKEN;
if (!token) fail('DRAGON_TOKEN is not set; the backend is started by `dragon`, not by hand');
delete process.env.DRAGON_TOKEN;
delete process.env.DRAGON_BACKEND;
const env: Record<string, string | undefined> = { ...process.env };
if (typeof raw.nodeOptions === 'string') env.NODE_OPTIONS = raw.nodeOptions;
process.env.DRAGON_RT_UID = String(raw.rtid);
process.env.DRAGON_PUID = String(SERVICES_PUID + nodeIndex); // read lazily by the binding

let head: EarlyHead | undefined;
try {
  if (raw.head && nodeIndex === 0) {
    head = new EarlyHead(FIRST_PUID, raw.head as HeadSpec, env, {
      rtid: String(raw.rtid),
      hostname: hostname(),
      nodeIndex,
      logLevel: String(raw.logLevel ?? 'warn'),
    });
  }
} catch (err) {
  fail(`cannot start the head process: ${(err as Error).message}`);
}

// Orphans of the job (a daemon started with `setsid`, `env -i`...) become our children, so
// teardown finds them (orphans.ts); reaped as they end. Before the head runs its script: it
// waits for the services.
const orphans = await import('./orphans.js');
if (!orphans.becomeSubreaper()) process.stderr.write('dragon backend: warning: cannot become a child subreaper: processes that leave their session may outlive the job\n');
process.on('SIGCHLD', () => orphans.reapOrphans());

// Imported now: they read the environment set above.
const [{ BackendSettings: Settings }, { Backend }] = await Promise.all([import('../../../schemas/control.js'), import('./backend.js')]);
const parsed = Settings.safeParse(raw);
if (!parsed.success) {
  head?.proc.signal('SIGKILL');
  fail(`bad DRAGON_BACKEND settings (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
}
const backend = new Backend(parsed.data, nodeIndex, token, env, head);

// Terminal signals never reach us (own session); these come from a person
// or a workload manager: tear down as for Ctrl-C.
process.on('SIGTERM', () => void backend.teardown('SIGTERM received'));
process.on('SIGINT', () => void backend.teardown('SIGINT received'));
process.on('SIGHUP', () => {});
// SIGUSR1/SIGUSR2 (a workload manager's warning, sent to every task of our step) are
// ignored here (core/no-inspector.ts); the frontend forwards them to the head.
process.on('uncaughtException', (err) => {
  process.stderr.write(`dragon backend: internal error: ${err.stack ?? err}\n`);
  void backend.teardown('internal error', 'SIGTERM', true).finally(() => process.exit(70));
});

process.exit(await backend.run());
