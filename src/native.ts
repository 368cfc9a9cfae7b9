// The optional native addon (build/Release/ucspi.node, built by node-gyp at
// install): what it offers, by concern, declared here and nowhere else, and
// its loading, here and nowhere else (the bundles' first lines load it for
// start-up and hand it over: see loadNative).
//
// Every user works without it. A concern is there whole or not at all
// (addonPart): an addon built from other sources than these counts as absent
// for a concern it lacks a function of. Without the addon, each concern's
// users do without it in one place each:
//
// | concern | its users                          | without the addon                                   |
// |---------|------------------------------------|-----------------------------------------------------|
// | accept  | engine/backend.ts, listen/native.ts | net.Server (listen/netserver.ts)                   |
// | launch  | engine/backend.ts, inetd/launch.ts | child_process (launch/spawn.ts, inetd/launch.ts)    |
// | udp     | listen/udp.ts                      | none: udpsvd says so at start                       |
// | proxy   | listen/proxywait.ts                | the socket's own reads (listen/proxywait.ts)        |
// | exec    | chain/exec.ts, effects.ts, limits.ts, supervise/fghack.ts | a child relayed (chain/exec.ts), renice(1), /proc/self/limits and prlimit(1), setsid in the child; chroot fails |
// | sys     | lib/flock.ts, supervise/sys.ts, fghack.ts | flock(1) (lib/flock.ts), mkfifo(1) and a FIFO for a pipe (supervise/sys.ts), Node's pipe (supervise/fghack.ts) |
// | startup | scripts/banner.js, lib/title.ts    | process.title, signals caught and dropped, Node's descriptor limit |
// | users   | users/lookup.ts                    | the files, then getent(1)                           |
// | rotate  | multilog/logdir.ts, svlogd/logdir.ts | the same steps in JavaScript                      |
// | client  | client/connect.ts                  | net.Socket, and the program as a child (client/)    |
// | tls     | tls/native.ts                      | Node's tls on the event loop (tls/node.ts)          |
//
// One error shape: a failure is thrown as Node's system errors are (errno
// negative, code, syscall; addonError). An answer is no failure: null for an
// unknown user or a child still running, false for no argument area. Three
// kinds of functions say -errno instead, each marked Errno in its signature:
// the per-connection and per-datagram calls (sendNow, proxyPeek, proxyRecv,
// udpDiscard) where a throw would cost more than the call; the callbacks
// (udpWait, proxyWait, accept's and launch's words), which cannot throw; and
// the rotations, which stop at the step that failed, to be taken up again
// there (out[2] the positive errno). The launcher's calls (launchSetup's
// boolean, launchTemplate's -1) are src/launch/'s to convert.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import { getSystemErrorName } from 'node:util';
import { errnoName } from './lib/errstr';

/** 0 or more: done (a count, where there is one); less than 0: -errno (addonError makes it an error). */
export type Errno = number;

/** native/accept.cc: listening sockets and the accept loop on the event loop. */
export interface Accept {
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
   * A non-blocking listening UNIX-domain socket at path (free: the caller
   * removes a stale one): bind under umask(mask), lchown(uid, gid) (-1 keeps),
   * chmod(mode) unless 0, then listen. Its clients' words are
   * [fd, 1 | 1 << 8, pid, 0, uid, gid, credentials known (0/1), ...].
   */
  listenUnix(path: string, backlog: number, mask?: number, uid?: number, gid?: number, mode?: number): number;
  /**
   * A blocking connection to the UNIX-domain socket at path, dup'ed onto each
   * descriptor of onto (its own closed): the server's [pid, uid, gid] by
   * SO_PEERCRED, -1 each when unknown.
   */
  connectUnix(path: string, onto: number[]): [pid: number, uid: number, gid: number];
  /**
   * A listening TCP socket passed in (socket activation), made non-blocking
   * and close-on-exec: [fd, port, address text]. Throws ENOTSOCK for anything else.
   */
  adoptTcp(fd: number): [fd: number, port: number, ip: string];
  /** One non-blocking send(2) (the -B banner, per connection): bytes written, or -errno. */
  sendNow(fd: number, data: Buffer): Errno;
}

/** native/launch.cc: posix_spawn and reaping on the addon's threads; exec.cc's fork for inetd. */
export interface Launch {
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
  /**
   * The same with flags 4: env's entry at index pidVar (counted in env, not
   * in base) ends in 10 bytes of room that the child fills with its own pid
   * (unixserver's UNIXLOCALPID).
   */
  launchSpawn(argv: string, argc: number, env: string, envc: number, fd: number, id: number, owned: boolean,
              lazy: boolean, base: number, path: string, flags: number, uid: number, gids: number[], pidVar: number): void;
  /**
   * inetd's fork and exec of a line's program (native/exec.cc): fd as its 0,
   * 1 and 2, a new session, signals at their defaults, the groups gids
   * (gids[0] the gid; none: kept) and uid (-1: kept). The pid; an exec that
   * fails is thrown. Not reaped by Node: reapPid.
   */
  spawnAs(path: string, argv: string[], env: string[], fd: number, uid: number, gids: number[]): number;
  /** waitpid(pid, WNOHANG): null while it runs, else [exit code, signal number] (one of them null). */
  reapPid(pid: number): [code: number | null, signal: number | null] | null;
}

