import { Status, statusName } from './status.js';

// Codes that only the TypeScript side produces (no libdragon status).
export type JsErrorCode =
  | 'ABORT_ERR'
  | 'DRAGON_ERR_CLOSED'
  | 'DRAGON_ERR_RELEASED'
  | 'DRAGON_ERR_BAD_MESSAGE'
  | 'DRAGON_ERR_LIBRARY'
  | 'DRAGON_ERR_BAD_ENV'
  | 'DRAGON_ERR_BAD_CONFIG'
  | 'DRAGON_ERR_USAGE'
  // the run-time (launcher, services, Process)
  | 'DRAGON_ERR_NOT_IN_RUNTIME'
  | 'DRAGON_ERR_SERVICES'
  | 'DRAGON_ERR_PROCESS_STATE'
  | 'DRAGON_ERR_MODULE_NOT_FOUND'
  | 'DRAGON_ERR_EXPORT_NOT_FOUND'
  | 'DRAGON_ERR_SCRIPT'
  | 'DRAGON_ERR_POOL_SIZE'
  | 'DRAGON_ERR_STARTUP'
  | 'DRAGON_ERR_BACKEND_LOST'
  | 'DRAGON_ERR_RUNTIME_DIR'
  // Pool (mp/pool/)
  | 'DRAGON_ERR_POOL_STATE'
  | 'DRAGON_ERR_WORKER_DIED'
  | 'DRAGON_ERR_POOL_BROKEN'
  | 'DRAGON_ERR_POOL_TERMINATED'
  // Pipe (mp/pipe.ts)
  | 'DRAGON_ERR_BROKEN_PIPE';

export interface DragonErrorOptions {
  /** Symbolic code: a libdragon name ("DRAGON_ERR_TIMEOUT") or a JsErrorCode. */
  code: string;
  /** The libdragon status number, when the error came from the C library. */
  errno?: number;
  /** What the user can do about it. */
  hint?: string;
  cause?: unknown;
  /** How a command that fails with this error exits: 2 for a wrong command line or setting (as oclif and shells do), 1 otherwise (the default). */
  exitCode?: number;
}

// The one error type of the package. `message` says what went wrong and,
// through the hint, what to do; `code` is stable for programs to test.
export class DragonError extends Error {
  readonly code: string;
  readonly errno: number | undefined;
  readonly hint: string | undefined;
  /** The exit code of a command that ends with this error (2: the command line or a setting is wrong; 1: anything else). */
  readonly exitCode: number;

  constructor(message: string, options: DragonErrorOptions) {
    super(options.hint ? `${message}. ${options.hint}` : message, { cause: options.cause });
    this.name = options.code === 'ABORT_ERR' ? 'AbortError' : 'DragonError';
    this.code = options.code;
    this.errno = options.errno;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }

  /** Same as `code` (libdragon's dragon_errname spelling for native errors). */
  get errname(): string {
    return this.code;
  }
}

/** The fix when cross-node channels are off (no transport agent on the node). */
export const NO_TRANSPORT_FIX = 'libdragon was built without libfabric: apt-get install libfabric-dev, then npm rebuild';

