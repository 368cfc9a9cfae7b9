// Our supervisor's files beyond the originals', beside supervise/status
// (which stays daemontools' and runit's, byte for byte):
//   supervise/info   restart count, how the last run ended, the notification
//                    descriptor of the current run, the restart policy's state;
//   supervise/ready  when the current run said it was ready.
// Each ends with the label (the first 12 bytes, hex) of the status it was
// written with: a file left by an earlier supervisor, or by ours while
// Debian's supervisor now writes the status, never passes for current.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tai, encodeLabel, unpackTai } from '../lib/tai64';
import { Status, decodeStatus } from './status';

export type LastExit = { code: number } | { signal: number } | null;

export type Respawn =
  | null
  /** Waiting for a restart the policy delayed, due at `due`. */
  | { wait: Tai }
  /** Left down: more than max restarts within periodMs (null: since last asked up). */
  | { stayDown: { restarts: number; max: number; periodMs: number | null } };

export interface Info {
  restarts: number;
  lastExit: LastExit;
  /** The descriptor the current run was given for readiness, or null. */
  notify: number | null;
  respawn: Respawn;
  /** The policy's delay (ms) before the current run was started, or null (none, or the originals' pacing). */
  delay: number | null;
}

/** The 24 hex digits of a packed moment. */
const hex = (t: Tai): string => encodeLabel(t.sec, t.nano);

function unhex(h: string): Tai {
  return unpackTai(Buffer.from(h, 'hex'));
}

/** The label tying a file to a status: its first 12 bytes, hex. */
export function statusLabel(status: Buffer): string {
  return status.subarray(0, 12).toString('hex');
}

export function encodeInfo(i: Info, status: Buffer): string {
  const exit = i.lastExit === null ? '-' : 'code' in i.lastExit ? `${i.lastExit.code}` : `signal ${i.lastExit.signal}`;
  let respawn = '-';
  if (i.respawn && 'wait' in i.respawn) respawn = `wait ${hex(i.respawn.wait)}`;
  else if (i.respawn) {
    const s = i.respawn.stayDown;
    respawn = `down ${s.restarts} ${s.max} ${s.periodMs ?? '-'}`;
  }
  return `restarts ${i.restarts}\nexit ${exit}\nnotify ${i.notify ?? '-'}\nrespawn ${respawn}\ndelay ${i.delay ?? '-'}\nstatus ${statusLabel(status)}\n`;
}

/** supervise/info if it goes with this status; null when absent, stale or not ours. */
export function decodeInfo(text: string, status: Buffer): Info | null {
  const m = /^restarts (\d+)\nexit (-|-?\d+|signal \d+)\nnotify (-|\d+)\nrespawn (-|wait [0-9a-f]{24}|down \d+ \d+ (?:-|\d+))\ndelay (-|\d+)\nstatus ([0-9a-f]{24})\n$/.exec(text);
  if (!m || status.length < 12 || m[6] !== statusLabel(status)) return null;
  const lastExit: LastExit = m[2] === '-' ? null : m[2].startsWith('signal ') ? { signal: Number(m[2].slice(7)) } : { code: Number(m[2]) };
  let respawn: Respawn = null;
  const r = m[4].split(' ');
  if (r[0] === 'wait') respawn = { wait: unhex(r[1]) };
  else if (r[0] === 'down') respawn = { stayDown: { restarts: Number(r[1]), max: Number(r[2]), periodMs: r[3] === '-' ? null : Number(r[3]) } };
  return { restarts: Number(m[1]), lastExit, notify: m[3] === '-' ? null : Number(m[3]), respawn, delay: m[5] === '-' ? null : Number(m[5]) };
}

export function encodeReady(at: Tai, status: Buffer): string {
  return `@${hex(at)} ${statusLabel(status)}\n`;
}

/** When the run of this status said it was ready; null when it has not (or the file is stale). */
export function decodeReady(text: string, status: Buffer): Tai | null {
  const m = /^@([0-9a-f]{24}) ([0-9a-f]{24})\n$/.exec(text);
  if (!m || status.length < 12 || m[2] !== statusLabel(status)) return null;
  return unhex(m[1]);
}

/** What a reader gets of a service directory's state, ours or the originals'. */
export interface Extended {
  status: Status;
  /** null: no current supervise/info (Debian's supervisors, or runsv without policy files). */
  info: Info | null;
  /** The current run's readiness time, when it said so. */
  ready: Tai | null;
}

function readOr(file: string): string | null {
  try { return fs.readFileSync(file, 'latin1'); } catch { return null; }
}

/**
 * The extended state of a service directory given its supervise/status as
 * read (so that the reader decides how it reads and reports the status
 * itself): for svstat --long, sv's wait, srv. null when status is too short.
 */
export function readExtended(dir: string, status: Buffer): Extended | null {
  const s = decodeStatus(status);
  if (!s) return null;
  const info = readOr(path.join(dir, 'supervise', 'info'));
  const ready = readOr(path.join(dir, 'supervise', 'ready'));
  return {
    status: s,
    info: info === null ? null : decodeInfo(info, status),
    ready: ready === null ? null : decodeReady(ready, status),
  };
}

/**
 * Whether the run status names is ready as far as readiness goes: true when
 * it was not given a notification descriptor (nothing to wait for, or not
 * our supervisor), else whether it said so.
 */
export function readyEnough(dir: string, status: Buffer): boolean {
  const e = readExtended(dir, status);
  if (!e || !e.info || e.info.notify === null) return true;
  return e.ready !== null;
}