/** native/udp.cc: udpsvd's sockets, waited on but never read. */
export interface Udp {
  /** An IPv4 datagram socket with SO_REUSEADDR, bound: [fd, port bound]. */
  udpBind(ip: string, port: number): [fd: number, port: number];
  /** One-shot: calls back when a datagram is queued, with its sender or -errno of the peek. */
  udpWait(fd: number, cb: (err: Errno, ip: string, port: number) => void): void;
  /** Drops the first queued datagram (per datagram): 0 or -errno. */
  udpDiscard(fd: number): Errno;
  /** Stops waiting on fd (a pending wait is never called back) and closes it. */
  udpClose(fd: number): void;
}

/** native/proxy.cc: reading a PROXY header without taking more than it. */
export interface Proxy {
  /** One-shot: callback(0) when fd is readable, or the poll's -errno; the id cancels it. */
  proxyWait(fd: number, callback: (status: Errno) => void): number;
  /** Stops a proxyWait that has not called back. */
  proxyCancel(id: number): void;
  /** recv(MSG_PEEK | MSG_DONTWAIT) into buf[off..off+len): count, 0 at end of stream, or -errno. */
  proxyPeek(fd: number, buf: Buffer, off: number, len: number): Errno;
  /** recv(MSG_DONTWAIT) into buf[off..off+len): count, 0 at end of stream, or -errno. */
  proxyRecv(fd: number, buf: Buffer, off: number, len: number): Errno;
}

/** native/exec.cc: the chain-loading tools' calls on their own process, and becoming the program. */
export interface Exec {
  /**
   * Becomes file (searched in PATH as djb's pathexec_run does) with argv and
   * env ("NAME=value" strings), keeping fds 0, 1, 2, what the process
   * inherited and keep, with the soft limits given set just before the
   * execve (put back if it fails; see execTakesLimits); moves: [from, to]
   * descriptors copied first, each from then closed unless it is a to (not
   * undone); returns only by throwing the exec's error.
   */
  execvpe(file: string, argv: string[], env: string[], keep?: number[], limits?: Array<[resource: string, soft: number]>,
          moves?: Array<[from: number, to: number]>): never;
  /** [soft, hard] of a resource named as softlimit and chpst name it; -1 is unlimited. */
  getrlimit(resource: string): [soft: number, hard: number];
  /** Sets the soft limit of a resource (-1: unlimited); the hard limit stays. */
  setrlimit(resource: string, soft: number): void;
  setsid(): void;
  /** setpgid(pid, pgid); 0, 0 is this process into a group of its own. */
  setpgid(pid: number, pgid: number): void;
  chroot(path: string): void;
  nice(inc: number): void;
  /** The descriptors this process was started with. */
  inheritedFds(): number[];
}

/** native/sys.cc (and exec.cc's flockEx): locks, FIFOs, pipes, descriptor flags. */
export interface Sys {
  /** flock(LOCK_EX|LOCK_NB); another holder is thrown as EAGAIN. */
  flockExNb(fd: number): void;
  /** flock(LOCK_EX), waiting. */
  flockEx(fd: number): void;
  /** mkfifo(2); an existing FIFO is not an error. */
  mkfifo(path: string, mode: number): void;
  /** pipe2(O_CLOEXEC): [read, write]. */
  pipe(): [read: number, write: number];
  /** fcntl(F_SETFD, FD_CLOEXEC). */
  cloexec(fd: number): void;
}

/** native/startup.cc (and sys.cc's setNofile): what every command does at start (scripts/banner.js, lib/title.ts). */
export interface Startup {
  /** prctl(PR_SET_NAME): the name in /proc/self/comm (pidof, pgrep -x, killall). */
  setComm(name: string): void;
  /** Each signal of a SigIgn mask (hex, as /proc shows it) set to SIG_IGN again: the mask applied. */
  ignoreAgain(hex: string): string;
  /** The default disposition for sig again (SIGUSR1: away from Node's inspector). */
  sigDefault(sig: number): void;
  /** The argument area (/proc/self/cmdline) holds words as an argv would: false when /proc tells no area. */
  setArgv(words: string[]): boolean;
  /** Raises the soft RLIMIT_NOFILE to n (at most the hard limit). */
  setNofile(n: number): void;
}

