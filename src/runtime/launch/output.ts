// Writes the processes' output to the frontend's stdout/stderr: bytes as
// they came (whole lines, cut by Local Services), optionally each line
// prefixed with "[host:puid] ". When a stream does not keep up, the source
// is paused (TCP back-pressure reaches the backend, which pauses the pipes).
import type { Writable } from 'node:stream';

export class OutputWriter {
  #paused = 0;

  constructor(
    private readonly stdout: Writable,
    private readonly stderr: Writable,
    private readonly label: boolean,
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  write(host: string, puid: number, fd: 1 | 2, data: Buffer): void {
    const out = this.label ? labelLines(data, `[${host}:${puid}] `) : data;
    const stream = fd === 1 ? this.stdout : this.stderr;
    if (stream.write(out)) return;
    if (this.#paused++ === 0) this.pause();
    stream.once('drain', () => {
      if (--this.#paused === 0) this.resume();
    });
  }

  /** Resolves once everything written so far reached the streams' targets. */
  flush(): Promise<void> {
    return Promise.all([this.stdout, this.stderr].map(drained)).then(() => undefined);
  }
}

/** Prefixes the start of `data` and every line start after a newline inside it. */
export function labelLines(data: Buffer, label: string): Buffer {
  const prefix = Buffer.from(label);
  const parts: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl + 1;
    parts.push(prefix, data.subarray(start, end));
    start = end;
  }
  return Buffer.concat(parts);
}

function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}
