// What srv reads from a service directory: whether a supervisor holds it
// (supervise/ok has a reader), supervise/status in daemontools' 18-byte or
// runit's 20-byte layout, our supervisor's supervise/restarts when it goes
// with that status, runit's supervise/stat, and the down file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { readRegular } from '../lib/regular';
import { State, Status, decodeStatus } from '../supervise/status';
import { readRestarts } from '../supervise/service';

export interface Observed {
  /** A supervisor reads supervise/ok. */
  supervised: boolean;
  /** Why the state could not be read (names the file), when it could not. */
  error?: string;
  status?: Status;
  /** supervise/restarts when current (our supervisor wrote it with this status). */
  restarts: number | null;
  /** runit's supervise/stat, first line, when present. */
  stat?: string;
  normallyDown: boolean;
}

/** The supervisor's small files, read as regular files only: a FIFO put there cannot hang srv. */
const SMALL = 4096;
const text = (file: string) => readRegular(file, SMALL).toString('latin1');

export function observe(dir: string): Observed {
  const o: Observed = { supervised: false, restarts: null, normallyDown: fs.existsSync(path.join(dir, 'down')) };
  const ok = path.join(dir, 'supervise', 'ok');
  try {
    const fd = fs.openSync(ok, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    // A FIFO with a reader: a supervisor. Anything else there is no sign of one.
    try { o.supervised = fs.fstatSync(fd).isFIFO(); } finally { fs.closeSync(fd); }
    if (!o.supervised) return o;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENXIO' && code !== 'ENOENT') o.error = `unable to open ${ok}: ${errstr(e)}`;
    return o;
  }
  const file = path.join(dir, 'supervise', 'status');
  let raw: Buffer;
  try {
    raw = readRegular(file, SMALL);
  } catch (e) {
    return fromText(dir, o, `unable to read ${file}: ${errstr(e)}`);
  }
  const s = decodeStatus(raw);
  if (!s) return fromText(dir, o, `unable to read ${file}: bad format (${raw.length} bytes)`);
  o.status = s;
  o.restarts = readRestarts(raw, () => text(path.join(dir, 'supervise', 'restarts')));
  try {
    o.stat = text(path.join(dir, 'supervise', 'stat')).split('\n')[0];
  } catch { /* daemontools and ours write no stat */ }
  return o;
}

/**
 * Without a usable supervise/status: runit's supervise/stat ("run",
 * "down", "finish", then remarks) and supervise/pid, when both are there;
 * the time of the last change is then unknown (0). Otherwise the error.
 */
function fromText(dir: string, o: Observed, error: string): Observed {
  try {
    const stat = text(path.join(dir, 'supervise', 'stat')).split('\n')[0];
    const pidText = text(path.join(dir, 'supervise', 'pid')).trim();
    const state = { run: State.Run, down: State.Down, finish: State.Finish }[stat.split(',')[0]];
    if (state === undefined || !/^\d*$/.test(pidText)) throw new Error('unknown');
    o.stat = stat;
    o.status = { when: { sec: 0, nano: 0 }, pid: Number(pidText || 0), paused: / paused/.test(stat),
                 want: /want down/.test(stat) ? 'd' : 'u', term: /got TERM/.test(stat), state };
  } catch {
    o.error = error;
  }
  return o;
}

/** up: run is alive (runit's finish counts as down: the service is not serving). */
export function isUp(o: Observed): boolean {
  return !!o.status && o.status.pid !== 0 && o.status.state === State.Run;
}

/** The word srv shows: up, down, or - when no supervisor holds the directory. */
export function word(o: Observed): 'up' | 'down' | '-' {
  if (!o.supervised || !o.status) return '-';
  return isUp(o) ? 'up' : 'down';
}

export interface Proc { pid: number; ppid: number; cmd: string; children: Proc[] }

/** Every process below pid (from /proc), as a tree; null when pid is gone. */
export function processTree(pid: number): Proc | null {
  const all = new Map<number, Proc>();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${p}/stat`, 'latin1'); } catch { continue; }
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') continue;
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0').join(' ').trim(); } catch { /* gone */ }
    if (cmd === '') cmd = `[${stat.slice(stat.indexOf('(') + 1, close)}]`;
    all.set(Number(p), { pid: Number(p), ppid: Number(f[1]), cmd, children: [] });
  }
  for (const pr of all.values()) all.get(pr.ppid)?.children.push(pr);
  for (const pr of all.values()) pr.children.sort((a, b) => a.pid - b.pid);
  return all.get(pid) ?? null;
}

/** The tree as lines, two spaces of indent a level. */
export function treeLines(p: Proc, depth = 0): string[] {
  return [`${'  '.repeat(depth)}${p.pid} ${p.cmd}`, ...p.children.flatMap((c) => treeLines(c, depth + 1))];
}