/** native/users.cc: account look-ups through NSS. */
export interface Users {
  /** getpwnam(3) through NSS: [uid, gid], null when unknown; a failed look-up is thrown with its errno. */
  getpwnam(name: string): [uid: number, gid: number] | null;
  /** getgrnam(3) through NSS: the gid, null when unknown; a failed look-up is thrown with its errno. */
  getgrnam(name: string): number | null;
  /** getgrouplist(3): gid, then every group listing user as a member (initgroups(3)'s list). */
  getgrouplist(user: string, gid: number): number[];
}

/** What svlogdPrune found to say, in order: a leftover that stays, a listing cut short, the oldest file (removed unless error). */
export type PruneNote = [kind: 0 | 1 | 2, name: Buffer | null, error: NodeJS.ErrnoException | null];

/** native/rotate.cc: multilog's and svlogd's rotation of a log directory, step by step. */
export interface Rotate {
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
   * more than nmax remain: what to say of them (with verbose, the oldest file
   * removed too). A directory that cannot be opened is thrown (opendir).
   */
  svlogdPrune(dirSlash: Buffer, nmax: number, verbose: boolean): PruneNote[];
}

/** native/client.cc: tcpclient's connection. */
export interface Client {
  /**
   * tcpclient's connect: an IPv4 socket bound to localIp:localPort, connected
   * within timeoutMs, back in blocking mode, close-on-exec: its fd. Thrown
   * with syscall "socket", "bind" or "connect" (ETIMEDOUT: out of time).
   */
  tcpConnect(ip: string, port: number, localIp: string, localPort: number, timeoutMs: number, noDelay: boolean): number;
  /** getsockname and getpeername of an IPv4 socket. */
  sockNames(fd: number): [localIp: string, localPort: number, remoteIp: string, remotePort: number];
}

/** native/tls.cc: handshakes and records on the addon's own threads (absent from an addon built without OpenSSL's headers). */
export interface Tls {
  /**
   * Starts the TLS worker threads (threads: 1 to 64, default 2): the number
   * started. onEvent(id, kind, detail) on the loop: kind 0 a handshake done
   * (detail: the session, see src/tls/native.ts), 1 a handshake failed
   * (detail: why), 2 a relay ended (detail: '' or why). Once per process.
   */
  tlsSetup(onEvent: (id: number, kind: 0 | 1 | 2, detail: unknown) => void, threads?: number): number;
  /** A new configuration for the handshakes from now on; throws (naming the pair) and keeps the one in use. */
  tlsConfigure(cfg: object): void;
  /** A handshake on an accepted socket (owned from now on): its id. */
  tlsHandshake(fd: number): number;
  /**
   * Relays connection id's records with fd (owned from now on) until both
   * ways end, or nothing has moved either way for idleMs (0: no limit): then
   * an event kind 2.
   */
  tlsRelay(id: number, fd: number, idleMs?: number): void;
  /** Closes connection id: no event, unless it was relaying (kind 2 then). */
  tlsDrop(id: number): void;
  /** socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): both ends blocking. */
  socketPair(): [a: number, b: number];
}

/** Each concern by its name. */
export interface Parts {
  client: Client;
  tls: Tls;
  accept: Accept;
  launch: Launch;
  udp: Udp;
  proxy: Proxy;
  exec: Exec;
  sys: Sys;
  startup: Startup;
  users: Users;
  rotate: Rotate;
}

/** Everything the addon offers. */
export type Addon = Accept & Launch & Udp & Proxy & Exec & Sys & Startup & Users & Rotate & Client & Tls;

/** Every function of each concern, for addonPart's one look at what a build offers (tsc checks the lists whole). */
const PART_NAMES: { [K in keyof Parts]: { [F in keyof Parts[K]]: 0 } } = {
  accept: { listenTcp: 0, acceptSetup: 0, acceptMore: 0, acceptOpen: 0, acceptClose: 0, listenUnix: 0, connectUnix: 0, adoptTcp: 0, sendNow: 0 },
  launch: { launchSetup: 0, launchTemplate: 0, launchSpawn: 0, spawnAs: 0, reapPid: 0 },
  udp: { udpBind: 0, udpWait: 0, udpDiscard: 0, udpClose: 0 },
  proxy: { proxyWait: 0, proxyCancel: 0, proxyPeek: 0, proxyRecv: 0 },
  exec: { execvpe: 0, getrlimit: 0, setrlimit: 0, setsid: 0, setpgid: 0, chroot: 0, nice: 0, inheritedFds: 0 },
  sys: { flockExNb: 0, flockEx: 0, mkfifo: 0, pipe: 0, cloexec: 0 },
  startup: { setComm: 0, ignoreAgain: 0, sigDefault: 0, setArgv: 0, setNofile: 0 },
  users: { getpwnam: 0, getgrnam: 0, getgrouplist: 0 },
  rotate: { cyclogRotate: 0, svlogdRotate: 0, svlogdPrune: 0 },
  client: { tcpConnect: 0, sockNames: 0 },
  tls: { tlsSetup: 0, tlsConfigure: 0, tlsHandshake: 0, tlsRelay: 0, tlsDrop: 0, socketPair: 0 },
};

