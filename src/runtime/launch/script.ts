// The head script, checked before anything starts: it must be a readable
// file. Returns its absolute path.
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Errors } from '../errors/errors.js';

export function checkScript(script: string): string {
  const path = resolve(script);
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw Errors.script(script, 'does not exist', 'Check the path (relative paths start from the current directory)');
  }
  if (!isFile) throw Errors.script(script, 'is not a file', 'Pass the .js, .mjs or .ts file to run');
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw Errors.script(script, 'is not readable', `Give yourself read permission (chmod u+r ${script})`);
  }
  return path;
}
