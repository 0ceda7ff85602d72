// Runs the queue/pipe head (fixtures/mp/queues-head.ts) for one suite in a
// one-node run-time and gives its RESULT lines by scenario name.
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { dragon, nothingLeft, type DragonResult } from '../../runtime/helpers/dragon.js';

export const HEAD = fileURLToPath(new URL('../../fixtures/mp/queues-head.js', import.meta.url));

export interface HeadRun {
  run: DragonResult;
  result(name: string): any;
  clean(): Promise<void>;
}

export async function runHead(suite: string): Promise<HeadRun> {
  const run = await dragon(HEAD, [suite], {}, 80_000);
  const results = new Map<string, any>();
  for (const m of run.stdout.matchAll(/RESULT (\S+) (.*)$/gm)) results.set(m[1]!, JSON.parse(m[2]!));
  return {
    run,
    result(name) {
      const r = results.get(name);
      assert.ok(r, `scenario ${name} ran (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
      assert.not.ok(r.failed, `scenario ${name}: ${r.failed}`);
      return r;
    },
    async clean() {
      assert.is(run.code, 0, run.stderr);
      assert.equal(await nothingLeft(run.info!.runtimeId), []);
    },
  };
}