/** What the bundle's first lines (scripts/banner.js) loaded, handed over as process.ucspiAddon. */
interface Handed {
  file: string;
  addon: object | null;
  error?: Error;
}

let cached: Addon | null | undefined;
let loadError: Error | undefined;
const parts = new Map<keyof Parts, unknown>();

/** The package root: the nearest directory up from here with a package.json. */
function packageRoot(): string | undefined {
  // From dist/cmd/ (the bundles), dist/src/ (tsc's output) or src/ (tap).
  for (let dir = __dirname, up = 0; up < 4; up++, dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return undefined;
}

function handed(): Handed | undefined {
  return (process as { ucspiAddon?: Handed }).ucspiAddon;
}

/** Where the addon is loaded from (whether or not it is there), or undefined outside a package. */
export function addonFile(): string | undefined {
  const h = handed();
  if (h !== undefined) return h.file;
  const root = packageRoot();
  return root === undefined ? undefined : path.join(root, 'build', 'Release', 'ucspi.node');
}

/**
 * The addon, or null when it is not built, $UCSPI_NO_NATIVE is set, or it
 * failed to load (see nativeLoadError). In a bundle, the module the banner
 * loaded (the same file, the same conditions): the addon is loaded once.
 */
export function loadNative(): Addon | null {
  if (cached !== undefined) return cached;
  const h = handed();
  if (h !== undefined) {
    // The banner tries the file without looking first: not built is the pure-Node install, nothing to report.
    if (h.addon === null && h.error !== undefined && existsSync(h.file)) loadError = h.error;
    return (cached = h.addon === null ? null : adapt(h.addon));
  }
  if (process.env.UCSPI_NO_NATIVE) return (cached = null);
  const file = addonFile();
  if (file === undefined) return (cached = null);
  // Not built is the pure-Node install: nothing to report.
  if (!existsSync(file)) return (cached = null);
  try {
    return (cached = adapt(require(file) as object));
  } catch (e) {
    // Built but unusable (another Node's ABI, a missing library): kept for the caller to report.
    loadError = e as Error;
    return (cached = null);
  }
}

/** One concern of the addon, or null without the addon or when it lacks a function of that concern. */
export function addonPart<K extends keyof Parts>(part: K): Parts[K] | null {
  if (parts.has(part)) return parts.get(part) as Parts[K] | null;
  const n = loadNative() as unknown as Record<string, unknown> | null;
  const whole = n !== null && Object.keys(PART_NAMES[part]).every((f) => typeof n[f] === 'function');
  const got = whole ? (n as unknown as Parts[K]) : null;
  parts.set(part, got);
  return got;
}

/**
 * Whether execvpe sets the limits it is given: an addon built before it took
 * them (it has no spawnAs either) would drop them, and the caller sets them
 * itself before the exec (chain/limits.ts).
 */
export function execTakesLimits(): boolean {
  return typeof (loadNative() as Partial<Addon> | null)?.spawnAs === 'function';
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

/** The module as loaded, with the few functions whose failures it returns converted to the one shape. */
function adapt(raw: object): Addon {
  const m = raw as Record<string, unknown>;
  const out = { ...m } as Record<string, unknown>;
  const flockExNb = m.flockExNb as ((fd: number) => boolean) | undefined;
  if (typeof flockExNb === 'function') {
    out.flockExNb = (fd: number): void => {
      if (!flockExNb(fd)) throw addonError(-constants.errno.EAGAIN, 'flock');
    };
  }
  type RawNote = [0 | 1 | 2, Buffer | null, number];
  const prune = m.svlogdPrune as ((d: Buffer, n: number, v: boolean) => number | RawNote[]) | undefined;
  if (typeof prune === 'function') {
    out.svlogdPrune = (dirSlash: Buffer, nmax: number, verbose: boolean): PruneNote[] => {
      const r = prune(dirSlash, nmax, verbose);
      if (typeof r === 'number') {
        if (r < 0) throw addonError(r, 'opendir');
        return [];
      }
      // A listing cut short is readdir's failure, the others unlink's.
      return r.map(([kind, name, errno]) => [kind, name, errno === 0 ? null : addonError(-errno, kind === 2 ? 'readdir' : 'unlink')]);
    };
  }
  return out as unknown as Addon;
}
