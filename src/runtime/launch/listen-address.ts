// Where the frontend's control listener binds: an address the nodes can
// reach. DRAGON_FRONTEND_ADDR wins (a site with several networks names the
// one to use); otherwise the first non-loopback IPv4 address of this
// machine, so the listener is not exposed on every interface. On this
// machine alone (no other node) it is the loopback.
import { networkInterfaces } from 'node:os';

export const FRONTEND_ADDR_ENV = 'DRAGON_FRONTEND_ADDR';

export function listenAddress(multiNode: boolean, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env[FRONTEND_ADDR_ENV]?.trim();
  if (chosen) return chosen;
  if (!multiNode) return '127.0.0.1';
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
