// softlimit's and chpst's resource limits: the soft limit to a number of
// bytes (or files, processes, seconds), never above the hard limit, or "="
// (softlimit) / -1 (chpst) for the hard limit itself.
import { loadNative } from '../native';
import { scanUlong } from '../lib/scan';

export type Resource = 'as' | 'core' | 'cpu' | 'data' | 'fsize' | 'memlock' | 'nofile' | 'nproc' | 'rss' | 'stack';

/** Where it failed, for the tools' words: getrlimit or setrlimit. */
export class LimitError extends Error {
  constructor(readonly step: 'getrlimit' | 'setrlimit', readonly cause: unknown) {
    super(step);
  }
}

/** The addon is the only way to set a limit: a clear error without it. */
function addon(): any {
  const n = loadNative();
  if (!n || typeof n.setrlimit !== 'function') {
    throw new LimitError('getrlimit', 'native addon missing, limits cannot be set');
  }
  return n;
}

/** value: the soft limit wanted; 'max' (or a value above it): the hard limit. */
export function softLimit(res: Resource, value: number | 'max'): void {
  const n = addon();
  let hard: number;
  try {
    hard = n.getrlimit(res)[1];
  } catch (e) {
    throw new LimitError('getrlimit', e);
  }
  const soft = value === 'max' || (hard >= 0 && value > hard) || value >= 2 ** 64 - 1 ? hard : value;
  try {
    n.setrlimit(res, soft);
  } catch (e) {
    throw new LimitError('setrlimit', e);
  }
}

/** softlimit's and scan_ulong's number: digits only (none is 0); undefined otherwise. */
export function limitArg(s: string): number | undefined {
  const [v, end] = scanUlong(s);
  return end === s.length ? v : undefined;
}
