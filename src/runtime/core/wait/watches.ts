// Per-process bookkeeping of watches. libdragon keeps one watch entry per
// (doorbell slot, bit) on an object's event, and dragon_*_unwatch removes
// every entry of this process's slot on that event. So when several
// handles (or queues) of this process wait on the same object they must
// share one bit and one watch: bits are given per object (its descriptor)
// and watches are reference-counted per (object, event).
const bits = new Map<string, { bit: number; refs: number }>();
let nextBit = 0;

/** The doorbell bit of an object (key: its descriptor); pair with releaseBit. */
export function bitFor(objectKey: string): number {
  const found = bits.get(objectKey);
  if (found) {
    found.refs++;
    return found.bit;
  }
  const bit = nextBit;
  nextBit = (nextBit + 1) & 63;
  bits.set(objectKey, { bit, refs: 1 });
  return bit;
}

export function releaseBit(objectKey: string): void {
  const found = bits.get(objectKey);
  if (found && --found.refs === 0) bits.delete(objectKey);
}

const watchRefs = new Map<string, number>();

/** Registers the C watch on first use; returns a libdragon status. */
export function addWatch(key: string, watch: () => number): number {
  const n = watchRefs.get(key) ?? 0;
  if (n === 0) {
    const rc = watch();
    if (rc !== 0) return rc;
  }
  watchRefs.set(key, n + 1);
  return 0;
}

/** Drops the C watch when its last user lets go. */
export function removeWatch(key: string, unwatch: () => number): void {
  const n = watchRefs.get(key) ?? 0;
  if (n > 1) {
    watchRefs.set(key, n - 1);
    return;
  }
  watchRefs.delete(key);
  unwatch();
}

/** A stable string key for a descriptor. */
export function objectKey(desc: Uint8Array): string {
  return Buffer.from(desc.buffer, desc.byteOffset, desc.byteLength).toString('latin1');
}
