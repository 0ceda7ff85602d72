import { native } from './native.js';

/** libdragon's version ("major.minor") and the shared-memory layout version it speaks. */
export function libraryVersion(): { version: string; layout: number } {
  return { version: native.version() as string, layout: native.layoutVersion() as number };
}