// What to do about each native status, phrased for the user.
const hints: Partial<Record<number, string>> = {
  [Status.TIMEOUT]: 'Pass a longer { timeout } (milliseconds) or none to wait for ever',
  [Status.BAD_DESCRIPTOR]:
    'Pass the exact bytes that serialize() returned (96 bytes); they may have been truncated or altered on the way',
  [Status.VERSION_MISMATCH]:
    'Every process of a run-time must use the same dragonhpc/libdragon version',
  [Status.FOREIGN_RUNTIME]:
    'Objects can only be attached by processes of the run-time that created them: start the process from that run-time so it inherits DRAGON_RT_UID',
  [Status.NOT_FOUND]: 'The pool was destroyed, or lives on another node',
  [Status.EXISTS]: 'Choose another poolId, or let dragonhpc pick one',
  [Status.DESTROYED]: 'The object was destroyed (by this or another process) while in use',
  [Status.TOO_LARGE]: 'Create a larger pool ({ bytes }) or send smaller messages',
  [Status.SHM_FULL]:
    'Free space in /dev/shm (look for stale dragon-* segments) or create a smaller pool',
  [Status.PERMISSION]: 'The segment belongs to another user',
  [Status.NOT_HELD]: 'Release only a lock that is held',
  [Status.NOT_OWNER]: 'Only the process that acquired an RLock may release it',
  [Status.BROKEN]: 'Call reset() on the barrier before using it again',
  [Status.OVERFLOW]: 'A bounded semaphore cannot be released more often than it was acquired',
  [Status.LIMIT]: 'Too many processes wait on this object at once',
  [Status.BUSY]: 'Detach or destroy what still uses it first',
  [Status.WRONG_KIND]: 'The descriptor names another kind of object: attach it with the matching class',
  [Status.INTERNAL]: 'This is a bug in libdragon: please report it with the steps that led here',
  [Status.PEER_LOST]:
    'The node holding the object (or its transport agent) is gone: the job is losing that node; see the services\' log',
  [Status.NO_TRANSPORT]: NO_TRANSPORT_FIX,
};

