// unixserver's command line as Debian's ucspi-unix 1.0 reads it: glibc's
// getopt (options anywhere before "--", unless $POSIXLY_CORRECT), its
// complaints, and numbers read as strtoul(3) reads them.
import { LONG_VALUE_CODE, UsageError } from '../lib/getopt';
import { LIMIT_DEFAULTS, type LimitOptions, limitOption } from '../admission/options';

/** A complaint (or none), the usage text, exit 1: ucspi-unix's usage(). */
export class UnixUsage extends Error {
  constructor(readonly line?: string, readonly code = 1) {
    super('usage');
  }
}

/**
 * GNU getopt over argv: each option in order to each(), which may throw;
 * returns the operands (words that are no option, in their order, then
 * everything after "--"). Without permute (POSIXLY_CORRECT) the first operand
 * ends the options, as POSIX getopt. Long words ("--name[=v]") go to long()
 * when given; otherwise glibc's getopt reads them as letters.
 */
export function gnuGetopt(argv: readonly string[], optstring: string, argv0: string, permute: boolean,
                          each: (letter: string, value: string | undefined) => void,
                          long?: (word: string, next: () => string | undefined) => void): string[] {
  const operands: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { i++; break; }
    if (a.length < 2 || a[0] !== '-') {
      if (!permute) break;
      operands.push(a);
      continue;
    }
    if (long && a.startsWith('--')) {
      long(a, () => (i + 1 < argv.length ? argv[++i] : undefined));
      continue;
    }
    for (let k = 1; k < a.length; k++) {
      const ch = a[k];
      const at = ch === ':' ? -1 : optstring.indexOf(ch);
      if (at < 0) throw new UnixUsage(`${argv0}: invalid option -- '${ch}'`);
      if (optstring[at + 1] !== ':') { each(ch, undefined); continue; }
      if (k + 1 < a.length) each(ch, a.slice(k + 1));
      else if (i + 1 < argv.length) each(ch, argv[++i]);
      else throw new UnixUsage(`${argv0}: option requires an argument -- '${ch}'`);
      break;
    }
  }
  return operands.concat(argv.slice(i));
}

/**
 * strtoul(s, base) truncated to 32 bits (uid_t, gid_t, mode_t, unsigned),
 * or undefined when anything follows the number (ucspi-unix's parseu): ""
 * is 0, leading blanks and a sign are taken, "-1" is 4294967295, too large
 * is 4294967295.
 */
export function parseu(s: string, base: 8 | 10): number | undefined {
  const m = (base === 8 ? /^[ \t\n\v\f\r]*([+-]?)([0-7]+)/ : /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/).exec(s);
  if (!m) return s === '' ? 0 : undefined;
  if (m[0].length !== s.length) return undefined;
  let v = BigInt(base === 8 ? '0o' + m[2] : m[2]);
  const max = (1n << 64n) - 1n;
  if (v > max) v = max;
  else if (m[1] === '-') v = (1n << 64n) - v & max;
  return Number(v & 0xffffffffn);
}

export interface UnixServerOptions {
  verbose: boolean;
  /** -D (default): remove the socket file on exit; -d keeps it. */
  remove: boolean;
  limit: number;
  backlog: number;
  /** -u, -g: the ids to take after binding; 4294967295 ((uid_t)-1) keeps one. */
  uid: number;
  gid: number;
  /** -o, -r: the socket file's owner and group; 4294967295 keeps one. */
  socketUid: number;
  socketGid: number;
  /** -p: the socket file's mode (0: none set, the umask decides). */
  perms: number;
  /** -m: the umask while binding. */
  mask: number;
  banner?: string;
  socket: string;
  prog: string[];
  /** Our long options (none is the original's): --status, --status-interval, --metrics, --log-json. */
  front: LimitOptions;
}

export const KEEP_ID = 0xffffffff;

/** unixserver's optstring, as Debian's binary has it. */
const OPTSTRING = 'dDqQvc:u:g:Ub:B:m:o:r:Op:';

/** Our long options (account/options.ts reads them): name → takes a value. */
const LONGS: Record<string, boolean> = { status: true, 'status-interval': true, metrics: true, 'log-json': false };

