// The optional native addon (build/Release/ucspi.node, built by node-gyp at
// install): every function it exports, with its signature, declared here and
// nowhere else. Every user must work without it: loadNative() returns null
// when it is missing. Failures are thrown as Node's errors look (errno
// negative, code, syscall) unless a signature says it returns -errno.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { getSystemErrorName } from 'node:util';
import { errnoName } from './lib/errstr';

export interface Addon {
  // native/accept.cc
  /** socket, SO_REUSEADDR, bind, listen (non-blocking): [fd, port bound]. "::" takes IPv4 too unless v6only. */
  listenTcp(ip: string, port: number, backlog: number, v6only?: boolean): [fd: number, port: number];
  /**
   * Start accepting on fd, at most budget clients undone at once. onBatch gets
   * the shared array (12 int32 per client: fd or -errno, family, remote port,
   * local port, remote address at word 4, local address at word 8) and the count.
   * Once per process.
   */
  acceptSetup(fd: number, budget: number, noDelay: boolean, onBatch: (words: Int32Array, n: number) => void): Int32Array;
  /** n more clients may be accepted (that many ended) by the acceptor handle (acceptSetup's: 0). */
  acceptMore(n: number, handle?: number): void;
  /** One more acceptor, as acceptSetup's, beside any others: its handle. The words reach onBatch. */
  acceptOpen(fd: number, budget: number, noDelay: boolean, onBatch: (words: Int32Array, n: number) => void): number;
  /** Stops and forgets an acceptor; its listening fd stays open (the caller closes it after). */
  acceptClose(handle: number): void;
  /**
   * A listening TCP socket passed in (socket activation), made non-blocking
   * and close-on-exec: [fd, port, address text]. Throws ENOTSOCK for anything else.
   */
  adoptTcp(fd: number): [fd: number, port: number, ip: string];
  /** One non-blocking send(2): bytes written, or -errno. */
  sendNow(fd: number, data: Buffer): number;
  // native/launch.cc
  /** Starts the spawner and reaper threads; true when running. onEvents gets 4 int32 per event. Once per process. */
  launchSetup(onEvents: (events: Int32Array) => void): boolean;
  /** Keeps a NUL-joined, NUL-terminated environment for launchSpawn: its handle, or -1 (a stray NUL). */
  launchTemplate(env: string, envc: number): number;
  /**
   * Queues one posix_spawn: argv and env NUL-joined and NUL-terminated, fd the
   * child's fd 0 and 1, id echoed in the events, owned: fd is closed after the
   * spawn, lazy: the start event of a success may wait, base: a template handle or -1.
   */
  launchSpawn(argv: string, argc: number, env: string, envc: number, fd: number, id: number, owned: boolean,
              lazy: boolean, base: number): void;
  /**
   * The same, for inetd's programs: path the file executed (not searched;
   * argv[0] only its name), flags 1: the socket as fd 2 too, 2: a new
   * session (setsid), uid -1 or the user, gids the groups (gids[0] the gid) or [].
   */
  launchSpawn(argv: string, argc: number, env: string, envc: number, fd: number, id: number, owned: boolean,
              lazy: boolean, base: number, path: string, flags: number, uid: number, gids: number[]): void;
  // native/sys.cc
  /** flock(LOCK_EX|LOCK_NB): false when another holds it. */
  flockExNb(fd: number): boolean;
  /** mkfifo(2); an existing FIFO is not an error. */
  mkfifo(path: string, mode: number): void;
  /** pipe2(O_CLOEXEC): [read, write]. */
  pipe(): [read: number, write: number];
  /** Raises the soft RLIMIT_NOFILE to n (at most the hard limit). */
  setNofile(n: number): void;
  /** fcntl(F_SETFD, FD_CLOEXEC). */
  cloexec(fd: number): void;
  // native/udp.cc
  /** An IPv4 datagram socket with SO_REUSEADDR, bound: [fd, port bound]. */
  udpBind(ip: string, port: number): [fd: number, port: number];
  /** One-shot: calls back when a datagram is queued, with its sender or -errno of the peek. */
  udpWait(fd: number, cb: (err: number, ip: string, port: number) => void): void;
  /** Drops the first queued datagram: 0 or -errno. */
  udpDiscard(fd: number): number;
  /** Stops waiting on fd (a pending wait is never called back) and closes it. */
  udpClose(fd: number): void;
  // native/proxy.cc
  /** One-shot: callback(0) when fd is readable, or the poll's -errno; the id cancels it. */
  proxyWait(fd: number, callback: (status: number) => void): number;
  /** Stops a proxyWait that has not called back. */
  proxyCancel(id: number): void;
  /** recv(MSG_PEEK | MSG_DONTWAIT) into buf[off..off+len): count, 0 at end of stream, or -errno. */
  proxyPeek(fd: number, buf: Buffer, off: number, len: number): number;
  /** recv(MSG_DONTWAIT) into buf[off..off+len): count, 0 at end of stream, or -errno. */
  proxyRecv(fd: number, buf: Buffer, off: number, len: number): number;
  // native/exec.cc
  /**
   * Becomes file (searched in PATH as djb's pathexec_run does) with argv and
   * env ("NAME=value" strings), keeping fds 0, 1, 2, what the process
   * inherited and keep, with the soft limits given set just before the
   * execve (put back if it fails); returns only by throwing the exec's error.
   */
  execvpe(file: string, argv: string[], env: string[], keep?: number[], limits?: Array<[resource: string, soft: number]>): never;
  /** [soft, hard] of a resource named as softlimit and chpst name it; -1 is unlimited. */
  getrlimit(resource: string): [soft: number, hard: number];
  /** Sets the soft limit of a resource (-1: unlimited); the hard limit stays. */
  setrlimit(resource: string, soft: number): void;
  setsid(): void;
  /** setpgid(pid, pgid); 0, 0 is this process into a group of its own. */
  setpgid(pid: number, pgid: number): void;
  chroot(path: string): void;
  nice(inc: number): void;
  /** flock(LOCK_EX), waiting. */
  flockEx(fd: number): void;
  /** The descriptors this process was started with. */
  inheritedFds(): number[];
  /**
   * inetd's fork and exec of a line's program: fd as its 0, 1 and 2, a new
   * session, signals at their defaults, the groups gids (gids[0] the gid;
   * none: kept) and uid (-1: kept). The pid; an exec that fails is thrown.
   * Not reaped by Node: reapPid.
   */
  spawnAs(path: string, argv: string[], env: string[], fd: number, uid: number, gids: number[]): number;
  /** waitpid(pid, WNOHANG): null while it runs, else [exit code, signal number] (one of them null). */
  reapPid(pid: number): [code: number | null, signal: number | null] | null;
  // native/startup.cc
  /** prctl(PR_SET_NAME): the name in /proc/self/comm (pidof, pgrep -x, killall). */
  setComm(name: string): void;
  /** Each signal of a SigIgn mask (hex, as /proc shows it) set to SIG_IGN again: the mask applied. */
  ignoreAgain(hex: string): string;
  /** The default disposition for sig again (SIGUSR1: away from Node's inspector). */
  sigDefault(sig: number): void;
  /** The argument area (/proc/self/cmdline) holds words as an argv would: false when /proc tells no area. */
  setArgv(words: string[]): boolean;
  // native/users.cc
  /** getpwnam(3) through NSS: [uid, gid], null when unknown; a failed look-up is thrown with its errno. */
  getpwnam(name: string): [uid: number, gid: number] | null;
  /** getgrnam(3) through NSS: the gid, null when unknown; a failed look-up is thrown with its errno. */
  getgrnam(name: string): number | null;
  /** getgrouplist(3): gid, then every group listing user as a member (initgroups(3)'s list). */
  getgrouplist(user: string, gid: number): number[];
  // native/rotate.cc
  /**
   * multilog's rotation of a directory with no processor (dirSlash: its path
   * and a slash), from step `step` on (the steps are numbered in
   * src/multilog/logdir.ts), data[out[3], length) first written to current:
   * the last step, or the step that failed. out[0]: current's descriptor now,
   * out[1]: the microseconds of the last old file's name (at least floor),
   * out[2]: the errno, out[3]: the bytes of data written.
   */
  cyclogRotate(dirSlash: Buffer, fd: number, num: number, floor: number, step: number, out: Float64Array,
               data: Buffer, length: number): number;
  /**
   * svlogd's rotation of current to a new @<tai64n>.<kind>, from `step` up to
   * `stop` (numbered in src/svlogd/logdir.ts): `stop`, or the step that
   * failed. out[0]: current's descriptor now, out[1]: the name's
   * microseconds (on the way in, the last name's: a new name comes after
   * it), out[2]: the errno.
   */
  svlogdRotate(dirSlash: Buffer, fd: number, kind: string, step: number, stop: number, out: Float64Array): number;
  /**
   * svlogd's pruning: the processor's leftovers, then the oldest old file when
   * more than nmax remain. 0: nothing to say; -errno: the directory could not
   * be opened; else what to say, in order: [0, name, errno] a leftover that
   * stays, [2, null, errno] a listing cut short, [1, name, errno or 0] the
   * oldest file (said with verbose, or when it stays).
   */
  svlogdPrune(dirSlash: Buffer, nmax: number, verbose: boolean): number | Array<[kind: 0 | 1 | 2, name: Buffer | null, errno: number]>;
  // native/tls.cc (optional: an addon built without it lacks these)
  /**
   * Starts the TLS worker threads (threads: 1 to 64, default 2): the number
   * started. onEvent(id, kind, detail) on the loop: kind 0 a handshake done
   * (detail: the session, see src/tls/native.ts), 1 a handshake failed
   * (detail: why), 2 a relay ended (detail: '' or why). Once per process.
   */
  tlsSetup?(onEvent: (id: number, kind: 0 | 1 | 2, detail: unknown) => void, threads?: number): number;
  /** A new configuration for the handshakes from now on; throws (naming the pair) and keeps the one in use. */
  tlsConfigure?(cfg: object): void;
  /** A handshake on an accepted socket (owned from now on): its id. */
  tlsHandshake?(fd: number): number;
  /** Relays connection id's records with fd (owned from now on) until both ways end: then an event kind 2. */
  tlsRelay?(id: number, fd: number): void;
  /** Closes connection id: no event, unless it was relaying (kind 2 then). */
  tlsDrop?(id: number): void;
  /** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): both ends blocking. */
  socketPair?(): [a: number, b: number];
}

