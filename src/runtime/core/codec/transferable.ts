// The registry of Dragon objects that travel inside values (Channel,
// MemoryPool, Allocation, Lock...): each class registers its prototype, a
// one-byte kind and how to attach a descriptor. Registered by the classes
// themselves, so the codec imports none of them (no import cycle).
export interface Transferable {
  serialize(): Uint8Array;
}

const kinds = new Map<object, number>(); // prototype -> kind
const attachers = new Map<number, (desc: Uint8Array) => unknown>();

export function registerTransferable(kind: number, proto: object, attach: (desc: Uint8Array) => unknown): void {
  kinds.set(proto, kind);
  attachers.set(kind, attach);
}

/** The kind of a Dragon object by its prototype, undefined for anything else. */
export function kindOfProto(proto: object | null): number | undefined {
  return proto === null ? undefined : kinds.get(proto);
}

export function attacherOf(kind: number): ((desc: Uint8Array) => unknown) | undefined {
  return attachers.get(kind);
}

// Closes handles attached while decoding a message that then failed, so a
// bad message leaks no handle.
export function detachQuietly(objects: readonly unknown[]): void {
  for (const o of objects) {
    try {
      (o as { detach?: () => void }).detach?.();
    } catch {
      // already closed: nothing to give back
    }
  }
}
