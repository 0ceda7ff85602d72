// What this test run left in /dev/shm: segments are named
// "dragon-<user>-<rtid hex>-p<pool id>", and every test file runs under its
// own DRAGON_RT_UID (set by test/run.ts), so a leftover names its file.
import { readdirSync } from 'node:fs';

export function segmentsOf(rtidHex: string): string[] {
  const mid = `-${rtidHex.toLowerCase()}-p`;
  return readdirSync('/dev/shm').filter((n) => n.startsWith('dragon-') && n.includes(mid));
}

export function ownRtidHex(): string {
  const rt = process.env.DRAGON_RT_UID;
  if (!rt) throw new Error('DRAGON_RT_UID is not set: run the tests through `npm test`');
  return rt.toLowerCase();
}
