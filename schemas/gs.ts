// Requests of user processes to Global Services and GS's replies. They
// travel through channels of the node's default pool (values encoded by the
// binding's codec); every request names the channel to reply on (its
// descriptor) and an id the reply repeats. GS validates requests with these
// schemas; replies come from GS and are trusted (user processes do not load
// zod: they import only the inferred types).
import { z } from 'zod';

const v = z.literal(1);
const puid = z.number().int().positive();
const bytes = z.custom<Uint8Array>((x) => x instanceof Uint8Array, 'expected bytes (a Uint8Array)');
const env = z.record(z.string());

/** A JavaScript target: `fn` exported by `module` (an absolute file: URL), called with `args`. */
export const ModuleSpec = z.object({
  kind: z.literal('module'),
  module: z.string().startsWith('file:'),
  /** Export to call; omitted: the default export if it is a function, else importing is the work. */
  fn: z.string().min(1).optional(),
  /** The arguments, encoded by src/runtime/api/args.ts. */
  args: bytes,
  /** Needs the full binding in the child (Dragon objects among the arguments). */
  hasObjects: z.boolean(),
});

/** Any executable (PATH lookup), with string arguments. */
export const CommandSpec = z.object({
  kind: z.literal('command'),
  command: z.string().min(1),
  args: z.array(z.string()),
});

export const ProcessSpec = z.object({
  target: z.discriminatedUnion('kind', [ModuleSpec, CommandSpec]),
  /** The whole environment of the child (the caller's, with its overrides); GS scrubs and completes it. */
  env,
  cwd: z.string().min(1),
  name: z.string().optional(),
  /** Where to run it; default: the next node, round-robin. */
  policy: z
    .object({
      /** A node's hostname, as the node itself reports it (os.hostname()). */
      host: z.string().min(1).optional(),
    })
    .strict()
    .optional(),
  /** Terminated (SIGTERM) by Global Services when the process that started it exits; may not start processes. */
  daemon: z.boolean().optional(),
});
export type ProcessSpec = z.infer<typeof ProcessSpec>;

const base = { v, id: z.number().int().nonnegative(), from: puid, reply: bytes };

export const CreateRequest = z.object({ ...base, type: z.literal('create'), spec: ProcessSpec });
/** Resolves when the process exited, or after `timeout` ms (null: wait for ever). */
export const JoinRequest = z.object({ ...base, type: z.literal('join'), puid, timeout: z.number().min(0).nullable() });
export const SignalRequest = z.object({
  ...base,
  type: z.literal('signal'),
  puid,
  signal: z.enum(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']),
});

/** The job's nodes and their CPUs (cpuCount(), Pool placement). */
export const SystemRequest = z.object({ ...base, type: z.literal('system') });

export type CreateRequest = z.infer<typeof CreateRequest>;
export type JoinRequest = z.infer<typeof JoinRequest>;
export type SignalRequest = z.infer<typeof SignalRequest>;
export type SystemRequest = z.infer<typeof SystemRequest>;

export const GsRequest = z.discriminatedUnion('type', [CreateRequest, JoinRequest, SignalRequest, SystemRequest]);
export type GsRequest = z.infer<typeof GsRequest>;

// ---- replies ------------------------------------------------------------------

export interface GsErrorInfo {
  message: string;
  code: string;
}

export interface CreateReply {
  v: 1;
  id: number;
  ok: true;
  puid: number;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells the process from a later one with the same pid. */
  startTime: string;
  /** The node it runs on: hostname and index. */
  host: string;
  node: number;
}

export interface JoinReply {
  v: 1;
  id: number;
  ok: true;
  exited: boolean;
  /** Shell view: signal n -> 128+n. */
  exitCode: number | null;
  signal: string | null;
  /** The error the target threw, encoded by the codec (name, message, code, remote stack). */
  error: Uint8Array | null;
}

export interface SignalReply {
  v: 1;
  id: number;
  ok: true;
  /** False when the process had already exited. */
  delivered: boolean;
}

export interface SystemNode {
  index: number;
  /** The node's hostname, as it reports it (what Process `policy: { host }` takes). */
  host: string;
  /** CPUs the node's backend may use (its affinity mask). */
  cpus: number;
}

export interface SystemReply {
  v: 1;
  id: number;
  ok: true;
  nodes: SystemNode[];
}

export interface ErrorReply {
  v: 1;
  id: number;
  ok: false;
  error: GsErrorInfo;
}

export type GsReply = CreateReply | JoinReply | SignalReply | SystemReply | ErrorReply;