let cached: Addon | null | undefined;
let loadError: Error | undefined;

/** The package root: the nearest directory up from here with a package.json. */
function packageRoot(): string | undefined {
  // From dist/cmd/ (the bundles), dist/src/ (tsc's output) or src/ (tap).
  for (let dir = __dirname, up = 0; up < 4; up++, dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

/** Where the addon is loaded from (whether or not it is there), or undefined outside a package. */
export function addonFile(): string | undefined {
  const root = packageRoot();
  return root === undefined ? undefined : path.join(root, 'build', 'Release', 'ucspi.node');
}

/** The addon, or null when it is not built, $UCSPI_NO_NATIVE is set, or it failed to load (see nativeLoadError). */
export function loadNative(): Addon | null {
  if (cached !== undefined) return cached;
  if (process.env.UCSPI_NO_NATIVE) return (cached = null);
  const file = addonFile();
  if (file === undefined) return (cached = null);
  // Not built is the pure-Node install: nothing to report.
  if (!existsSync(file)) return (cached = null);
  try {
    return (cached = require(file) as Addon);
  } catch (e) {
    // Built but unusable (another Node's ABI, a missing library): kept for the caller to report.
    loadError = e as Error;
    return (cached = null);
  }
}

/** Why a built addon could not be loaded, when it could not. */
export function nativeLoadError(): Error | undefined {
  loadNative();
  return loadError;
}

/** A failure an addon function returns as -errno, shaped as Node's errors ("syscall CODE"). */
export function addonError(negErrno: number, syscall: string): NodeJS.ErrnoException {
  // libuv names no ENOEXEC, ECHILD, EDOM ...: those are named from the errno.
  let code = getSystemErrorName(negErrno);
  if (code.startsWith('Unknown')) code = errnoName(negErrno) ?? code;
  return Object.assign(new Error(`${syscall} ${code}`), { errno: negErrno, code, syscall });
}