// Every error the package throws is built here, so messages stay uniform.
export const Errors = {
  // A libdragon call returned `status` while doing `op` (e.g. "Channel.send").
  native(op: string, status: number, detail?: string, hint?: string): DragonError {
    const name = statusName(status);
    const text = nativeText(status);
    return new DragonError(`${op}: ${text}${detail ? ` (${detail})` : ''}`, {
      code: name,
      errno: status,
      hint: hint ?? hints[status],
    });
  },

  timeout(op: string, timeoutMs: number): DragonError {
    return new DragonError(`${op}: timed out after ${timeoutMs} ms`, {
      code: statusName(Status.TIMEOUT),
      errno: Status.TIMEOUT,
      hint: hints[Status.TIMEOUT],
    });
  },

  aborted(op: string, reason: unknown): DragonError {
    return new DragonError(`${op}: aborted`, { code: 'ABORT_ERR', cause: reason });
  },

  closed(what: string, op: string, how: string): DragonError {
    return new DragonError(`${op}: this ${what} handle was ${how} in this process`, {
      code: 'DRAGON_ERR_CLOSED',
      hint: `Attach it again from its descriptor to keep using the ${what}`,
    });
  },

  // An operation was still waiting when its handle was closed here.
  closedWhilePending(what: string, op: string, how: string): DragonError {
    return new DragonError(`${op}: the ${what} was ${how} in this process while the operation waited`, {
      code: how === 'destroyed' ? statusName(Status.DESTROYED) : 'DRAGON_ERR_CLOSED',
      errno: how === 'destroyed' ? Status.DESTROYED : undefined,
    });
  },

  released(op: string): DragonError {
    return new DragonError(`${op}: the message view was released`, {
      code: 'DRAGON_ERR_RELEASED',
      hint: 'Copy the bytes (e.g. Buffer.from(view.bytes)) before release() if you need them later',
    });
  },

  invalidArgument(op: string, what: string): DragonError {
    return new DragonError(`${op}: ${what}`, {
      code: statusName(Status.INVALID_ARGUMENT),
      errno: Status.INVALID_ARGUMENT,
    });
  },

  wrongKind(op: string, expected: string, actual: string): DragonError {
    return new DragonError(`${op}: the descriptor names a ${actual}, not a ${expected}`, {
      code: statusName(Status.WRONG_KIND),
      errno: Status.WRONG_KIND,
      hint: `Attach it with ${actual}.attach()`,
    });
  },

  foreignRuntime(op: string, descRtid: bigint, ownRtid: bigint): DragonError {
    return new DragonError(
      `${op}: the descriptor belongs to run-time ${hex(descRtid)}, this process is in run-time ${hex(ownRtid)}`,
      {
        code: statusName(Status.FOREIGN_RUNTIME),
        errno: Status.FOREIGN_RUNTIME,
        hint: hints[Status.FOREIGN_RUNTIME],
      },
    );
  },

  poolBusy(op: string, users: number): DragonError {
    return new DragonError(`${op}: ${users} channel or sync handle(s) of this process still use the pool`, {
      code: statusName(Status.BUSY),
      errno: Status.BUSY,
      hint: 'Destroy or detach them first',
    });
  },

  poolAllocationsLive(op: string, sizes: number[]): DragonError {
    const shown = sizes.slice(0, 5).map((n) => `${n} B`).join(', ');
    const more = sizes.length > 5 ? ` and ${sizes.length - 5} more` : '';
    const total = sizes.reduce((a, b) => a + b, 0);
    return new DragonError(`${op}: ${sizes.length} allocation handle(s) of this process still live in the pool (${shown}${more}; ${total} bytes)`, {
      code: statusName(Status.BUSY),
      errno: Status.BUSY,
      hint: 'free() or detach() them first',
    });
  },

  badMessage(op: string, why: string): DragonError {
    return new DragonError(`${op}: cannot decode the message (${why})`, {
      code: 'DRAGON_ERR_BAD_MESSAGE',
      hint: 'Messages sent with sendBytes() must be received with recvBytes()',
    });
  },

  // v8's serializer refused the value (a function, a symbol, a WeakMap...).
  notSerializable(op: string, cause: unknown): DragonError {
    return new DragonError(`${op}: the value cannot be serialized (${(cause as Error)?.message ?? String(cause)})`, {
      code: statusName(Status.INVALID_ARGUMENT),
      errno: Status.INVALID_ARGUMENT,
      hint: 'Send plain data, typed arrays, Maps, Sets, Dates, BigInts or Dragon objects; functions and class behaviour do not travel',
      cause,
    });
  },

  // A JS view (Buffer) cannot be longer than buffer.constants.MAX_LENGTH.
  viewTooLarge(op: string, bytes: number, max: number): DragonError {
    return new DragonError(`${op}: ${bytes} bytes cannot be viewed as one Buffer (at most ${max} in this Node.js)`, {
      code: statusName(Status.TOO_LARGE),
      errno: Status.TOO_LARGE,
      hint: 'Use smaller allocations or messages',
    });
  },

  badEnv(name: string, value: string, expected: string): DragonError {
    return new DragonError(`${name}=${JSON.stringify(value)} is not ${expected}`, {
      code: 'DRAGON_ERR_BAD_ENV',
      hint: `Fix or unset ${name}`,
      exitCode: 2,
    });
  },

  // A launcher setting (a flag or a DRAGON_* variable) has a value the schema
  // refuses: `expected` says what a valid one looks like.
  badConfig(setting: string, value: string | undefined, expected: string, hint?: string): DragonError {
    const what = value === undefined ? setting : `${setting}=${JSON.stringify(value)}`;
    return new DragonError(`${what}: ${expected}`, { code: 'DRAGON_ERR_BAD_CONFIG', hint, exitCode: 2 });
  },

  // The command line itself is wrong (unknown flag, no SCRIPT...).
  usage(message: string, hint: string): DragonError {
    return new DragonError(message, { code: 'DRAGON_ERR_USAGE', hint, exitCode: 2 });
  },

  // A value from the environment or the launcher that cannot be read (a node
  // list, the backend's settings): `what` names it, `why` says what is wrong.
  unreadableEnv(what: string, why: string, hint: string): DragonError {
    return new DragonError(`${what} (${why})`, { code: 'DRAGON_ERR_BAD_ENV', hint, exitCode: 2 });
  },

  // Global Services asked another node to start a process: it did not answer,
  // answered with an error (`code` from that node), or the run-time ends.
  remoteStart(host: string, message: string, code: string): DragonError {
    return new DragonError(message, { code, hint: code === 'DRAGON_ERR_TIMEOUT' ? `The backend of ${host} is stuck or overloaded: see its log` : undefined });
  },

  // ---- the run-time: launcher, services, Process ----------------------------

  // A Process API used by a script that `dragon` did not start.
  otherNode(op: string, kind: string, owner: number, here: number): DragonError {
    return new DragonError(`${op}: this ${kind} lives on node ${owner} of the run-time and this process runs on node ${here}`, {
      code: 'DRAGON_ERR_OTHER_NODE',
      hint: `Channels, sync objects, Value and Array are carried between nodes; a ${kind} of another node cannot be mapped here: share a Channel, Value or Array instead, or start the processes that use it on its node (policy: { host })`,
    });
  },

  // destroy() of a sync object of another node.
  remoteSyncDestroy(op: string, what: string, owner: number, here: number): DragonError {
    return new DragonError(`${op}: this ${what} lives on node ${owner}; a process on node ${here} cannot destroy it`, {
      code: statusName(Status.INVALID_ARGUMENT),
      errno: Status.INVALID_ARGUMENT,
      hint: 'Destroy it from a process of its node (its creator); here, detach() the handle',
    });
  },

  // A channel of another node, and no transport agent on this node.
  noTransport(op: string, owner: number, what = 'channel'): DragonError {
    return new DragonError(`${op}: this ${what} lives on node ${owner} and cross-node objects are off on this node (no transport agent)`, {
      code: statusName(Status.NO_TRANSPORT),
      errno: Status.NO_TRANSPORT,
      hint: NO_TRANSPORT_FIX,
    });
  },

  // destroy() of a channel of another node.
  remoteDestroy(op: string, owner: number, here: number): DragonError {
    return new DragonError(`${op}: this channel lives on node ${owner}; a process on node ${here} cannot destroy it`, {
      code: statusName(Status.INVALID_ARGUMENT),
      errno: Status.INVALID_ARGUMENT,
      hint: 'Destroy it from a process of its node (its creator); here, detach() the handle',
    });
  },

  notInRuntime(op: string): DragonError {
    return new DragonError(`${op}: this process is not part of a Dragon run-time`, {
      code: 'DRAGON_ERR_NOT_IN_RUNTIME',
      hint: 'Run the script with `dragon script.mjs` (processes are started by the run-time\'s services)',
    });
  },

  // The request could not reach Global Services (the run-time is shutting down or gone).
  servicesGone(op: string, cause: unknown): DragonError {
    return new DragonError(`${op}: Global Services cannot be reached (${(cause as Error)?.message ?? String(cause)})`, {
      code: 'DRAGON_ERR_SERVICES',
      hint: 'The run-time is shutting down; start no new work',
      cause,
    });
  },

  // Global Services refused or failed a request; its code is kept.
  fromServices(op: string, message: string, code: string): DragonError {
    return new DragonError(`${op}: ${message}`, { code });
  },

  processState(op: string, why: string): DragonError {
    return new DragonError(`${op}: not possible because ${why}`, {
      code: 'DRAGON_ERR_PROCESS_STATE',
      hint: 'Create a new Process to run the target again; start() before join(), terminate() or kill()',
    });
  },

  // Python's ValueError of Process.close() and of a closed Process.
  valueError(op: string, why: string, hint: string): DragonError {
    return new DragonError(`${op}: ${why}`, { code: 'DRAGON_ERR_VALUE', hint });
  },

  moduleNotFound(op: string, module: string): DragonError {
    return new DragonError(`${op}: module ${module} not found`, {
      code: 'DRAGON_ERR_MODULE_NOT_FOUND',
      hint: 'Pass an absolute path, a path relative to the working directory, or a URL such as new URL(\'./worker.mjs\', import.meta.url)',
    });
  },

  exportNotFound(module: string, fn: string, exports: string[]): DragonError {
    const has = exports.length ? `it exports ${exports.slice(0, 8).join(', ')}${exports.length > 8 ? ', ...' : ''}` : 'it exports nothing';
    return new DragonError(`${module} has no function export '${fn}' (${has})`, {
      code: 'DRAGON_ERR_EXPORT_NOT_FOUND',
      hint: 'Check the fn passed to Process and that the module exports it',
    });
  },

  script(path: string, why: string, hint: string): DragonError {
    return new DragonError(`script ${path} ${why}`, { code: 'DRAGON_ERR_SCRIPT', hint });
  },

  poolSize(message: string, hint: string): DragonError {
    return new DragonError(message, { code: 'DRAGON_ERR_POOL_SIZE', hint });
  },

  // The run-time did not come up (the backend failed, or did not check in in time).
  startup(message: string, hint: string, cause?: unknown): DragonError {
    return new DragonError(message, { code: 'DRAGON_ERR_STARTUP', hint, cause });
  },

  backendLost(message: string, hint: string): DragonError {
    return new DragonError(message, { code: 'DRAGON_ERR_BACKEND_LOST', hint });
  },

  // /tmp/dragon-<user> is not a private directory of ours: `problem` says why.
  unsafeDirectory(path: string, problem: string, fix: string): DragonError {
    return new DragonError(`the run-time directory ${path} ${problem}`, { code: 'DRAGON_ERR_RUNTIME_DIR', hint: fix });
  },

  // The frontend's control listener cannot bind `host` (DRAGON_FRONTEND_ADDR, or the address it chose).
  cannotListen(host: string, fromEnv: boolean, why: string): DragonError {
    return fromEnv
      ? new DragonError(`DRAGON_FRONTEND_ADDR=${JSON.stringify(host)} cannot be listened on (${why})`, {
          code: 'DRAGON_ERR_BAD_ENV',
          hint: 'Set it to an IP address of one of this machine\'s interfaces that the nodes reach, or unset it',
          exitCode: 2,
        })
      : new DragonError(`cannot listen for the nodes' backends on ${host} (${why})`, {
          code: 'DRAGON_ERR_STARTUP',
          hint: 'Set DRAGON_FRONTEND_ADDR to an IP address of this machine that the nodes reach',
        });
  },

  runtimeLocked(path: string): DragonError {
    return new DragonError(`the run-time directory ${path} is in use by another run-time`, {
      code: 'DRAGON_ERR_RUNTIME_DIR',
      hint: 'Run again (a new run-time id is chosen every time)',
    });
  },

  library(message: string, hint: string, cause?: unknown): DragonError {
    return new DragonError(message, { code: 'DRAGON_ERR_LIBRARY', hint, cause });
  },

  // A program the install script builds is missing: npm skipped the script
  // (--ignore-scripts, or allowScripts does not approve it) or it failed.
  notBuilt(what: string, path: string): DragonError {
    return new DragonError(`${what} is not built (${path} is missing): dragonhpc's install script did not run`, {
      code: 'DRAGON_ERR_LIBRARY',
      hint:
        'Run `npm rebuild dragonhpc` in your project (`npm install` in a clone); it needs make and a C compiler. ' +
        'If npm skips install scripts, approve this one first: `npm approve-scripts dragonhpc`',
    });
  },

  // ---- Pool (mp/pool/) -------------------------------------------------------

  // A submission (or join) the pool's state does not allow.
  poolState(op: string, why: string, hint: string): DragonError {
    return new DragonError(`${op}: ${why}`, { code: 'DRAGON_ERR_POOL_STATE', hint });
  },

  // A worker process ended while it held this task.
  workerDied(worker: string, how: string): DragonError {
    return new DragonError(`Pool: ${worker} died (${how}) while running this task`, {
      code: 'DRAGON_ERR_WORKER_DIED',
      hint: 'The pool replaced the worker and goes on; the task is not retried (it may be what ended the worker)',
    });
  },

  // The pool cannot go on (its initializer failed, a worker could not start).
  poolBroken(why: string, cause?: unknown): DragonError {
    return new DragonError(`Pool: ${why}`, {
      code: 'DRAGON_ERR_POOL_BROKEN',
      hint: 'Fix the cause, then create a new Pool (this one runs no more tasks)',
      cause,
    });
  },

  // AsyncResult.successful() before the task finished (Python: ValueError).
  notReady(op: string): DragonError {
    return new DragonError(`${op}: the result is not ready`, {
      code: 'DRAGON_ERR_VALUE',
      hint: 'Check ready() first, or await wait() or get()',
    });
  },

  // AsyncResult.get(timeout) found no result in time (Python: multiprocessing.TimeoutError).
  resultTimeout(op: string, ms: number): TimeoutError {
    return new TimeoutError(`${op}: the result was not ready within ${ms} ms`);
  },

  poolTerminated(op: string): DragonError {
    return new DragonError(`${op}: the pool was terminated before this task finished`, {
      code: 'DRAGON_ERR_POOL_TERMINATED',
      hint: 'Wait for the results (or close() and join()) before terminate()',
    });
  },
  // ---- mp: Queue, JoinableQueue, SimpleQueue, Pipe (queues and pipes) -------

  // get() found nothing: at once (getNowait, timeout 0) or within `ms`.
  queueEmpty(op: string, ms?: number): Empty {
    return new Empty(ms ? `${op}: the queue stayed empty for ${ms} ms` : `${op}: the queue is empty`);
  },

  // put() found no room in a bounded queue: at once or within `ms`.
  queueFull(op: string, maxsize: number, ms?: number): Full {
    return new Full(ms ? `${op}: the queue stayed full (maxsize ${maxsize}) for ${ms} ms` : `${op}: the queue is full (maxsize ${maxsize})`);
  },

  // get/put on a queue handle after close() in this process (Python: ValueError).
  queueClosed(what: string, op: string): DragonError {
    return new DragonError(`${op}: this ${what} was closed in this process`, {
      code: 'DRAGON_ERR_CLOSED',
      hint: `close() means this process puts and gets no more; call it only when done with the ${what}`,
    });
  },

  // JoinableQueue.taskDone() once more than items were put (Python: ValueError).
  taskDoneTooOften(op: string): DragonError {
    return new DragonError(`${op}: called more times than there were items put`, {
      code: 'DRAGON_ERR_VALUE',
      hint: 'Call taskDone() exactly once for each item taken with get()',
    });
  },

  // A bad composite descriptor (Queue, JoinableQueue, SimpleQueue, Connection).
  badCompositeDescriptor(op: string, why: string): DragonError {
    return new DragonError(`${op}: not a descriptor of this object (${why})`, {
      code: statusName(Status.BAD_DESCRIPTOR),
      errno: Status.BAD_DESCRIPTOR,
      hint: 'Pass the exact bytes that serialize() returned, to the attach() of the same class',
    });
  },

  // recv() on a Connection whose other end closed, once its messages are drained.
  eof(op: string): EOFError {
    return new EOFError(`${op}: the other end of the pipe was closed and every message was received`);
  },

  // send() on the receive-only end of Pipe(false), or recv() on the send-only one.
  wrongEnd(op: string, end: 'receive-only' | 'send-only'): DragonError {
    return new DragonError(`${op}: this Connection is ${end}`, {
      code: end === 'receive-only' ? 'DRAGON_ERR_NOT_WRITABLE' : 'DRAGON_ERR_NOT_READABLE',
      hint: 'Pipe(false) returns [reader, writer]: receive on the first, send on the second; Pipe() (duplex) does both',
    });
  },

  // recvBytes() of a message sent with send() (or the reverse is fine: recv() decodes bytes too).
  notBytes(op: string): DragonError {
    return new DragonError(`${op}: the message was sent with send(), not sendBytes()`, {
      code: 'DRAGON_ERR_BAD_MESSAGE',
      hint: 'Receive messages of send() with recv(); recvBytes() takes what sendBytes() sent',
    });
  },
  // send() on a Connection whose receiving end has no open handle left (Python: BrokenPipeError).
  brokenPipe(op: string): BrokenPipeError {
    return new BrokenPipeError(`${op}: every handle of the receiving end was closed (in every process), nobody can receive this`);
  },

  // recvBytesInto() with a buffer that cannot hold the next message (Python: BufferTooShort).
  bufferTooShort(op: string, message: Buffer, room: number, offset: number): BufferTooShort {
    return new BufferTooShort(`${op}: the message has ${message.length} bytes and the buffer room for ${room} from offset ${offset}`, message);
  },
  // ---- end mp queues and pipes ------------------------------------------------
};

