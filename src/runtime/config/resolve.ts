// The launcher's configuration from three sources, in this order: flags,
// DRAGON_* environment variables, defaults. One zod schema
// (schemas/config.ts) validates the merge; an error names the flag or the
// variable the bad value came from, so the user knows what to change.
import { CONFIG_ENV, DragonConfig, type ConfigField } from '../../../schemas/config.js';
import { Errors, type DragonError } from '../errors/errors.js';
import { booleanFromText, durationFromText, integerFromText } from './text.js';

/** Values given on the command line; undefined = not given. */
export interface FlagValues {
  label?: boolean;
  logLevel?: string;
  poolSize?: string;
  gracePeriod?: string;
  nodes?: string;
  wlm?: string;
  hostfile?: string;
  hosts?: string;
  heartbeatTimeout?: string;
}

export interface ConfigSources {
  flags?: FlagValues;
  env?: NodeJS.ProcessEnv;
  script: string | undefined;
  args?: string[];
}

// Text (from a flag or a variable) to the type the schema wants.
const FROM_TEXT: Record<ConfigField, (text: string) => unknown> = {
  label: booleanFromText,
  logLevel: (t) => t.trim().toLowerCase(),
  poolSize: (t) => t.trim(),
  gracePeriod: durationFromText,
  nodes: integerFromText,
  wlm: (t) => t.trim().toLowerCase(),
  hostfile: (t) => t.trim(),
  hosts: (t) => t.split(',').map((h) => h.trim()).filter((h) => h !== ''),
  heartbeatTimeout: durationFromText,
};

/** "--pool-size" for poolSize: the flags are the fields in kebab case. */
export function flagName(field: ConfigField): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

interface Origin {
  /** "--pool-size" or "DRAGON_POOL_SIZE". */
  name: string;
  raw: string;
  fromEnv: boolean;
}

export function resolveConfig({ flags = {}, env = process.env, script, args = [] }: ConfigSources): DragonConfig {
  const input: Record<string, unknown> = { script, args };
  const origins = new Map<string, Origin>();
  for (const field of Object.keys(CONFIG_ENV) as ConfigField[]) {
    const flag = flags[field];
    const variable = CONFIG_ENV[field];
    const text = env[variable];
    if (flag !== undefined) {
      input[field] = typeof flag === 'string' ? FROM_TEXT[field](flag) : flag;
      const name = flag === false ? flagName(field).replace(/^--/, '--no-') : flagName(field);
      origins.set(field, { name, raw: String(flag), fromEnv: false });
    } else if (text !== undefined && text !== '') {
      // An empty variable counts as unset, as shells make it easy to leave one so.
      input[field] = FROM_TEXT[field](text);
      origins.set(field, { name: variable, raw: text, fromEnv: true });
    }
  }
  const parsed = DragonConfig.safeParse(input);
  if (parsed.success) return parsed.data;
  throw configError(parsed.error.issues[0]!, origins);
}

function configError(issue: { path: (string | number)[]; message: string }, origins: Map<string, Origin>): DragonError {
  const field = String(issue.path[0] ?? '');
  if (field === 'script') {
    return Errors.usage(issue.message, 'Give the file to run: dragon [FLAGS] SCRIPT [ARGS...] (see dragon --help)');
  }
  const origin = origins.get(field);
  if (!origin) return Errors.badConfig(field, undefined, issue.message); // a default is wrong: a bug
  return Errors.badConfig(origin.name, origin.raw, issue.message, origin.fromEnv ? `Fix or unset ${origin.name}` : undefined);
}
