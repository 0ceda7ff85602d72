// Messages between the backends of different nodes. They travel inside
// route/routed frames of the TCP control plane (schemas/control.ts): a
// backend sends { type: 'route', to, msg } to the frontend, which passes it
// on as { type: 'routed', from, msg } to backend `to`. Global Services (node
// 0) uses them to start, signal and hear about processes on other nodes,
// and the other nodes to hand GS the requests of their processes.
// Payloads that are values of the binding's codec travel as base64.
import { z } from 'zod';

const puid = z.number().int().positive();
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');

/** A user process's request to GS (codec bytes of a GsRequest), from the node it runs on. */
export const GsRequestMsg = z.object({ kind: z.literal('gs-request'), data: base64 });
/** GS's reply, for the reply channel `reply` (hex descriptor) on the requester's node. */
export const GsReplyMsg = z.object({ kind: z.literal('gs-reply'), reply: z.string().regex(/^[0-9a-f]+$/), data: base64 });
/** GS asks a node to start a process; spec: codec bytes of a ProcessSpec (schemas/gs.ts). */
export const StartMsg = z.object({ kind: z.literal('start'), puid, parent: puid, spec: base64 });
export const StartedMsg = z.object({ kind: z.literal('started'), puid, pid: z.number().int().positive(), startTime: z.string() });
export const StartFailedMsg = z.object({ kind: z.literal('start-failed'), puid, message: z.string(), code: z.string() });
/** A process of the sending node exited (after its node reclaimed what it held). */
export const ExitedMsg = z.object({
  kind: z.literal('exited'),
  puid,
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  exitCode: z.number().int().min(0).max(255),
  error: base64.nullable(),
});
export const SignalMsg = z.object({ kind: z.literal('signal'), puid, signal: z.string().regex(/^SIG[A-Z0-9]+$/) });
/**
 * GS tells every node but the process's own that process `puid` exited: each
 * reclaims what it held in the node's default pool (locks, semaphore units,
 * barrier tickets taken through the transport on objects of that node).
 */
export const ReclaimMsg = z.object({ kind: z.literal('reclaim'), puid });

export const NodeMessage = z.discriminatedUnion('kind', [GsRequestMsg, GsReplyMsg, StartMsg, StartedMsg, StartFailedMsg, ExitedMsg, SignalMsg, ReclaimMsg]);
export type NodeMessage = z.infer<typeof NodeMessage>;
