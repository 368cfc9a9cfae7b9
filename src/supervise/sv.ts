// sv's work on its services, once its command line is read (src/cmd/sv.ts):
// runit 2.1.2's sv. Writes control letters to supervise/control, reports
// supervise/status (the 20-byte layout: ours, runsv's), and when asked to
// wait, checks until each service is where it was asked to be, or the wait
// is over.
//
// The whole run is synchronous, as the original's: one service after another,
// each looked up from the directory sv started in, stdout flushed where the
// original flushes it (diagnostics on stderr land between those flushes).
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { errstr } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import { unpackTai } from '../lib/tai64';
import { readyEnough } from './extra';
import { sleepSync } from '../lib/sleep';
import { keepIgnored } from '../lib/ignored';

/** Between two checks of the services being waited for. */
const POLL_MS = 420;

export type Act = 'control' | 'status' | null;
class Sv {
  private stdout = '';
  rc = 0;
  /** The service being worked on, as named on the command line. */
  name = '';
  /** Messages name name/log (sv status's log part). */
  islog = false;
  /** The run's start and the time of the latest look (seconds, fractional). */
  readonly start: number;
  now: number;

  constructor(readonly lsb: boolean, readonly acts: string) {
    this.now = this.start = nowSeconds();
  }

  /** The start's whole second, what "t", "k" and "o" compare status times with. */
  private get startSec(): number { return Math.floor(this.start); }

  outs(s: string): void { this.stdout += s; }
  flush(s = ''): void {
    this.stdout += s;
    if (!this.stdout) return;
    try { fs.writeSync(1, this.stdout); } catch { /* nowhere to say it */ }
    this.stdout = '';
  }
  /** One line to stderr, in one write. */
  err(line: string): void {
    writeLine(line);
  }

  private out(prefix: string, m: string, e?: unknown): void {
    this.outs(`${prefix}${this.name}${this.islog ? '/log' : ''}: ${m}`);
    if (e !== undefined) this.outs(`: ${errstr(e)}`);
    this.flush('\n');
  }
  fail(m: string, e?: unknown): void { this.rc++; this.out('fail: ', m, e); }
  warn(m: string, e?: unknown): void { this.rc++; this.out('warning: ', m, e); }
  ok(m: string): void { this.out('ok: ', m); }

  /** The status bytes; null when it could not be read (said why), 0 when no runsv (said so). */
  statusGet(): Buffer | null | 0 {
    let fd: number;
    try {
      fd = fs.openSync('supervise/ok', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENXIO') {
        if (this.acts[0] === 'x') this.ok('runsv not running');
        else this.fail('runsv not running');
        return 0;
      }
      this.warn('unable to open supervise/ok', e);
      return null;
    }
    fs.closeSync(fd);
    try {
      fd = fs.openSync('supervise/status', 'r');
    } catch (e) {
      this.warn('unable to open supervise/status', e);
      return null;
    }
    const b = Buffer.alloc(20);
    let n: number;
    try {
      n = fs.readSync(fd, b, 0, 20, null);
    } catch (e) {
      this.warn('unable to read supervise/status', e);
      return null;
    } finally {
      fs.closeSync(fd);
    }
    if (n !== 20) {
      this.warn('unable to read supervise/status: bad format');
      return null;
    }
    return b;
  }