// ---- mp queues and pipes: the error classes users test with instanceof ------
/** Queue.get() found nothing in time (Python's queue.Empty). code DRAGON_ERR_EMPTY. */
export class Empty extends DragonError {
  constructor(message: string) {
    super(message, { code: 'DRAGON_ERR_EMPTY', hint: 'Wait longer ({ timeout }), or catch Empty and try again' });
    this.name = 'Empty';
  }
}

/** Queue.put() found no room in time (Python's queue.Full). code DRAGON_ERR_FULL. */
export class Full extends DragonError {
  constructor(message: string) {
    super(message, { code: 'DRAGON_ERR_FULL', hint: 'Wait longer ({ timeout }), let consumers catch up, or create the queue with a larger maxsize' });
    this.name = 'Full';
  }
}

/** Connection.recv() after the other end closed and every message was read (Python's EOFError). code DRAGON_ERR_EOF. */
export class EOFError extends DragonError {
  constructor(message: string) {
    super(message, { code: 'DRAGON_ERR_EOF', hint: 'Stop reading: the other end will send nothing more' });
    this.name = 'EOFError';
  }
}

/** Connection.send() with no open handle of the receiving end left (Python's BrokenPipeError). code DRAGON_ERR_BROKEN_PIPE. */
export class BrokenPipeError extends DragonError {
  constructor(message: string) {
    super(message, { code: 'DRAGON_ERR_BROKEN_PIPE', hint: 'Stop sending: the other end closed (or its process exited); keep a handle of it open while you send' });
    this.name = 'BrokenPipeError';
  }
}

