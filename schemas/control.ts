// The frames between the frontend (`dragon`) and the backend of each node,
// over TCP: 4-byte big-endian length, then one JSON object validated by
// these schemas. Every frame carries the protocol version `v`.
// Byte payloads (process output, stdin) travel as base64 strings.
import { z } from 'zod';
import { NodeMessage } from './node.js';

const v = z.literal(1);
const puid = z.number().int().positive();
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');
const signalName = z.string().regex(/^SIG[A-Z0-9]+$/, 'a signal name like SIGTERM');

// ---- backend -> frontend ----------------------------------------------------

/** First frame of every backend connection; without the job's token it is refused. */
export const Hello = z.object({
  v,
  type: z.literal('hello'),
  token: z.string().min(32),
  host: z.string().min(1),
  nodeIndex: z.number().int().min(0),
  pid: z.number().int().positive(),
  /** What the node offers (logged by the frontend, placement input for GS). */
  info: z.object({
    cpus: z.number().int().min(1),
    affinity: z.array(z.number().int().min(0)),
    memoryLimit: z.number().min(0),
    gpus: z.array(z.string()),
  }),
});

/** The node is up: its default pool exists and Global Services (node 0) takes requests. */
export const Ready = z.object({
  v,
  type: z.literal('ready'),
  pool: z.string(),
  poolBytes: z.number().int().positive(),
  logFile: z.string(),
  /**
   * The node's transport agent (cross-node channels): its libfabric provider
   * and endpoint address (hex of fi_getname); null: none on this node (one
   * node, or libdragon built without libfabric).
   */
  transport: z.object({ provider: z.string().min(1), address: z.string().regex(/^[0-9a-f]+$/, 'hex') }).nullable(),
});

/** The backend could not start (it cleans up after itself, then exits). */
export const Failed = z.object({
  v,
  type: z.literal('failed'),
  message: z.string(),
  code: z.string(),
});

/** The head process is running (its stdin may be relayed from now on). */
export const HeadStarted = z.object({ v, type: z.literal('head-started'), puid, pid: z.number().int().positive() });

/** Complete lines (or the last bytes before EOF) a process wrote to fd 1 or 2. */
export const Output = z.object({
  v,
  type: z.literal('output'),
  host: z.string(),
  puid,
  fd: z.union([z.literal(1), z.literal(2)]),
  data: base64,
});

/** The head process exited; teardown follows. exitCode is the shell's view (signal n -> 128+n). */
export const HeadExited = z.object({
  v,
  type: z.literal('head-exited'),
  puid,
  exitCode: z.number().int().min(0).max(255),
  signal: signalName.nullable(),
});

/** Teardown of this node finished: nothing of the run-time is left on it. */
export const Done = z.object({
  v,
  type: z.literal('done'),
  /** Processes still alive at teardown, and how many needed SIGKILL. */
  terminated: z.number().int().min(0),
  killed: z.number().int().min(0),
  segmentsRemoved: z.number().int().min(0),
  /** Where the services' log was kept (empty logs are not kept). */
  logFile: z.string().nullable(),
});

/** Answer to a ping: the node is alive and its event loop turns. */
export const Pong = z.object({ v, type: z.literal('pong') });

/** A message for the backend of node `to` (the frontend passes it on). */
export const Route = z.object({ v, type: z.literal('route'), to: z.number().int().min(0), msg: NodeMessage });

export const BackendFrame = z.discriminatedUnion('type', [Hello, Ready, Failed, HeadStarted, Output, HeadExited, Done, Pong, Route]);
export type BackendFrame = z.infer<typeof BackendFrame>;

// ---- frontend -> backend ----------------------------------------------------

export const Stdin = z.object({ v, type: z.literal('stdin'), data: base64 });
export const StdinEnd = z.object({ v, type: z.literal('stdin-end') });

/** Tear everything down: signal goes to the head first; hasten = SIGKILL now. */
export const Teardown = z.object({
  v,
  type: z.literal('teardown'),
  signal: signalName,
  hasten: z.boolean(),
});

/** Heartbeat: answered with pong; a backend that hears nothing for its timeout tears down. */
export const Ping = z.object({ v, type: z.literal('ping') });

/** A message from the backend of node `from`. */
export const Routed = z.object({ v, type: z.literal('routed'), from: z.number().int().min(0), msg: NodeMessage });

/** Every node is up: the node table (index -> host), for placement. */
export const Nodes = z.object({
  v,
  type: z.literal('nodes'),
  hosts: z.array(z.string().min(1)).min(1),
  /** Each node's transport agent address by index (null: none there), for the agents' peer table. */
  transports: z.array(z.string().nullable()),
  /** Each node's CPUs by index (from its hello), for cpuCount() and Pool placement. */
  cpus: z.array(z.number().int().min(1)).optional(),
});

/** Node `node` is lost (teardown follows): the transport agent fails operations on its channels at once. */
export const NodeLost = z.object({ v, type: z.literal('node-lost'), node: z.number().int().min(0) });

/** A signal the frontend received for the head (a WLM's warning before the time limit). */
export const SignalHead = z.object({ v, type: z.literal('signal-head'), signal: signalName });

export const FrontendFrame = z.discriminatedUnion('type', [Stdin, StdinEnd, Teardown, Ping, Routed, Nodes, NodeLost, SignalHead]);
export type FrontendFrame = z.infer<typeof FrontendFrame>;

// ---- how the frontend starts a backend ----------------------------------------

/** The backend's settings, JSON in its DRAGON_BACKEND variable (the token travels apart, in DRAGON_TOKEN). */
export const BackendSettings = z.object({
  v,
  /** Run-time id, hex (also in DRAGON_RT_UID). */
  rtid: z.string().regex(/^[0-9a-f]{1,16}$/),
  /** host:port of the frontend's control listener. */
  frontend: z.string().regex(/^[^:]+:\d+$/),
  /** This node's index; null: from the launcher's rank variable (one settings text for every node of a step). */
  nodeIndex: z.number().int().min(0).nullable(),
  nodeCount: z.number().int().min(1),
  /** Milliseconds without a frame from the frontend after which the node tears down (0: never). */
  heartbeatTimeout: z.number().int().min(0),
  /** Size of the node's default pool; null: each node takes poolSize of its own free /dev/shm. */
  poolBytes: z.number().int().positive().nullable(),
  poolSize: z.string(),
  logLevel: z.enum(['error', 'warn', 'info', 'debug']),
  /** Milliseconds between SIGTERM and SIGKILL at teardown. */
  gracePeriod: z.number().int().min(0),
  /** The user's NODE_OPTIONS: kept from the backend's own node, given back to user processes. */
  nodeOptions: z.string().nullable(),
  /** Idle warm interpreters to keep once processes are being started (0: none). */
  warmProcesses: z.number().int().min(0).max(64),
  /**
   * SCRIPT, run by the backend of node 0 (the others ignore it). It starts it
   * first thing, so the head's own Node start-up overlaps the services'.
   */
  head: z
    .object({
      /** Absolute path, checked by the frontend. */
      script: z.string().min(1),
      args: z.array(z.string()),
      cwd: z.string().min(1),
    })
    .nullable(),
});
export type BackendSettings = z.infer<typeof BackendSettings>;
