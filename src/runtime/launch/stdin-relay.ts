// Relays the frontend's stdin to the head process, as frames; stops (and
// lets go of stdin, so the embedding process can exit) when told.
import type { Readable } from 'node:stream';

export interface StdinSink {
  data(chunk: Buffer): boolean;
  end(): void;
  onDrain(fn: () => void): void;
}

export function relayStdin(stdin: Readable, sink: StdinSink): () => void {
  let stopped = false;
  const onData = (chunk: Buffer) => {
    if (!sink.data(chunk)) {
      stdin.pause();
      sink.onDrain(() => !stopped && stdin.resume());
    }
  };
  const onEnd = () => !stopped && sink.end();
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.on('error', onEnd);
  return () => {
    if (stopped) return;
    stopped = true;
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.off('error', onEnd);
    stdin.on('error', () => {}); // a late error of a stream we no longer read
    stdin.pause();
  };
}
