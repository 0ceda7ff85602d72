// Cuts one output stream of a process into whole lines, so lines of
// different processes never interleave at the frontend. Bytes are passed
// through untouched (binary-safe); a line longer than LINE_LIMIT is passed
// on in pieces rather than held in memory.
export const LINE_LIMIT = 64 * 1024;

export class LineSplitter {
  #carry: Buffer | undefined;

  constructor(private readonly emit: (bytes: Buffer) => void) {}

  push(chunk: Buffer): void {
    const data = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
    const cut = data.lastIndexOf(0x0a) + 1; // just past the last newline
    if (cut > 0) this.emit(data.subarray(0, cut));
    const rest = data.subarray(cut);
    if (rest.length >= LINE_LIMIT) {
      this.emit(rest);
      this.#carry = undefined;
    } else {
      // copy: `rest` may pin a large chunk
      this.#carry = rest.length ? Buffer.from(rest) : undefined;
    }
  }

  /** End of the stream: what is left (a last line without newline). */
  flush(): void {
    if (this.#carry) this.emit(this.#carry);
    this.#carry = undefined;
  }
}
