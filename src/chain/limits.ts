// softlimit's and chpst's resource limits: the soft limit to a number of
// bytes (or files, processes, seconds), never above the hard limit, or "="
// (softlimit) / -1 (chpst) for the hard limit itself. Each is worked out
// when its option is read (the hard limit by getrlimit), and kept here to be
// set on the way into the program (chain/exec.ts): with the native addon by
// its execvpe, just before execve (a data or stack limit of 0 set earlier
// would kill the tool while it still runs JavaScript); without it by
// prlimit(1) (util-linux), to the byte, which then execs the program. Node
// can neither set a limit nor exec; the hard limits then come from
// /proc/self/limits.
import { readFileSync } from 'node:fs';
import { addonPart, execTakesLimits } from '../native';
import { scanUlong } from '../lib/scan';

export type Resource = 'as' | 'core' | 'cpu' | 'data' | 'fsize' | 'memlock' | 'nofile' | 'nproc' | 'rss' | 'stack';

/** Where it failed, for the tools' words: getrlimit or setrlimit. */
export class LimitError extends Error {
  constructor(readonly step: 'getrlimit' | 'setrlimit', readonly cause: unknown) {
    super(step);
  }
}

/** /proc/self/limits' name for each resource. */
const PROC_NAME: Record<Resource, string> = {
  as: 'Max address space', core: 'Max core file size', cpu: 'Max cpu time', data: 'Max data size',
  fsize: 'Max file size', memlock: 'Max locked memory', nofile: 'Max open files', nproc: 'Max processes',
  rss: 'Max resident set', stack: 'Max stack size',
};

/** [soft, hard] from /proc/self/limits (-1: unlimited), as getrlimit(2) would give them. */
function procLimit(res: Resource): [number, number] {
  const line = readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith(PROC_NAME[res] + ' '));
  if (!line) throw Object.assign(new Error(`no ${PROC_NAME[res]} in /proc/self/limits`), { code: 'ENOSYS' });
  const [soft, hard] = line.slice(PROC_NAME[res].length).trim().split(/\s+/).map((w) => (w === 'unlimited' ? -1 : Number(w)));
  return [soft, hard];
}

/** Soft limits to set on the way into the program, in the order given. */
const pending = new Map<Resource, number>();

/** value: the soft limit wanted; 'max' (or a value above it): the hard limit. */
export function softLimit(res: Resource, value: number | 'max'): void {
  const n = addonPart('exec');
  let hard: number;
  try {
    hard = n ? n.getrlimit(res)[1] : procLimit(res)[1];
  } catch (e) {
    throw new LimitError('getrlimit', e);
  }
  const soft = value === 'max' || (hard >= 0 && value > hard) || value >= 2 ** 64 - 1 ? hard : value;
  // An addon whose execvpe would drop them: with that one they are set here and now.
  if (n && !execTakesLimits()) {
    try {
      n.setrlimit(res, soft);
    } catch (e) {
      throw new LimitError('setrlimit', e);
    }
    return;
  }
  pending.delete(res); // a later option for the same resource is set after the others
  pending.set(res, soft);
}

/** The soft limits to set, for the addon's execvpe: [resource, soft], -1 unlimited. */
export function limitsToSet(): Array<[Resource, number]> {
  return [...pending];
}

/**
 * Without the addon: prlimit(1)'s options for the limits wanted ("--data=300000000:",
 * the soft limit only), or none. prlimit takes bytes, where sh's ulimit counts
 * in KiB or 512-byte blocks and could not set 300000000 bytes.
 */
export function pendingLimits(): string[] {
  return [...pending].map(([res, soft]) => `--${res}=${soft < 0 ? 'unlimited' : String(soft)}:`);
}

/** softlimit's and scan_ulong's number: digits only (none is 0); undefined otherwise. */
export function limitArg(s: string): number | undefined {
  const [v, end] = scanUlong(s);
  return end === s.length ? v : undefined;
}
