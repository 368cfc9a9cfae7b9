// svc -udopchaitkx dir...: write the command letters to each supervise/control.
// With --wait sec (ours), then wait until each service is where the letters
// asked for (see target()), at most sec seconds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { UsageError, getopt, usage } from '../lib/getopt';
import { warn as strerrWarn } from '../lib/strerr';
import { decodeStatus } from '../supervise/status';
import { readyEnough, statusLabel } from '../supervise/extra';
import { sleepSync } from '../lib/sleep';

const USAGE = {
  prog: 'svc',
  text: 'svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill',
  code: 100,
};
const warn = (m: string) => strerrWarn('svc', m);
/** Ours: the original has no long options, so none of these can mean anything to it. */
const LONGS = { wait: true } as const;
/** Between two looks at the services waited for. */
const POLL_MS = 100;

/** What --wait waits for: down (d), a new run up and ready (t, k), up and ready (u, o), or nothing. */
type Target = 'down' | 'restarted' | 'up' | null;

function target(letters: Set<string>): Target {
  if (letters.has('d')) return 'down';
  if (letters.has('t') || letters.has('k')) return 'restarted';
  if (letters.has('u') || letters.has('o')) return 'up';
  return null;
}

export function main(argv: string[]): void {
  // Each letter once, in the order first given, as the original keeps them.
  const letters = new Set<string>();
  let waitSec: number | null = null;
  let rest: string[];
  try {
    rest = getopt(argv, 'udopchaitkx', (ch, value) => {
      if (ch !== 'wait') { letters.add(ch); return; }
      if (!/^\d{1,9}$/.test(value!)) throw new UsageError(`svc: --wait: not a number of seconds: ${value}`);
      waitSec = Number(value);
    }, LONGS);
  } catch (e) {
    usage(USAGE, e);
  }
  const data = Buffer.from([...letters].join(''), 'latin1');
  const home = process.cwd();
  /** The directories sent to, as found from home, with the status label before the letters. */
  const sent: Array<{ dir: string; at: string; before: string }> = [];
  let failed = false;
  for (const dir of rest) {
    const at = where(dir);
    try {
      process.chdir(at);
    } catch (e) {
      warn(`unable to chdir to ${dir}: ${errstr(e)}`);
      failed = true;
      continue;
    }
    const before = label('.');
    if (send(dir, data)) sent.push({ dir, at, before });
    else failed = true;
    process.chdir(home);
  }
  if (waitSec === null) process.exit(0);
  const goal = target(letters);
  if (goal && !awaitAll(sent, goal, waitSec)) failed = true;
  process.exit(failed ? 111 : 0);
}

/** The label of dir's supervise/status ('' when unreadable). */
function label(dir: string): string {
  try {
    return statusLabel(fs.readFileSync(path.join(dir, 'supervise', 'status')));
  } catch {
    return '';
  }
}

/** Whether the service at dir has reached goal. */
function reached(at: string, before: string, goal: Target): boolean {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(path.join(at, 'supervise', 'status'));
  } catch {
    return false;
  }
  const s = decodeStatus(raw);
  if (!s) return false;
  if (goal === 'down') return s.pid === 0;
  if (s.pid === 0 || s.state !== 1) return false;
  if (goal === 'restarted' && statusLabel(raw) === before) return false;
  return readyEnough(at, raw);
}

/** Wait until every service reached goal or sec seconds passed; each one late is named. */
function awaitAll(sent: Array<{ dir: string; at: string; before: string }>, goal: Target, sec: number): boolean {
  const end = Date.now() + sec * 1000;
  let todo = sent;
  for (;;) {
    todo = todo.filter((d) => !reached(d.at, d.before, goal));
    if (!todo.length) return true;
    if (Date.now() >= end) break;
    sleepSync(Math.min(POLL_MS, Math.max(1, end - Date.now())));
  }
  const what = goal === 'down' ? 'down' : goal === 'restarted' ? 'restarted, up and ready' : 'up and ready';
  for (const d of todo) warn(`timeout: ${d.dir} not ${what} after ${sec} seconds`);
  return false;
}

/**
 * Ours, as runit's sv: a bare name that is not a directory here is looked up
 * in $SVDIR, when set. Without $SVDIR, or for a path, the name as given.
 */
function where(dir: string): string {
  const svdir = process.env.SVDIR;
  if (!svdir || dir.includes('/') || dir === '.' || dir === '..') return dir;
  try {
    if (fs.statSync(dir).isDirectory()) return dir;
  } catch { /* not here: try $SVDIR */ }
  return path.join(svdir, dir);
}

/** Write the letters; whether they were written. */
function send(dir: string, data: Buffer): boolean {
  let fd: number;
  try {
    fd = fs.openSync('supervise/control', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENXIO' ? 'supervise not running' : errstr(e);
    warn(`unable to control ${dir}: ${why}`);
    return false;
  }
  try {
    if (data.length) fs.writeSync(fd, data);
    return true;
  } catch (e) {
    warn(`error writing commands to ${dir}: ${errstr(e)}`);
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
