// `dragon [FLAGS] SCRIPT [ARGS...]`: everything after SCRIPT belongs to the
// script, even what looks like one of our flags (`dragon app.mjs -N 2 --help`
// gives the script "-N 2 --help"). oclif's parser takes flags anywhere on the
// line and answers --help wherever it appears, so the line is cut at SCRIPT
// before oclif sees it. Cutting needs to know only which of our flags take a
// value (to skip it); that comes from the command's own flag definitions.

/** The part of an oclif flag definition the cut needs. */
export interface FlagShape {
  type: 'boolean' | 'option';
  char?: string;
  allowNo?: boolean;
  aliases?: string[];
  charAliases?: string[];
}

export interface SplitArgv {
  /** Our flags (and their values), to hand to oclif's parser. */
  flags: string[];
  /** SCRIPT, or undefined if the line has none. */
  script: string | undefined;
  /** The script's arguments, untouched. */
  args: string[];
}

function takesValue(token: string, flags: Record<string, FlagShape>): boolean {
  if (token.startsWith('--')) {
    if (token.includes('=')) return false; // --pool-size=2G
    const name = token.slice(2);
    const flag = flags[name] ?? Object.values(flags).find((f) => f.aliases?.includes(name));
    return flag?.type === 'option';
  }
  if (token.length !== 2) return false; // -N2: value attached (or a cluster of booleans)
  const c = token[1];
  const flag = Object.values(flags).find((f) => f.char === c || f.charAliases?.includes(c!));
  return flag?.type === 'option';
}

export function splitAtScript(argv: readonly string[], flags: Record<string, FlagShape>): SplitArgv {
  const ours: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') return { flags: ours, script: argv[i + 1], args: argv.slice(i + 2) };
    if (!token.startsWith('-') || token === '-') return { flags: ours, script: token, args: argv.slice(i + 1) };
    ours.push(token);
    // The value of an option flag, even one that starts with '-', is not SCRIPT.
    if (takesValue(token, flags) && i + 1 < argv.length) ours.push(argv[++i]!);
  }
  return { flags: ours, script: undefined, args: [] };
}
