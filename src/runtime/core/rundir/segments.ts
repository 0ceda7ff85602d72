// This user's libdragon segments in /dev/shm: named
// "dragon-<user>-<rtid>-p<pool id>" AND owned by our uid (the name alone
// proves nothing: anyone can create any name in /dev/shm).
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { segmentRtid } from './names.js';

export interface Segment {
  name: string;
  path: string;
  rtid: string;
  bytes: number;
}

export function scanSegments(shmDir: string, uid: number, tag: string): Segment[] {
  const out: Segment[] = [];
  for (const name of readdirSync(shmDir).sort()) {
    const rtid = segmentRtid(name, tag);
    if (!rtid) continue;
    const path = join(shmDir, name);
    try {
      const st = lstatSync(path);
      if (st.isFile() && st.uid === uid) out.push({ name, path, rtid, bytes: st.size });
    } catch {
      // unlinked meanwhile
    }
  }
  return out;
}
