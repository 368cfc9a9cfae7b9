// What a service directory may add to the originals' restart rule (every
// file opt-in; without them a service restarts as under daemontools' supervise
// and runit's runsv): respawn-delay, respawn-backoff, respawn-max and
// respawn-period, as OpenRC's supervise-daemon has them, and s6's
// notification-fd. The files are read when run starts and when it ends, so a
// change counts from the next start or end.
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { readRegular } from '../lib/regular';

export interface Policy {
  /** respawn-delay: ms from the end of run to its next start. */
  delayMs: number | null;
  /** respawn-backoff: the cap (ms) of a delay that doubles per consecutive failure. */
  capMs: number | null;
  /** respawn-max: more automatic restarts than this (within periodMs) leave the service down. */
  max: number | null;
  /** respawn-period: the window of respawn-max (ms); null: since the service was last asked up. */
  periodMs: number | null;
  /** notification-fd: the descriptor run gets to say "ready" on (a newline). */
  notifyFd: number | null;
}

export const NO_POLICY: Policy = { delayMs: null, capMs: null, max: null, periodMs: null, notifyFd: null };

/** The files, in the order they are read. */
export const POLICY_FILES = ['respawn-delay', 'respawn-backoff', 'respawn-max', 'respawn-period', 'notification-fd'] as const;
type PolicyFile = typeof POLICY_FILES[number];

/** The most a policy file may hold (one short line is expected). */
const POLICY_FILE_MAX = 4096;

/** The highest notification-fd accepted: run gets every descriptor up to it listed. */
export const MAX_NOTIFY_FD = 1023;

/** Whether the directory asks for anything beyond the originals' behaviour. */
export function optedIn(p: Policy): boolean {
  return p.delayMs !== null || p.capMs !== null || p.max !== null || p.notifyFd !== null;
}

/**
 * The policy files of dir. A file that cannot be read or holds no valid value
 * is reported through bad(file, why) and ignored (the originals' behaviour for
 * that setting); a missing file is no setting.
 */
export function readPolicy(dir: string, bad: (file: PolicyFile, why: string) => void): Policy {
  const p: Policy = { ...NO_POLICY };
  for (const file of POLICY_FILES) {
    let text: string;
    try {
      // Never blocking: one process supervises every service, and a FIFO here must not stop them all.
      text = readRegular(path.join(dir, file), POLICY_FILE_MAX).toString('latin1');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') bad(file, `unable to read: ${errstr(e)}`);
      continue;
    }
    const r = parseValue(file, text);
    if (typeof r === 'string') { bad(file, r); continue; }
    if (file === 'respawn-delay') p.delayMs = r;
    else if (file === 'respawn-backoff') p.capMs = r;
    else if (file === 'respawn-max') p.max = r === 0 ? null : r;
    else if (file === 'respawn-period') p.periodMs = r;
    else p.notifyFd = r;
  }
  if (p.periodMs !== null && p.max === null) {
    bad('respawn-period', 'no respawn-max to go with');
    p.periodMs = null;
  }
  return p;
}

/**
 * The value of one file: its first line, a number (seconds with up to three
 * decimals for the times, a whole number for the others); the value in ms for
 * the times. A string: why it is refused, naming the line.
 */
export function parseValue(file: PolicyFile, text: string): number | string {
  const nl = text.indexOf('\n');
  const line = (nl < 0 ? text : text.slice(0, nl)).trim();
  if (nl >= 0 && text.slice(nl + 1).trim() !== '') return 'line 2: one value expected, on line 1 only';
  const seconds = file === 'respawn-delay' || file === 'respawn-backoff' || file === 'respawn-period';
  if (seconds) {
    if (!/^\d{1,9}(\.\d{1,3})?$/.test(line)) return `line 1: not a number of seconds: "${line}"`;
    const ms = Math.round(Number(line) * 1000);
    if (file !== 'respawn-delay' && ms === 0) return 'line 1: must be more than 0 seconds';
    return ms;
  }
  if (!/^\d{1,9}$/.test(line)) return `line 1: not a whole number: "${line}"`;
  const n = Number(line);
  if (file === 'notification-fd' && (n < 3 || n > MAX_NOTIFY_FD)) return `line 1: descriptor ${n} out of range 3 to ${MAX_NOTIFY_FD}`;
  return n;
}

/** What the supervisor remembers between runs for the policy. */
export interface RespawnMemory {
  /** Consecutive runs that ended by themselves (respawn-backoff). */
  streak: number;
  /** When (ms, monotonic) each automatic restart since the service was last asked up was due. */
  starts: number[];
}

export const freshMemory = (): RespawnMemory => ({ streak: 0, starts: [] });

export type Decision =
  /** Start again after waitMs; viaPolicy: the wait is the policy's, not the originals' pacing. */
  | { kind: 'start'; waitMs: number; viaPolicy: boolean }
  /** More than max restarts within the period: stay down. */
  | { kind: 'stay-down'; restarts: number; max: number; periodMs: number | null };

/**
 * run ended by itself (not on a command) while wanted up: when to start it
 * again, or to leave it down. ranMs: how long it ran; paceMs: the originals'
 * wait (one second from its start). Updates mem for a start.
 */
export function decide(p: Policy, mem: RespawnMemory, nowMs: number, ranMs: number, paceMs: number): Decision {
  if (p.max !== null) {
    if (p.periodMs !== null) mem.starts = mem.starts.filter((t) => t > nowMs - p.periodMs!);
    if (mem.starts.length >= p.max) return { kind: 'stay-down', restarts: mem.starts.length, max: p.max, periodMs: p.periodMs };
  }
  let waitMs = paceMs;
  let viaPolicy = false;
  if (p.capMs !== null) {
    // A run that lasted twice the cap was no quick failure: the doubling starts over.
    if (ranMs >= 2 * p.capMs) mem.streak = 0;
    mem.streak++;
    const base = p.delayMs ?? 1000;
    waitMs = Math.min(p.capMs, base * 2 ** Math.min(mem.streak - 1, 40));
    viaPolicy = true;
  } else if (p.delayMs !== null) {
    waitMs = p.delayMs;
    viaPolicy = true;
  }
  // Counted only for respawn-max: a service restarting for ever keeps no growing list.
  if (p.max !== null) mem.starts.push(nowMs + waitMs);
  return { kind: 'start', waitMs, viaPolicy };
}
