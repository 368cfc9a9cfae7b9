// A scanner's TERM: the services stay up, as under daemontools' svscan and
// runit's runsvdir, whose supervise and runsv processes outlive them. Ours
// has no such processes: it hands every unit to ONE keeper process (the same
// command, started again with UCSPI_KEEPER naming the descriptor of the
// hand-over), which supervises them without scanning, then exits.
//
// The hand-over travels through a socket pair the scanner creates for the
// keeper, never through a file: each run's pid and start time (the proof
// that the scanner started it), each service's state, and the descriptors it
// held (lock, supervise/control, supervise/ok, the pipe to the log service),
// passed as the keeper's descriptors 4 and up. The locks are never let go, so
// a scanner started later cannot start a second copy of any service: it is
// refused the lock and tries again, as with the originals. The keeper
// answers "ok" once it holds everything; only then does the scanner exit.
// If the keeper cannot be started or fails first, the scanner goes on.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { errstr } from '../lib/errstr';
import { Flavor } from './service';
import { Scanner } from './scan';
import { HandedUnit, Unit } from './unit';
import { raiseNofile, underAdminLimit } from './sys';
import { keepIgnored } from '../lib/ignored';

/** The environment variable that makes a scanner command a keeper. */
export const KEEPER_ENV = 'UCSPI_KEEPER';
/** The keeper's descriptor of the hand-over socket; the passed descriptors follow it. */
const CHANNEL_FD = 3;
/** How long the scanner waits for the keeper's answer before it kills it and goes on itself. */
const ANSWER_MS = 30_000;
/** How often the keeper looks whether anything is left to keep. */
const IDLE_CHECK_MS = 1000;

export interface HandOver {
  flavor: Flavor;
  units: HandedUnit[];
  /** What the command itself hands on (runsvdir: its log argument's state). */
  extra?: unknown;
}

export interface HandOptions {
  /** The command to start again as the keeper (process.argv[1]), and its arguments. */
  prog: string;
  /**
   * The scanner's own: the keeper ignores them, but they give its process
   * title the room the scanner's had (runsvdir's log argument scrolls there).
   */
  args: string[];
  flavor: Flavor;
  /** The keeper's stderr (runsvdir: the pipe of its log argument). */
  errFd: 'inherit' | number;
  /** Descriptors of the command's own to pass; extra() gets their numbers in the keeper. */
  fds?: number[];
  extra?: (passed: number[]) => unknown;
  /**
   * A session of its own (runsvdir -P, as runsv under it). Otherwise the
   * keeper stays in the scanner's process group, as supervise and runsv stay
   * in their scanner's: a signal to the group reaches it too.
   */
  ownSession?: boolean;
}

/**
 * Hand every unit of scanner to a keeper. done(null): the keeper holds them
 * (or there was nothing to hand), the scanner may exit; done(reason): it
 * does not, and the scanner supervises and scans on.
 */
export function handToKeeper(scanner: Scanner, o: HandOptions, done: (failure: string | null) => void): void {
  const passed: number[] = [];
  const pass = (fd: number): number => {
    let i = passed.indexOf(fd);
    if (i < 0) i = passed.push(fd) - 1;
    return CHANNEL_FD + 1 + i;
  };
  const units = scanner.handOver(pass);
  if (!units.length) return done(null);
  const extra = o.extra?.((o.fds ?? []).map(pass));
  let timer: NodeJS.Timeout | null = null;
  const failed = (why: string) => {
    if (timer) clearTimeout(timer);
    scanner.thaw();
    done(why);
  };
  let settled = false;
  try {
    // The keeper is started under the administrator's descriptor limit, as
    // any child: it raises its own, and its children get that one.
    const [file, args] = keepIgnored(...underAdminLimit(o.prog, o.args, process.cwd()));
    const cp = spawn(file, args, {
      detached: o.ownSession === true,
      // Its stdin and stdout are the scanner's, for the runs it starts.
      stdio: ['inherit', 'inherit', o.errFd, 'pipe', ...passed],
      env: { ...process.env, [KEEPER_ENV]: String(CHANNEL_FD) },
    });
    const channel = cp.stdio[CHANNEL_FD] as net.Socket;
    cp.once('error', (e) => { if (!settled) { settled = true; failed(errstr(e)); } });
    cp.once('exit', () => { if (!settled) { settled = true; failed('the keeper exited'); } });
    let answer = '';
    channel.setEncoding('latin1');
    channel.on('data', (d: string) => {
      answer += d;
      if (settled || !answer.includes('\n')) return;
      settled = true;
      if (answer === 'ok\n') {
        if (timer) clearTimeout(timer);
        done(null);
      } else failed(`the keeper said: ${answer.trim()}`);
    });
    timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      cp.kill('SIGKILL');
      failed('no answer from the keeper');
    }, ANSWER_MS);
    channel.on('error', () => { /* its exit says */ });
    const msg: HandOver = { flavor: o.flavor, units, extra };
    channel.write(JSON.stringify(msg) + '\n');
    cp.unref();
  } catch (e) {
    settled = true;
    failed(errstr(e));
  }
}

export interface Kept {
  units: Unit[];
  /** Bring every service down, each log service after its service; the keeper then exits 0. */
  stop(): void;
}

/**
 * The keeper's side: read the hand-over from fd, take every unit up, answer
 * "ok", and exit once nothing is left to keep. extra(value) gets what the
 * command handed on (before the units are taken up).
 */
export function keep(fd: number, say: (line: string) => void, extra: (value: unknown) => void): Kept {
  raiseNofile();
  const kept: Kept = {
    units: [],
    stop: () => { for (const u of kept.units) u.stop(); },
  };
  const channel = new net.Socket({ fd, readable: true, writable: true });
  channel.setEncoding('latin1');
  let text = '';
  channel.on('error', () => { /* the scanner went away: nothing to answer */ });
  channel.on('data', (d: string) => {
    text += d;
    const nl = text.indexOf('\n');
    if (nl < 0) return;
    channel.removeAllListeners('data');
    let h: HandOver;
    try {
      h = JSON.parse(text.slice(0, nl)) as HandOver;
    } catch (e) {
      channel.end(`bad hand-over: ${errstr(e)}\n`);
      process.exitCode = 111;
      return;
    }
    extra(h.extra);
    for (const hu of h.units) {
      try {
        kept.units.push(Unit.resume(hu, say, () => {}, h.flavor));
      } catch (e) {
        say(`${h.flavor === 'runit' ? `runsv ${hu.name}` : 'supervise'}: warning: ${hu.name}: unable to keep: ${errstr(e)}`);
      }
    }
    channel.end('ok\n');
    // Nothing scans here: once no directory is held any more, leave.
    setInterval(() => {
      if (kept.units.every((u) => !u.main && !u.log)) process.exit(0);
    }, IDLE_CHECK_MS);
  });
  channel.on('end', () => { if (!text.includes('\n')) process.exit(111); });
  return kept;
}
