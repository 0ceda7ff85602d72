// Mirror of native/libdragon/include/dragon/return_codes.h: the numeric
// status every libdragon call returns, and its symbolic name. Kept by hand
// (the header is the contract); test/core/status.test.ts checks it against
// dragon_errname() so the two cannot drift silently.
export const Status = {
  OK: 0,
  INVALID_ARGUMENT: 1,
  NO_MEMORY: 2,
  TIMEOUT: 3,
  BAD_DESCRIPTOR: 4,
  VERSION_MISMATCH: 5,
  FOREIGN_RUNTIME: 6,
  NOT_FOUND: 7,
  EXISTS: 8,
  DESTROYED: 9,
  TOO_LARGE: 10,
  SHM_FULL: 11,
  PERMISSION: 12,
  SYSTEM: 13,
  NOT_HELD: 14,
  NOT_OWNER: 15,
  BROKEN: 16,
  OVERFLOW: 17,
  LIMIT: 18,
  BUFFER_TOO_SMALL: 19,
  BUSY: 20,
  WRONG_KIND: 21,
  INTERNAL: 22,
  PEER_LOST: 23,
  NO_TRANSPORT: 24,
} as const;

export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

const names: string[] = [];
for (const [name, code] of Object.entries(Status)) names[code] = name;

// "DRAGON_ERR_TIMEOUT" for 3: the same spelling as dragon_errname().
export function statusName(code: number): string {
  const name = names[code];
  if (name === undefined) return 'DRAGON_ERR_UNKNOWN';
  return name === 'OK' ? 'DRAGON_OK' : `DRAGON_ERR_${name}`;
}
