// What a backend started through a remote shell (ssh, pbsdsh) needs, since
// such a launcher carries none of our environment: the command line that
// enters the working directory and execs argv, and the settings text.
import { Errors } from '../errors/errors.js';
import { formatSecrets } from './secrets.js';

/**
 * Quotes one word for the remote login shell. POSIX single quotes, with a
 * quote written as \' and a '!' as \! outside the quotes, so that csh/tcsh
 * login shells (history expansion sees '!' even inside quotes) read the
 * same word as sh/bash/zsh. A newline cannot be quoted for csh; names with
 * one are refused.
 */
export function shellQuote(word: string): string {
  if (word.includes('\n')) throw Errors.usage(`cannot pass ${JSON.stringify(word)} to a remote shell (it holds a newline)`, 'Use a working directory and file names without newlines');
  // '=' and '%' stay quoted: zsh expands a leading '=word', csh a leading '%'.
  if (/^[A-Za-z0-9_@+:,./-]+$/.test(word)) return word;
  if (word === '') return "''";
  let out = '';
  let run = '';
  const flush = () => {
    if (run) out += `'${run}'`;
    run = '';
  };
  for (const c of word) {
    if (c === "'" || c === '!') {
      flush();
      out += `\\${c}`;
    } else {
      run += c;
    }
  }
  flush();
  return out;
}

/** `cd CWD && exec env NAME=value ... argv`, each word quoted. */
export function remoteCommand(cwd: string, vars: Record<string, string>, argv: string[]): string {
  const assignments = Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return ['cd', shellQuote(cwd), '&&', 'exec', 'env', ...assignments, ...argv.map(shellQuote)].join(' ');
}

/**
 * The settings a remote backend receives in the secrets text: the secrets
 * and every DRAGON_* variable of the caller's environment (the run-time's
 * settings). The rest of the environment is the remote login's own (PATH,
 * HOME... of that host), as with any ssh command.
 */
export function remoteSettings(env: NodeJS.ProcessEnv, secrets: Record<string, string>): string {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k.startsWith('DRAGON_')) vars[k] = v;
  return formatSecrets({ ...vars, ...secrets });
}