export function parseUnixServer(argv: readonly string[], argv0: string, env: NodeJS.ProcessEnv): UnixServerOptions {
  const o: Omit<UnixServerOptions, 'socket' | 'prog'> = {
    verbose: false, remove: true, limit: 10, backlog: 128, uid: KEEP_ID, gid: KEEP_ID,
    socketUid: KEEP_ID, socketGid: KEEP_ID, perms: 0, mask: 0, front: { ...LIMIT_DEFAULTS },
  };
  const num = (s: string | undefined, base: 8 | 10, missing: string, bad: string): number => {
    if (s === undefined) throw new UnixUsage(`${argv0}: ${missing}`);
    const v = parseu(s, base);
    if (v === undefined) throw new UnixUsage(`${argv0}: ${bad}`);
    return v;
  };
  const rest = gnuGetopt(argv, OPTSTRING, argv0, env.POSIXLY_CORRECT === undefined, (ch, v) => {
    switch (ch) {
      case 'q': o.verbose = false; break;
      case 'Q': break;
      case 'v': o.verbose = true; break;
      case 'd': o.remove = false; break;
      case 'D': o.remove = true; break;
      case 'c': o.limit = num(v, 10, '', 'Invalid connection limit number.'); break;
      case 'u': o.uid = num(v, 10, 'UID not found in environment.', 'Invalid UID number'); break;
      case 'g': o.gid = num(v, 10, 'GID not found in environment.', 'Invalid GID number'); break;
      case 'U':
        o.uid = num(env.UID, 10, 'UID not found in environment.', 'Invalid UID number');
        o.gid = num(env.GID, 10, 'GID not found in environment.', 'Invalid GID number');
        break;
      case 'o': o.socketUid = num(v, 10, 'Socket UID not found in environment.', 'Invalid socket UID number'); break;
      case 'r': o.socketGid = num(v, 10, 'Socket GID not found in environment.', 'Invalid socket GID number'); break;
      case 'O':
        o.socketUid = num(env.SOCKET_UID, 10, 'Socket UID not found in environment.', 'Invalid socket UID number');
        o.socketGid = num(env.SOCKET_GID, 10, 'Socket GID not found in environment.', 'Invalid socket GID number');
        break;
      case 'p': o.perms = num(v, 8, '', 'Invalid permissions value.'); break;
      case 'm': o.mask = num(v, 8, '', 'Invalid mask value.'); break;
      case 'b': o.backlog = num(v, 10, '', 'Invalid backlog count.'); break;
      case 'B': o.banner = v; break;
    }
  }, (word, next) => {
    // Ours, opt-in: glibc's getopt refuses any "--name" word, so none of
    // these changes a command line the original takes.
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    if (!Object.hasOwn(LONGS, name) || (!LONGS[name] && eq >= 0)) {
      throw new UnixUsage(`${argv0}: unknown option ${word}`, LONG_VALUE_CODE);
    }
    const v = !LONGS[name] ? '' : eq >= 0 ? word.slice(eq + 1) : next();
    if (v === undefined) throw new UnixUsage(`${argv0}: option --${name} needs a value`, LONG_VALUE_CODE);
    try {
      limitOption('unixserver', o.front, name, v, (m) => m);
    } catch (e) {
      if (e instanceof UsageError) throw new UnixUsage(e.line, LONG_VALUE_CODE);
      throw e;
    }
  });
  if (rest.length < 2) throw new UnixUsage();
  return { ...o, socket: rest[0], prog: rest.slice(1) };
}

/** The usage text, as ucspi-unix prints it after any complaint. */
export function usageText(argv0: string): string {
  return `usage: ${argv0} [options] socket program
  -q           Quiet. Do not print any messages.
  -Q (default) Print error messages.
  -v           Verbose.  Print error and status messages.
  -d           Do not delete the socket file on exit.
  -D (default) Delete the socket file on exit.
  -u UID       Change user id to UID after creating socket.
  -g GID       Change group id to GID after creating socket.
  -U           Same as '-u $UID -g $GID'.
  -o UID       Make the socket owned by UID.
  -r GID       Make the socket group owned by GID.
  -O           Same as '-o $SOCKET_UID -r $SOCKET_GID'.
  -p PERM      Set the permissions on the created socket (in octal).
               Note: this option, if set, overrides the mask below.
               (defaults to 0666 minus umask)
  -m MASK      Set umask to MASK (in octal) before creating socket.
               (defaults to 0, previous value is restored afterwards)
  -c N         Do not handle more than N simultaneous connections.
               (default 10)
  -b N         Allow a backlog of N connections.
  -B BANNER    Write BANNER to the client immediately after connecting.`;
}
