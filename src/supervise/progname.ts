// The program name as the originals print it in their usage lines: argv[0]
// as called. Our bin/ scripts start through env(1), which hands Node the path
// the shell found, not the word typed; when that path is where a look-up of
// the bare name on $PATH leads, the command was (as good as) called by name.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function calledAs(fallback: string): string {
  const p = process.argv[1];
  if (!p) return fallback;
  const base = path.basename(p);
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const cand = path.join(dir, base);
    try {
      fs.accessSync(cand, fs.constants.X_OK);
    } catch {
      continue;
    }
    return path.resolve(cand) === path.resolve(p) ? base : p;
  }
  return p;
}
