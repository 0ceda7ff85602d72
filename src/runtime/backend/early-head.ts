// The head process, started by the backend before anything else (before
// the binding is loaded and the default pool exists), so that Node's
// start-up of the head overlaps the services' own. The head waits, in its
// process entry, for the services' variables (pool and GS channel
// descriptors), which the backend writes on the head's fd 3 once they
// exist; until the backend is connected to the frontend, output is held.
import { ENV } from '../core/runtime-env.js';
import { processEnv } from './env.js';
import { ManagedProcess, type OutputSink } from './managed-process.js';
import { execShim, needsTypeScript, procEntry, tsxImport } from '../package-files.js';

/** Tells the head where to read the services' variables (see proc/head.ts). */
export const SERVICES_FD_ENV = 'DRAGON_SERVICES_FD';

export interface HeadSpec {
  script: string;
  args: string[];
  cwd: string;
}

export class EarlyHead {
  readonly proc: ManagedProcess;
  #sink: OutputSink | undefined;
  readonly #held: Array<[number, 1 | 2, Buffer]> = [];

  constructor(
    readonly puid: number,
    spec: HeadSpec,
    baseEnv: Record<string, string | undefined>,
    rt: { rtid: string; hostname: string; nodeIndex: number; logLevel: string },
  ) {
    const env = processEnv(
      baseEnv,
      { [ENV.rtid]: rt.rtid, [ENV.hostname]: rt.hostname, [ENV.nodeIndex]: String(rt.nodeIndex), [ENV.logLevel]: rt.logLevel, [SERVICES_FD_ENV]: '3' },
      { puid, name: 'head' },
    );
    const node = needsTypeScript(spec.script) ? [process.execPath, '--import', tsxImport()] : [process.execPath];
    this.proc = ManagedProcess.launch(
      execShim(),
      { argv: [...node, procEntry, '--head', spec.script, ...spec.args], env, cwd: spec.cwd, stdin: true, channel: true },
      puid,
      (p, fd, data) => (this.#sink ? this.#sink(p, fd, data) : void this.#held.push([p, fd, data])),
    );
  }

  /** From now on output goes to `sink` (what was held first). */
  connect(sink: OutputSink): void {
    this.#sink = sink;
    for (const [p, fd, data] of this.#held.splice(0)) sink(p, fd, data);
  }

  /** The services are up: the head may run the script (vars: the run-time's environment). */
  release(vars: Record<string, string>): void {
    this.proc.sendPayload(Buffer.from(JSON.stringify(vars)));
  }

  /** The services did not come up: the head ends without running the script. */
  abandon(): void {
    this.proc.sendPayload(Buffer.alloc(0));
  }
}
