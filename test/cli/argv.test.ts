// `dragon [FLAGS] SCRIPT [ARGS...]`: the line is cut at SCRIPT, and what
// follows is the script's, whatever it looks like.
import * as assert from 'uvu/assert';
import Dragon from '../../src/commands/dragon.js';
import { splitAtScript } from '../../src/runtime/cli/argv.js';
import { suite } from '../helpers/suite.js';

const test = suite('cli argv');
const split = (line: string) => splitAtScript(line ? line.split(' ') : [], Dragon.flags);

const cases: [string, string[], string | undefined, string[]][] = [
  // line                                   our flags                      script      script args
  ['app.mjs', [], 'app.mjs', []],
  ['app.mjs -N 3 --help --label', [], 'app.mjs', ['-N', '3', '--help', '--label']],
  ['-N 2 app.mjs a', ['-N', '2'], 'app.mjs', ['a']],
  ['-N2 app.mjs', ['-N2'], 'app.mjs', []],
  ['--nodes 2 --label app.mjs', ['--nodes', '2', '--label'], 'app.mjs', []],
  ['--no-label app.mjs', ['--no-label'], 'app.mjs', []],
  ['--pool-size=2G app.mjs --pool-size 1G', ['--pool-size=2G'], 'app.mjs', ['--pool-size', '1G']],
  ['--log-level debug app.mjs', ['--log-level', 'debug'], 'app.mjs', []],
  ['--grace-period -5 app.mjs', ['--grace-period', '-5'], 'app.mjs', []], // a value, even with '-'
  ['--label -- -odd.mjs --x', ['--label'], '-odd.mjs', ['--x']],
  ['-- app.mjs -- x', [], 'app.mjs', ['--', 'x']],
  ['app.mjs -- x', [], 'app.mjs', ['--', 'x']],
  ['--bogus app.mjs', ['--bogus'], 'app.mjs', []], // unknown: left for oclif to report
  ['--help', ['--help'], undefined, []],
  ['-N', ['-N'], undefined, []],
  ['', [], undefined, []],
  ['- a', [], '-', ['a']],
];

for (const [line, flags, script, args] of cases) {
  test(`"${line}"`, () => {
    const r = split(line);
    assert.equal(r.flags, flags, 'our flags');
    assert.is(r.script, script, 'script');
    assert.equal(r.args, args, 'script args');
  });
}

test.run();
