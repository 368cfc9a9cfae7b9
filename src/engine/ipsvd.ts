// What tcpsvd and udpsvd (ipsvd's two servers) share before they serve: the
// options both take, their usage and version lines, the -u account and the
// -i/-x peers source, worded as ipsvd words them.
import type { RuleSource } from '../decide/decision';
import { errstr } from '../lib/errstr';
import { type Usage, UsageError, decimalArg } from '../lib/getopt';
import { die } from '../lib/strerr';
import { type Ids, lookupUserSpec } from './users';
import { LookupError } from '../users/lookup';
import { versionLine } from '../lib/version';

/** The options tcpsvd and udpsvd have in common. */
export interface IpsvdOptions {
  verbose: number;
  lookup: boolean;
  paranoid: boolean;
  user?: string;
  localName?: string;
  rules?: { kind: 'peers-dir' | 'peers-cdb'; path: string };
  timeout: number;
}

export const IPSVD_DEFAULTS: IpsvdOptions = { verbose: 0, lookup: false, paranoid: false, timeout: 0 };

/** ipsvd ends its usage with an empty line, and exits 111. */
export function ipsvdUsage(prog: string, synopsis: string): Usage {
  return { prog, text: `usage: ${prog} ${synopsis}\n`, code: 111 };
}

/** prog's fatal line with a given exit code. */
export function fatalOf(prog: string): (code: number, msg: string) => never {
  return (code, msg) => die(prog, msg, undefined, code);
}

/**
 * One of the common options (i x u l h p t v V) into o; false for a letter
 * that is not one of them. -V prints the version line and whether the addon
 * is in use, then the usage.
 */
export function commonOption(prog: string, o: IpsvdOptions, ch: string, v = ''): boolean {
  switch (ch) {
    case 'i': case 'x':
      if (o.rules) throw new UsageError(); // -i and -x exclude each other
      o.rules = { kind: ch === 'i' ? 'peers-dir' : 'peers-cdb', path: v };
      return true;
    case 'u': o.user = v; return true;
    case 'l': o.localName = v; return true;
    case 'h': o.lookup = true; return true;
    case 'p': o.lookup = true; o.paranoid = true; return true;
    case 't': o.timeout = decimalArg(v); return true;
    case 'v': o.verbose++; return true;
    // ipsvd's version line, then the usage: the same lines as ipsvd's, so
    // that its own suite and a script reading them see no more (whether the
    // addon is in use: tcpsvd --help).
    case 'V': throw new UsageError(versionLine(prog));
    default: return false;
  }
}

/** -u user[:group]: the ids, or ipsvd's fatal line (111 when the lookup failed, 100 when unknown). */
export function accountOf(prog: string, user: string | undefined): Ids | undefined {
  if (user === undefined) return undefined;
  let ids: Ids | undefined;
  try {
    ids = lookupUserSpec(user);
  } catch (e) {
    die(prog, `unable to get user/group: ${user}: ${errstr((e instanceof LookupError ? e.cause : e) as NodeJS.ErrnoException)}`, undefined, 111);
  }
  if (!ids) die(prog, `unknown user/group: ${user}`, undefined, 100);
  return ids;
}

/**
 * The -i/-x source, opened once at start; a failure is kept, and every client
 * is dropped (fail closed) until the source is readable. The rules modules are
 * loaded only here: they cost start-up time and memory.
 */
export function openPeers(o: IpsvdOptions, warn?: (msg: string) => void): { source: RuleSource | null; openError?: NodeJS.ErrnoException } {
  if (!o.rules) return { source: null };
  try {
    const { openRuleSource } = require('../decide/index') as typeof import('../decide/index');
    return { source: openRuleSource({ kind: o.rules.kind, path: o.rules.path, expireSec: o.timeout || undefined, warn }) };
  } catch (e) {
    return { source: null, openError: e as NodeJS.ErrnoException };
  }
}
