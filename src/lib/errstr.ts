// System errors in the words of djb's error_str(), which ucspi-tcp, ipsvd,
// daemontools and runit print after "fatal: ...: " instead of strerror's.
// Administrators grep their logs for these exact words.
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

// By Node's error code. Linux has errno aliases that the originals' table
// meets under the first name: EWOULDBLOCK is EAGAIN ("temporary failure"),
// ENOTSUP (libuv's name) is EOPNOTSUPP.
const WORDS: Record<string, string> = {
  EINTR: 'interrupted system call',
  ENOMEM: 'out of memory',
  ENOENT: 'file does not exist',
  ETXTBSY: 'text busy',
  EIO: 'input/output error',
  EEXIST: 'file already exists',
  ETIMEDOUT: 'timed out',
  EINPROGRESS: 'operation in progress',
  EAGAIN: 'temporary failure',
  EPIPE: 'broken pipe',
  EPERM: 'permission denied',
  EACCES: 'access denied',
  ENXIO: 'device not configured',
  EPROTO: 'protocol error',
  EISDIR: 'is a directory',
  ECONNREFUSED: 'connection refused',
  ENOTDIR: 'not a directory',
  ESRCH: 'no such process',
  E2BIG: 'argument list too long',
  ENOEXEC: 'exec format error',
  EBADF: 'file descriptor not open',
  ECHILD: 'no child processes',
  EDEADLK: 'operation would cause deadlock',
  EFAULT: 'bad address',
  ENOTBLK: 'not a block device',
  EBUSY: 'device busy',
  EXDEV: 'cross-device link',
  ENODEV: 'device does not support operation',
  EINVAL: 'invalid argument',
  ENFILE: 'system cannot open more files',
  EMFILE: 'process cannot open more files',
  ENOTTY: 'not a tty',
  EFBIG: 'file too big',
  ENOSPC: 'out of disk space',
  ESPIPE: 'unseekable descriptor',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  EDOM: 'input out of range',
  ERANGE: 'output out of range',
  EALREADY: 'operation already in progress',
  ENOTSOCK: 'not a socket',
  EDESTADDRREQ: 'destination address required',
  EMSGSIZE: 'message too long',
  EPROTOTYPE: 'incorrect protocol type',
  ENOPROTOOPT: 'protocol not available',
  EPROTONOSUPPORT: 'protocol not supported',
  ESOCKTNOSUPPORT: 'socket type not supported',
  EOPNOTSUPP: 'operation not supported',
  EPFNOSUPPORT: 'protocol family not supported',
  EAFNOSUPPORT: 'address family not supported',
  EADDRINUSE: 'address already used',
  EADDRNOTAVAIL: 'address not available',
  ENETDOWN: 'network down',
  ENETUNREACH: 'network unreachable',
  ENETRESET: 'network reset',
  ECONNABORTED: 'connection aborted',
  ECONNRESET: 'connection reset',
  ENOBUFS: 'out of buffer space',
  EISCONN: 'already connected',
  ENOTCONN: 'not connected',
  ESHUTDOWN: 'socket shut down',
  ETOOMANYREFS: 'too many references',
  ELOOP: 'symbolic link loop',
  ENAMETOOLONG: 'file name too long',
  EHOSTDOWN: 'host down',
  EHOSTUNREACH: 'host unreachable',
  ENOTEMPTY: 'directory not empty',
  EPROCLIM: 'too many processes',
  EUSERS: 'too many users',
  EDQUOT: 'disk quota exceeded',
  ESTALE: 'stale NFS file handle',
  EREMOTE: 'too many levels of remote in path',
  EBADRPC: 'RPC structure is bad',
  ERPCMISMATCH: 'RPC version mismatch',
  EPROGUNAVAIL: 'RPC program unavailable',
  EPROGMISMATCH: 'program version mismatch',
  EPROCUNAVAIL: 'bad procedure for program',
  ENOLCK: 'no locks available',
  ENOSYS: 'system call not available',
  EFTYPE: 'bad file type',
  EAUTH: 'authentication error',
  ENEEDAUTH: 'not authenticated',
  ENOSTR: 'not a stream device',
  ETIME: 'timer expired',
  ENOSR: 'out of stream resources',
  ENOMSG: 'no message of desired type',
  EBADMSG: 'bad message type',
  EIDRM: 'identifier removed',
  ENONET: 'machine not on network',
  ERREMOTE: 'object not local',
  ENOLINK: 'link severed',
  EADV: 'advertise error',
  ESRMNT: 'srmount error',
  ECOMM: 'communication error',
  EMULTIHOP: 'multihop attempted',
  EREMCHG: 'remote address changed',
};
WORDS.EWOULDBLOCK = WORDS.EAGAIN;
WORDS.ENOTSUP = WORDS.EOPNOTSUPP;

const ERRNO = new Set(Object.keys(constants.errno));

// errno number → name, for the numbers libuv has no name for (ENOEXEC,
// ECHILD, EDOM ... are "Unknown system error -8" to util.getSystemErrorName).
// Of two names for one number, the one the table words.
const NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno as Record<string, number>)) {
  if (!NAMES.has(n) || (WORDS[name] !== undefined && WORDS[NAMES.get(n)!] === undefined)) NAMES.set(n, name);
}

/** The name of an errno (positive, or negative as libuv and the addon give it), or undefined. */
export function errnoName(errno: number): string | undefined {
  return NAMES.get(errno < 0 ? -errno : errno);
}

/**
 * The originals' words for a system error; "unknown error" for an errno they
 * have no words for; an error that is no system error (a message of ours)
 * as it is.
 */
export function errstr(e: unknown): string {
  if (typeof e === 'string') return e;
  const err = e as NodeJS.ErrnoException | null | undefined;
  const code = err?.code;
  if (code !== undefined) {
    const w = WORDS[code];
    if (w !== undefined) return w;
    // A number libuv could not name: its name from the errno.
    const named = typeof err!.errno === 'number' ? errnoName(err!.errno) : undefined;
    if (named !== undefined && WORDS[named] !== undefined) return WORDS[named];
    if (ERRNO.has(code) || code === 'UNKNOWN' || named !== undefined) return 'unknown error';
  }
  return e instanceof Error ? e.message : String(e);
}

/** strerror(3)'s words for an error ("Address already in use"), as perror(3) prints them. */
export function strerror(e: unknown): string {
  const errno = (e as NodeJS.ErrnoException)?.errno;
  const m = typeof errno === 'number' ? getSystemErrorMap().get(errno) : undefined;
  if (!m) return String((e as Error)?.message ?? e);
  return m[1].charAt(0).toUpperCase() + m[1].slice(1);
}
