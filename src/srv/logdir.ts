// The directory a log service writes to, read from its run script: the
// last word of the line that runs multilog (whose directories start with
// "." or "/"), svlogd or s6-log. Relative to the log service's directory,
// where its supervisor starts it. null when run names none.
import * as path from 'node:path';

const LOGGERS = /^(multilog|svlogd|s6-log)$/;

/** Words of one shell line: quotes and backslashes as sh reads them; no expansion. */
export function words(line: string): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '#' && cur === null) break;
    if (c === ' ' || c === '\t') {
      if (cur !== null) out.push(cur);
      cur = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur = (cur ?? '') + line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else if (c === '"') {
      let s = '';
      for (i++; i < line.length && line[i] !== '"'; i++) s += line[i] === '\\' && i + 1 < line.length ? line[++i] : line[i];
      cur = (cur ?? '') + s;
    } else if (c === '\\' && i + 1 < line.length) {
      cur = (cur ?? '') + line[++i];
    } else {
      cur = (cur ?? '') + c;
    }
  }
  if (cur !== null) out.push(cur);
  return out;
}

export function logDirOf(runText: string, logServiceDir: string): string | null {
  let found: string | null = null;
  for (const line of runText.split('\n')) {
    const w = words(line);
    const at = w.findIndex((x) => LOGGERS.test(path.basename(x)));
    if (at < 0) continue;
    const prog = path.basename(w[at]);
    const args = w.slice(at + 1);
    const last = args[args.length - 1];
    if (last === undefined) continue;
    if (prog === 'multilog' && !(last.startsWith('.') || last.startsWith('/'))) continue;
    if (prog !== 'multilog' && last.startsWith('-')) continue;
    found = path.resolve(logServiceDir, last);
  }
  return found;
}
