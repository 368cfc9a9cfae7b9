// A service's env/ directory as envdir(8) and chpst -e read it: one file a
// variable, its first line the value (a NUL in it read as a newline); an
// empty file removes the variable from the environment.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { replaceFile } from '../lib/replace';

export class EnvError extends Error {}

export type EnvChange = { name: string; value: string | null };

/** "VAR=value" sets (VAR= sets it empty); "VAR" alone unsets; null when malformed. */
export function parseEnvArg(s: string): EnvChange | null {
  const eq = s.indexOf('=');
  const name = eq < 0 ? s : s.slice(0, eq);
  if (name === '' || name === '.' || name === '..' || /[/\0\n]/.test(name) || name.startsWith('.')) return null;
  if (eq < 0) return { name, value: null };
  const value = s.slice(eq + 1);
  if (value.includes('\0')) return null;
  return { name, value };
}

/** The file's contents: the value on one line (newlines stored as NUL), or nothing to unset. */
export function envText(c: EnvChange): string {
  return c.value === null ? '' : c.value.replace(/\n/g, '\0') + '\n';
}

export function writeEnv(serviceDir: string, c: EnvChange): void {
  const dir = path.join(serviceDir, 'env');
  const file = path.join(dir, c.name);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new EnvError(`unable to create ${dir}: ${errstr(e)}`);
  }
  try {
    replaceFile(file, envText(c), 0o644);
  } catch (e) {
    throw new EnvError(`unable to write ${file}: ${errstr(e)}`);
  }
}
