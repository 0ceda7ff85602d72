// Helpers of the wlm tests: scratch directories with stand-in tools on
// PATH, and the "one clear line" check of errors.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DragonError } from '../../src/runtime/errors/errors.js';

export function scratch(): { dir: string; bin: string; tool: (name: string, script: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dragon-wlm-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  return {
    dir,
    bin,
    tool(name, script) {
      const p = join(bin, name);
      writeFileSync(p, `#!/bin/sh\n${script}\n`);
      chmodSync(p, 0o755);
      return p;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Awaits (or calls) `what`, which must throw a DragonError of one line; returns it. */
export async function oneLine(what: Promise<unknown> | (() => unknown)): Promise<DragonError> {
  try {
    await (typeof what === 'function' ? what() : what);
  } catch (err) {
    assert.instance(err, DragonError, String(err));
    assert.not.match((err as Error).message, /\n/);
    return err as DragonError;
  }
  throw new Error('expected a DragonError, nothing was thrown');
}