  /** "run: name: (pid N) Ss, ..." without a newline: 1 up, 2 down, 0 when down could not be stat'ed. */
  statusPrint(b: Buffer, m: string): number {
    let normallyUp = false;
    try {
      fs.statSync('down');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.err(`warning: unable to stat ${this.name}/down: ${errstr(e)}`);
        return 0;
      }
      normallyUp = true;
    }
    const pid = b.readUInt32LE(12);
    const when = unpackTai(b, 0).sec;
    const state = b[19];
    this.outs(state === 0 ? 'down: ' : state === 1 ? 'run: ' : state === 2 ? 'finish: ' : '');
    this.outs(`${m}: `);
    if (state) this.outs(`(pid ${pid}) `);
    const now = Math.floor(this.now);
    this.outs(`${now < when ? 0 : now - when}s`);
    if (pid && !normallyUp) this.outs(', normally down');
    if (!pid && normallyUp) this.outs(', normally up');
    if (pid && b[16]) this.outs(', paused');
    if (!pid && b[17] === 0x75) this.outs(', want up');
    if (pid && b[17] === 0x64) this.outs(', want down');
    if (pid && b[18]) this.outs(', got TERM');
    return pid ? 1 : 2;
  }

  /** sv status: the service, then its log service when it has log/. */
  status(): number {
    const b = this.statusGet();
    if (b === null && this.lsb) done(4);
    if (!b) return 0;
    let rc = this.statusPrint(b, this.name);
    this.islog = true;
    try {
      process.chdir('log');
      this.outs('; ');
      const l = this.statusGet();
      if (l) { rc = this.statusPrint(l, 'log'); this.outs('\n'); }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.outs('; ');
        this.warn('unable to change directory', e);
      } else this.outs('\n');
    }
    this.islog = false;
    this.flush();
    if (this.lsb) done(rc === 1 ? 0 : rc === 2 ? 3 : 4);
    return rc;
  }

  /**
   * Ours: when our supervisor gave the current run a notification descriptor
   * (the service directory's notification-fd), whether the run said it was
   * ready; true otherwise. Readiness counts as a check passed, before ./check.
   */
  ready(b: Buffer): boolean {
    return readyEnough('.', b);
  }

  /** ./check, when there is one: whether it exits 0. */
  checkScript(): boolean {
    try {
      fs.statSync('check');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
      this.err(`warning: unable to stat ${this.name}/check: ${errstr(e)}`);
      return false;
    }
    const [file, args] = keepIgnored('./check', []); // (lib/ignored.ts)
    const r = spawnSync(file, args, { stdio: ['inherit', 'ignore', 'inherit'] });
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'ENOMEM') {
        this.err(`warning: unable to fork for ${this.name}/check: ${errstr(r.error)}`);
        return false;
      }
      // The original's child says so and exits 0: the check passes.
      this.err(`warning: unable to run ${this.name}/check: ${errstr(r.error)}`);
      return true;
    }
    // A check killed by a signal has exit code 0 to the original's wait_exitcode.
    return (r.status ?? 0) === 0;
  }

  /** Whether the service is where acts asked it to be: 1 yes (said ok), 0 not yet, -1 give up. */
  check(acts: string): number {
    const b = this.statusGet();
    if (b === null) return -1;
    for (const a of acts) {
      if (b === 0) return a === 'x' ? 1 : -1;
      const pid = b.readUInt32LE(12);
      const when = unpackTai(b, 0).sec;
      switch (a) {
        case 'x': return 0;
        case 'u':
          if (!pid || b[19] !== 1) return 0;
          if (!this.ready(b) || !this.checkScript()) return 0;
          break;
        case 'd': if (pid || b[19] !== 0) return 0; break;
        case 'C': if (pid && (!this.ready(b) || !this.checkScript())) return 0; break;
        case 't':
        case 'k':
          if (!pid && b[17] === 0x64) break;
          if (this.startSec > when || !pid || b[18] || !this.ready(b) || !this.checkScript()) return 0;
          break;
        case 'o':
          if ((!pid && this.startSec > when) || (pid && b[17] !== 0x64)) return 0;
          break;
        case 'p': if (pid && !b[16]) return 0; break;
        case 'c': if (pid && b[16]) return 0; break;
      }
    }
    this.outs('ok: ');
    this.statusPrint(b as Buffer, this.name);
    this.flush('\n');
    return 1;
  }

  /** Write acts to supervise/control unless the status says it is done already. */
  control(acts: string): number {
    const b = this.statusGet();
    if (!b) return -1;
    // Already wanted so: nothing to write (a down is written again until TERM was sent).
    if (b[17] === acts.charCodeAt(0) && (acts[0] !== 'd' || b[18] === 1)) return 0;
    let fd: number;
    try {
      fd = fs.openSync('supervise/control', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') this.warn('unable to open supervise/control', e);
      else if (acts[0] === 'x') this.ok('runsv not running');
      else this.fail('runsv not running');
      return -1;
    }
    const data = Buffer.from(acts, 'latin1');
    let n = -1;
    let err: unknown;
    try { n = fs.writeSync(fd, data); } catch (e) { err = e; }
    fs.closeSync(fd);
    if (n !== data.length) {
      this.warn('unable to write to supervise/control', err);
      return -1;
    }
    return 1;
  }
}

