#!/usr/bin/env node
// Regenerates README.md's command reference (between <!-- commands --> and
// <!-- commandsstop -->) from the oclif metadata of both executables, with
// oclif's own README generator (the code behind `oclif readme`, which
// handles one executable per package.json; we have two, see
// src/runtime/cli/oclif-config.ts). So the reference cannot drift from --help.
//   node scripts/readme.mjs           rewrite README.md (needs `npm run build` first)
//   node scripts/readme.mjs --check   exit 1 if README.md is out of date
import { readFileSync, writeFileSync } from 'node:fs';

process.env.COLUMNS = '100'; // the generator wraps at $COLUMNS: same text on every terminal
const { Config } = await import('@oclif/core/config');
const generatorModule = await import('oclif/lib/readme-generator.js'); // CommonJS: exports.default
const ReadmeGenerator = generatorModule.default.default ?? generatorModule.default;
const { loadOptions } = await import('../dist/src/runtime/cli/oclif-config.js');
const { packageRoot } = await import('../dist/src/runtime/package-root.js');

const readmePath = `${packageRoot()}/README.md`;
const START = '<!-- commands -->';
const STOP = '<!-- commandsstop -->';

async function reference(bin) {
  const config = await Config.load(loadOptions(bin));
  const generator = new ReadmeGenerator(config, { readmePath, sourceLinks: false, aliases: false, dryRun: true });
  // As ReadmeGenerator.generate() does for a single-command CLI: the command's id is ''.
  const commands = config.commands.filter((c) => !c.hidden).map((c) => ({ ...c, id: '' }));
  return generator.commands(commands);
}

// One list of links, then the sections, one heading level below "## Command reference".
const parts = await Promise.all(['dragon', 'dragon-cleanup'].map(reference));
const links = parts.flatMap((p) => p.split('\n').filter((l) => l.startsWith('* [')));
const sections = parts.map((p) => p.split('\n').filter((l) => !l.startsWith('* [')).join('\n').trim());
const body = [links.join('\n'), ...sections].join('\n\n').replace(/^## `/gm, '### `');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf(START);
const stop = readme.indexOf(STOP);
if (start < 0 || stop < start) {
  console.error(`readme: README.md has no ${START} ... ${STOP} section to fill`);
  process.exit(1);
}
const updated = `${readme.slice(0, start + START.length)}\n${body}\n${readme.slice(stop)}`;

if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.error('readme: the command reference in README.md is out of date: run `npm run readme`');
    process.exit(1);
  }
  console.log('readme: the command reference in README.md is up to date');
} else if (updated !== readme) {
  writeFileSync(readmePath, updated);
  console.log('readme: updated the command reference in README.md');
} else {
  console.log('readme: README.md already up to date');
}
