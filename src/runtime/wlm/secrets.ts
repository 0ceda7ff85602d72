// Settings for a backend started through a remote shell (ssh, pbsdsh), which
// carries no environment of ours. They must not be on the command line (any
// user of the node can read it in /proc/PID/cmdline), so they travel:
//   - ssh: on the backend's stdin, which ssh forwards and then closes;
//     the command line says DRAGON_SECRETS_STDIN=1;
//   - pbsdsh: in a file readable only by the user (pbsdsh forwards no
//     stdin); the command line says DRAGON_SECRETS_FILE=<path>.
// The text, one variable per line, every value base64 so any byte (newline,
// '=', non-UTF-8 junk) round-trips:
//     DRAGON_TOKEN=c2VjcmV0
//     DRAGON_BACKEND=eyJ2IjoxfQ==
// An empty line or end of input ends it. Lines that are not NAME=base64
// are refused (the backend must not start half-configured).
import { readFileSync } from 'node:fs';
import { DragonError, Errors } from '../errors/errors.js';

export const SECRETS_STDIN = 'DRAGON_SECRETS_STDIN';
export const SECRETS_FILE = 'DRAGON_SECRETS_FILE';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function badSecrets(why: string): DragonError {
  return Errors.unreadableEnv("the backend's settings from the launcher are unreadable", why, 'Start the backend with dragon, which writes them; check that the login shell of the remote host prints nothing on stdin');
}

export function formatSecrets(values: Record<string, string>): string {
  let out = '';
  for (const [k, v] of Object.entries(values)) {
    if (!NAME.test(k)) throw badSecrets(`${JSON.stringify(k)} is not a variable name`);
    out += `${k}=${Buffer.from(v, 'utf8').toString('base64')}\n`;
  }
  return `${out}\n`;
}

export function parseSecrets(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const l = line.replace(/\r$/, '');
    if (l === '') break;
    const eq = l.indexOf('=');
    const name = eq > 0 ? l.slice(0, eq) : '';
    const value = l.slice(eq + 1);
    if (!NAME.test(name) || !BASE64.test(value)) throw badSecrets(`line ${JSON.stringify(l.slice(0, 40))} is not NAME=base64`);
    out[name] = Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

/** Reads the secrets text from a stream (the backend's stdin) up to its end. */
export async function readSecretsFromStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return parseSecrets(Buffer.concat(chunks).toString('utf8'));
}

/**
 * For the backend's first lines: if the launcher said the settings come on
 * stdin or in a file, reads them, puts them into `env` (process.env by
 * default) and removes the two markers, so nothing the backend starts
 * inherits them. Returns what was read ({} when neither marker is set).
 */
export async function loadSecrets(env: NodeJS.ProcessEnv = process.env, stdin: NodeJS.ReadableStream = process.stdin): Promise<Record<string, string>> {
  let values: Record<string, string> = {};
  if (env[SECRETS_STDIN] === '1') values = await readSecretsFromStdin(stdin);
  else if (env[SECRETS_FILE]) {
    try {
      values = parseSecrets(readFileSync(env[SECRETS_FILE]!, 'utf8'));
    } catch (err) {
      if (err instanceof DragonError) throw err;
      throw badSecrets(`cannot read ${env[SECRETS_FILE]}: ${(err as Error).message}`);
    }
  }
  delete env[SECRETS_STDIN];
  delete env[SECRETS_FILE];
  Object.assign(env, values);
  return values;
}