/**
 * Connection.recvBytesInto() got a buffer too short for the next message
 * (Python's BufferTooShort). code DRAGON_ERR_BUFFER_TOO_SMALL. `bytes` is
 * the whole message (Python's e.args[0]) and `size` its length; unlike
 * Python the message also stays first in line for the next receive.
 */
export class BufferTooShort extends DragonError {
  readonly size: number;
  readonly bytes: Buffer;
  constructor(message: string, bytes: Buffer) {
    super(message, {
      code: statusName(Status.BUFFER_TOO_SMALL),
      errno: Status.BUFFER_TOO_SMALL,
      hint: `Pass a buffer with room for ${bytes.length} bytes from the offset: the message stays queued (or take it with recvBytes())`,
    });
    this.name = 'BufferTooShort';
    this.size = bytes.length;
    this.bytes = bytes;
  }
}
// ---- end mp queues and pipes ---------------------------------------------------

/** AsyncResult.get(timeout) expired (Python's multiprocessing.TimeoutError). code DRAGON_ERR_TIMEOUT. */
export class TimeoutError extends DragonError {
  constructor(message: string) {
    super(message, { code: statusName(Status.TIMEOUT), errno: Status.TIMEOUT, hint: 'Pass a longer timeout (milliseconds) or none to wait until the task ends; the task goes on' });
    this.name = 'TimeoutError';
  }
}

// Filled by native.ts once the library is loaded (dragon_strerror), so the
// text matches the C library; the symbolic name is the fallback.
let strerror: ((status: number) => string) | undefined;
export function setStrerror(fn: (status: number) => string): void {
  strerror = fn;
}
function nativeText(status: number): string {
  return strerror ? strerror(status) : statusName(status);
}

// Throws the DragonError for a libdragon status other than OK.
export function check(op: string, rc: number, detail?: string): void {
  if (rc !== Status.OK) throw Errors.native(op, rc, detail);
}

function hex(n: bigint): string {
  return `0x${n.toString(16)}`;
}
