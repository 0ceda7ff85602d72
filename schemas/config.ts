// The launcher's configuration: flags first, then DRAGON_* environment
// variables, then defaults, merged and validated by this one schema so an
// error can name the flag or variable at fault (src/runtime/config/). Each
// message is the "expected ..." half of a one-line error: it says how to fix.
import { z } from 'zod';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export const WLMS = ['local', 'slurm', 'pbs', 'ssh'] as const;

const oneOf = (values: readonly string[]) => `expected one of ${values.join(', ')}`;
const POOL_SIZE_HELP = 'expected a size like 512M, 2G, or a share like 25%';

// "512M", "2G", "1.5GiB", "1048576" (bytes) or "25%" (of the free space in /dev/shm).
export const PoolSize = z
  .string({ invalid_type_error: POOL_SIZE_HELP })
  .regex(/^(\d+(\.\d+)?%|\d+(\.\d+)?[KMGT]?i?B?)$/i, POOL_SIZE_HELP)
  .refine((s) => !s.endsWith('%') || (Number(s.slice(0, -1)) > 0 && Number(s.slice(0, -1)) <= 100), {
    message: 'expected a share between 0% and 100% of the free space in /dev/shm, like 25%',
  })
  .refine((s) => s.endsWith('%') || Number.parseFloat(s) > 0, { message: 'expected a size above 0, like 512M' });

const HEARTBEAT_HELP = 'expected a duration like 20s, 5000ms or 0 (never), at most 1h';
const GRACE_HELP = 'expected a duration like 2s, 500ms or 2000 (milliseconds), at most 10m';

export const DragonConfig = z.object({
  v: z.literal(1).default(1),
  /** The head process: a .js/.mjs/.ts file, run with node. */
  script: z.string({ required_error: 'missing SCRIPT' }).min(1, 'missing SCRIPT'),
  args: z.array(z.string()).default([]),
  /** Prefix every output line with [host:puid]. */
  label: z.boolean({ invalid_type_error: 'expected true or false (or 1/0, yes/no, on/off)' }).default(false),
  logLevel: z.enum(LOG_LEVELS, { errorMap: () => ({ message: oneOf(LOG_LEVELS) }) }).default('warn'),
  /** Size of each node's default pool. */
  poolSize: PoolSize.default('10%'),
  /** Milliseconds between SIGTERM and SIGKILL at teardown. */
  gracePeriod: z
    .number({ invalid_type_error: GRACE_HELP })
    .int(GRACE_HELP)
    .min(0, GRACE_HELP)
    .max(600_000, GRACE_HELP)
    .default(2000),
  /** Nodes of the allocation to use (0 = all); multi-node is a later layer. */
  nodes: z
    .number({ invalid_type_error: 'expected a whole number of nodes (0 = all)' })
    .int('expected a whole number of nodes (0 = all)')
    .min(0, 'expected a whole number of nodes (0 = all)')
    .default(0),
  /** Workload manager; detected when not given. */
  wlm: z.enum(WLMS, { errorMap: () => ({ message: oneOf(WLMS) }) }).optional(),
  /** SSH launch: a file naming one host per line. */
  hostfile: z.string().min(1, 'expected the path of a file naming one host per line').optional(),
  /** SSH launch: the hosts, comma-separated. */
  hosts: z
    .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected host names separated by commas, like node1,node2'))
    .min(1, 'expected host names separated by commas, like node1,node2')
    .optional(),
  /** Milliseconds a node may stay silent before the job ends (0: never). */
  heartbeatTimeout: z
    .number({ invalid_type_error: HEARTBEAT_HELP })
    .int(HEARTBEAT_HELP)
    .min(0, HEARTBEAT_HELP)
    .max(3_600_000, HEARTBEAT_HELP)
    .default(20_000),
});
export type DragonConfig = z.infer<typeof DragonConfig>;
export type DragonConfigInput = z.input<typeof DragonConfig>;

/** Environment variable that may set each field. */
export const CONFIG_ENV = {
  label: 'DRAGON_LABEL',
  logLevel: 'DRAGON_LOG_LEVEL',
  poolSize: 'DRAGON_POOL_SIZE',
  gracePeriod: 'DRAGON_GRACE_PERIOD',
  nodes: 'DRAGON_NODES',
  wlm: 'DRAGON_WLM',
  hostfile: 'DRAGON_HOSTFILE',
  hosts: 'DRAGON_HOSTS',
  heartbeatTimeout: 'DRAGON_HEARTBEAT_TIMEOUT',
} as const satisfies Partial<Record<keyof DragonConfig, string>>;
export type ConfigField = keyof typeof CONFIG_ENV;