let home = '';
function done(code: number): never {
  try { if (home) process.chdir(home); } catch { /* leaving anyway */ }
  process.exit(code);
}

/** Go to a service: a bare name is looked up in $SVDIR (/etc/service/ by default, as Debian's sv). */
function enter(name: string, svdir: string, bare: boolean): void {
  if (bare) process.chdir(svdir);
  process.chdir(name);
}

/** What sv was asked: the letters for each service, and what to do with them. */
export interface SvPlan {
  /** Called by another name than sv: that service's LSB init script (exit codes per LSB). */
  lsb: boolean;
  /** control: write acts; status: print the status; null: write nothing (check). */
  act: Act;
  /** The control letters, and what a wait checks for. */
  acts: string;
  /** Wait (up to wait seconds) until each service is where acts asked it to be. */
  waitFor: boolean;
  wait: number;
  /** Past the wait, send k (kill) instead of reporting a timeout only. */
  kill: boolean;
  services: string[];
  /** $SVDIR, where a bare name is looked up. */
  svdir: string;
}

/** Does what plan says to each service and exits: the count of failures (at most 99), or LSB's code. */
export function runSv(p: SvPlan): never {
  const { lsb, act, acts, kill, waitFor, wait, services, svdir } = p;
  const sv = new Sv(lsb, acts);
  home = process.cwd();
  const back = () => {
    try {
      process.chdir(home);
    } catch (e) {
      sv.err(`fatal: unable to change to original directory: ${errstr(e)}`);
      done(lsb ? 151 : 100);
    }
  };
  // null: dropped (failed, or done with).
  const todo: (string | null)[] = [...services];
  for (let i = 0; i < todo.length; i++) {
    const name = todo[i]!;
    sv.name = name;
    try {
      enter(name, svdir, name !== '' && name[0] !== '/' && name[0] !== '.' && !name.endsWith('/'));
    } catch (e) {
      sv.fail('unable to change to service directory', e);
      todo[i] = null;
    }
    if (todo[i] !== null && act) {
      const r = act === 'status' ? sv.status() : sv.control(acts);
      if (r === -1) todo[i] = null;
    }
    back();
  }

  if (waitFor) {
    for (;;) {
      const elapsed = sv.now - sv.start;
      let finished = true;
      for (let i = 0; i < todo.length; i++) {
        const name = todo[i];
        if (name === null) continue;
        sv.name = name;
        // The original's second look-up knows no trailing-slash rule.
        try {
          enter(name, svdir, name[0] !== '/' && name[0] !== '.');
        } catch (e) {
          sv.fail('unable to change to service directory', e);
          todo[i] = null;
        }
        if (todo[i] !== null) {
          if (sv.check(acts) !== 0) todo[i] = null;
          else finished = false;
        }
        if (todo[i] !== null && elapsed > wait) {
          sv.outs(kill ? 'kill: ' : 'timeout: ');
          const b = sv.statusGet();
          if (b) { sv.statusPrint(b, name); sv.rc++; }
          sv.flush('\n');
          if (kill) sv.control('k');
          todo[i] = null;
        }
        back();
      }
      if (finished) break;
      sleepSync(POLL_MS); // sv waits between checks and does nothing else
      sv.now = nowSeconds();
    }
  }
  done(Math.min(sv.rc, 99));
}
/** Now with sub-second precision, so that the -w deadline is kept as the original's. */
function nowSeconds(): number {
  return Date.now() / 1000;
}
