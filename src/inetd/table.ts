// The service table: one socket per entry of inetd.conf, and what serves it.
// stream nowait programs get the client's socket (accepted by the addon when it is there); internal services are
// answered here; datagram programs get the socket itself (listen/udp.ts)
// and, for "wait", the socket is not watched again until the program exits.
// Every program is started by the server's launcher (src/launch/), the
// addon's or child_process, as tcpsvd's and udpsvd's. A reread
// (SIGHUP) keeps every socket whose entry is still there (same service,
// host, protocol and address) and only changes what serves it; live
// connections are never touched.
import * as dgram from 'node:dgram';
import { closeSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { bindUdp, udpAddon, type UdpSocket } from '../listen/udp';
import { type EnvBase, type ExitStatus, INETD_STDIO, type Launcher } from '../launch/launch';
import { toBytes } from '../lib/bytes';
import { strerror } from '../lib/errstr';
import type { Accepted } from '../listen/listen';
import { listenMany, type NativeSocket } from '../listen/native';
import type { Addon } from '../native';
import { type Entry, keyOf } from './conf';
import { answerDatagram, badSender, DgramState, loopPort, serveStream } from './internal';
import { credsFor } from './launch';
import type { InetdLog } from './log';

/** openbsd-inetd's CNT_INTVL: invocations are counted per this many seconds. */
const CNT_INTVL = 60;
/** Its RETRYTIME: a service that failed to bind, or was looping, is tried again after this many seconds. */
export const RETRYTIME = 600;

/** A line this inetd does not serve (a documented difference): said once, never retried. */
class NotServed extends Error {}

export interface TableOptions {
  log: InetdLog;
  /** The environment every program gets (laundered unless -E). */
  env: NodeJS.ProcessEnv;
  /** -q: listen(2) backlog. */
  backlog: number;
  uid: number;
  /** What starts every program: the addon's or child_process (src/engine/backend.ts chose it). */
  launcher: Launcher;
  /**
   * The addon's path: stream nowait lines are accepted in native/accept.cc,
   * as tcpsvd's clients. Without it, net.Server.
   */
  addon?: Addon;
}

interface Live {
  entry: Entry;
  key: string;
  /** The line's program as executed: its path resolved once, against inetd's directory. */
  file: string;
  server?: net.Server;
  /** The stream socket on the addon's path. */
  nsock?: NativeSocket;
  udp?: dgram.Socket;
  usock?: UdpSocket;
  /** A line this inetd does not serve: said once, not retried. */
  notServed?: boolean;
  /** Invocations in the current minute and when it started (seconds, monotonic). */
  count: number;
  since: number;
  /** A wait service's running program. */
  busy: number;
  closed: boolean;
  ring: DgramState;
}

const now = () => Number(process.hrtime.bigint() / 1_000_000_000n);

function printService(action: string, e: Entry): string {
  const where = e.hostaddr === '*' ? `${action}: ${e.service} ` : `${action}: ${e.hostaddr}:${e.service} `;
  return where + `proto=${e.proto}, wait.max=${e.wait ? 1 : 0}.${e.max} user:group=${e.user}:${e.group ?? '(default)'} ` +
    `builtin=${e.internal ? e.internal.name : 0} server=${e.server}`;
}

/** The wait status as wait(2) encodes it, as openbsd-inetd prints it in hex. */
function rawStatus(st: ExitStatus): string {
  return ((st.code ?? 0) << 8 | (st.signal ?? 0)).toString(16);
}

export class Table {
  private readonly live = new Map<string, Live>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** The programs' environment as the native launcher keeps it (made once). */
  private envBase: EnvBase | undefined;

  constructor(private readonly o: TableOptions) {}

  /** Takes a new configuration: adds, changes and removes services. */
  async apply(entries: Entry[]): Promise<void> {
    const seen = new Set<string>();
    for (const e of entries) {
      const key = keyOf(e);
      if (seen.has(key)) continue;
      seen.add(key);
      const old = this.live.get(key);
      if (old && this.compatible(old.entry, e)) {
        old.entry = e; // what serves the socket from now on; live connections keep theirs
        this.o.log.trace(printService('REDO', e));
        continue;
      }
      if (old) this.close(old);
      const l: Live = { entry: e, key, file: path.resolve(e.server), count: 0, since: 0, busy: 0, closed: false, ring: new DgramState() };
      this.live.set(key, l);
      await this.open(l);
      this.o.log.trace(printService('ADD', e));
    }
    for (const [key, l] of this.live) {
      if (seen.has(key)) continue;
      this.close(l);
      this.live.delete(key);
      this.o.log.trace(printService('FREE', l.entry));
    }
  }

  /** Whether old's socket can serve e: the same port, and the same kind of socket. */
  private compatible(old: Entry, e: Entry): boolean {
    if (old.port !== e.port) return false;
    if (e.socktype === 'stream') return true;
    return !!old.internal === !!e.internal;
  }

  /** Closes every socket (SIGTERM). */
  closeAll(): void {
    for (const l of this.live.values()) this.close(l);
  }

  private close(l: Live): void {
    l.closed = true;
    l.server?.close();
    l.server = undefined;
    l.nsock?.close();
    l.nsock = undefined;
    try { l.udp?.close(); } catch { /* closed */ }
    l.udp = undefined;
    if (l.usock) {
      l.usock.close();
      l.usock = undefined;
    }
  }

  private async open(l: Live): Promise<void> {
    const e = l.entry;
    l.closed = false;
    try {
      if (e.socktype === 'stream') await this.openStream(l);
      else if (e.internal) await this.openDgramInternal(l);
      else this.openDgramProgram(l);
    } catch (err) {
      if (err instanceof NotServed) {
        this.o.log.syslog('err', `${e.service}/${e.proto}: ${err.message}`);
        l.notServed = true;
        return;
      }
      this.o.log.syslog('err', `${e.service}/${e.proto}: bind: ${strerror(err)}`);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const l of this.live.values()) {
        if (!l.server && !l.nsock && !l.udp && !l.usock && !l.notServed) void this.open(l);
      }
    }, RETRYTIME * 1000);
    this.retryTimer.unref?.();
  }

  // ---- stream ----------------------------------------------------------------

  private openStream(l: Live): Promise<void> {
    const e = l.entry;
    // stream wait (a program that accepts by itself) needs the listening socket
    // unwatched while it runs, which net.Server cannot do.
    if (e.wait) throw new NotServed('stream wait is not served (the program would accept by itself)');
    if (this.o.addon) {
      // As net.Server's listen takes the backlog (0: its default).
      const sock = listenMany(this.o.addon, e.ip, e.port, this.o.backlog || 511, e.v6 && e.proto !== 'tcp46');
      l.nsock = sock;
      sock.accept(this.guarded(l, (a: Accepted) => this.onNativeClient(l, sock, a)),
        (err) => this.o.log.syslog('warning', `accept (for ${l.entry.service}): ${strerror(err)}`));
      return Promise.resolve();
    }
    const server = net.createServer({ pauseOnConnect: true });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: e.ip, port: e.port, backlog: this.o.backlog, ipv6Only: e.v6 && e.proto !== 'tcp46', exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.o.log.syslog('warning', `accept (for ${e.service}): ${strerror(err)}`));
        server.on('connection', this.guarded(l, (s: net.Socket) => this.onConnection(l, s)));
        l.server = server;
        resolve();
      });
    });
  }

  private onConnection(l: Live, s: net.Socket): void {
    const e = l.entry;
    const log = this.o.log;
    const fd: number | undefined = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
    log.trace(`someone wants ${e.service}`);
    log.trace(`accept, ctrl ${fd ?? -1}`);
    s.on('error', () => {});
    // Connections from port 20 look like an FTP bounce: dropped unserved.
    if (s.remotePort === 20 || fd === undefined || s.remoteAddress === undefined) { s.destroy(); return; }
    log.trace(`someone wants ${e.service}`);
    const bi = e.internal;
    if (!bi || bi.forks) {
      if (!this.counted(l, () => s.destroy())) return;
    }
    if (bi) {
      s.resume();
      serveStream(bi.name, s);
      return;
    }
    // The child has its own copy of the socket once started (or none): ours goes.
    this.runProgram(l, fd, false, () => s.destroy(), () => {});
  }

  /** A client of a stream line on the addon's path: its fd is ours until a program or net.Socket has it. */
  private onNativeClient(l: Live, sock: NativeSocket, a: Accepted): void {
    const fd = a.fd;
    // Accepted in the batch that closed its line (looping): dropped, as the backlog of a closed socket.
    if (l.nsock !== sock) { closeSync(fd); return; }
    const e = l.entry;
    const log = this.o.log;
    log.trace(`someone wants ${e.service}`);
    log.trace(`accept, ctrl ${fd}`);
    // Connections from port 20 look like an FTP bounce: dropped unserved.
    if (a.remotePort === 20) { closeSync(fd); return; }
    log.trace(`someone wants ${e.service}`);
    const bi = e.internal;
    if (!bi || bi.forks) {
      if (!this.counted(l, () => closeSync(fd))) return;
    }
    if (bi) {
      const s = new net.Socket({ fd, readable: true, writable: true });
      serveStream(bi.name, s);
      return;
    }
    this.runProgram(l, fd, true, () => {}, () => {});
  }

  /**
   * The line's program through the launcher, with fd as its 0, 1 and 2 (owned:
   * the launcher closes fd), as the line's user, traced and logged as
   * openbsd-inetd has it: started(pid), 0 when it could not be started;
   * exited(status) once it is reaped.
   */
  private runProgram(l: Live, fd: number, owned: boolean, started: (pid: number) => void, exited: (st: ExitStatus) => void): void {
    const e = l.entry;
    const log = this.o.log;
    const launcher = this.o.launcher;
    const creds = credsFor(e.user, e.group, this.o.uid, undefined, launcher.name === 'native');
    if (typeof creds === 'string') {
      if (owned) closeSync(fd);
      log.syslog('err', creds);
      started(0);
      return;
    }
    if (!this.envBase) {
      const vars: string[] = [];
      for (const [k, v] of Object.entries(this.o.env)) if (v !== undefined) vars.push(toBytes(`${k}=${v}`));
      this.envBase = launcher.envBase(vars);
    }
    launcher.launch({
      // A stream nowait start needs no word back but in the trace (-d): its event may wait for the exit's.
      argv: e.argv, env: [], base: this.envBase, fd, owned, lazyStart: owned && !log.debug,
      path: l.file, stdio: INETD_STDIO, session: true, uid: creds.uid, gids: creds.gids,
    }, this.guarded(l, (err: NodeJS.ErrnoException | null, pid: number) => {
      if (err) {
        log.syslog('err', `execv ${e.server}: ${strerror(err)}`);
        started(0);
        return;
      }
      log.trace(`${pid} execv ${e.server}`);
      started(pid);
    }), this.guarded(l, (st: ExitStatus) => {
      log.trace('reaping asked for');
      log.trace(`${st.pid} reaped, status ${rawStatus(st)}`);
      exited(st);
    }));
  }

  /**
   * openbsd-inetd's invocation count: false when this one is over the
   * line's max in the current minute. Then an IPv4 service on a port of 1024
   * or more just drops the client (another user could have the port next);
   * any other is closed for RETRYTIME, with its message.
   */
  private counted(l: Live, drop: () => void): boolean {
    const e = l.entry;
    const t = now();
    if (l.count++ === 0) {
      l.since = t;
      return true;
    }
    if (l.count < e.max) return true;
    if (t - l.since > CNT_INTVL) {
      l.since = t;
      l.count = 1;
      return true;
    }
    drop();
    if (!e.v6 && e.port >= 1024) {
      l.count--;
      return false;
    }
    this.o.log.syslog('err', `${e.service}/${e.proto} server failing (looping), service terminated for ${RETRYTIME / 60} min`);
    this.close(l);
    l.closed = false; // still in the table: reopened by the retry
    l.count = 0;
    this.scheduleRetry();
    return false;
  }

  // ---- datagram --------------------------------------------------------------

  private openDgramInternal(l: Live): Promise<void> {
    const e = l.entry;
    const sock = dgram.createSocket({ type: e.v6 ? 'udp6' : 'udp4', reuseAddr: true, ipv6Only: e.v6 && e.proto !== 'udp46' });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(e.port, e.ip, () => {
        sock.off('error', reject);
        sock.on('error', () => {});
        sock.on('message', this.guarded(l, (msg: Buffer, from: dgram.RemoteInfo) => {
          this.o.log.trace(`someone wants ${l.entry.service}`);
          if (badSender(from.address) || loopPort(from.port)) return;
          const answer = answerDatagram(l.entry.internal!.name, msg, l.ring);
          // A failed send is the datagram's loss alone, as openbsd-inetd's unchecked sendto.
          if (answer) sock.send(answer, from.port, from.address, () => {});
        }));
        l.udp = sock;
        resolve();
      });
    });
  }

  private openDgramProgram(l: Live): void {
    const e = l.entry;
    const addon = udpAddon();
    if (!addon) throw new NotServed('a datagram program needs the native addon (not built)');
    if (e.v6) throw new NotServed('a datagram program is served over IPv4 only');
    l.usock = bindUdp(addon, e.ip, e.port);
    this.waitDatagram(l);
  }

  private waitDatagram(l: Live): void {
    const sock = l.usock;
    if (!sock || l.closed) return;
    sock.wait(this.guarded(l, (err: Error | null) => {
      if (l.closed || l.usock !== sock) return;
      const e = l.entry;
      if (err) {
        this.o.log.syslog('warning', `recvfrom (for ${e.service}): ${strerror(err)}`);
        setTimeout(() => this.waitDatagram(l), 100);
        return;
      }
      this.o.log.trace(`someone wants ${e.service}`);
      if (!this.counted(l, () => sock.discard())) {
        if (l.usock === sock) this.waitDatagram(l);
        return;
      }
      this.runProgram(l, sock.fd, false, (pid) => {
        if (pid === 0) {
          sock.discard();
          this.waitDatagram(l);
        } else if (e.wait) l.busy = pid;
        else this.waitDatagram(l);
      }, (st) => {
        if (!e.wait || l.busy !== st.pid) return;
        if (st.code !== null && st.code !== 0) this.o.log.syslog('warning', `${e.server}: exit status ${st.code}`);
        else if (st.signal !== null) this.o.log.syslog('warning', `${e.server}: exit signal ${st.signal}`);
        l.busy = 0;
        this.o.log.trace(`restored ${e.service}, fd ${sock.fd}`);
        this.waitDatagram(l);
      });
    }));
  }

  /**
   * fn, for an event of line l: whatever it throws is said in syslog and goes
   * no further, so that no client, datagram or program of one line ends the
   * process that serves every other line.
   */
  private guarded<A extends unknown[]>(l: Live, fn: (...a: A) => void): (...a: A) => void {
    return (...a: A) => {
      try {
        fn(...a);
      } catch (err) {
        this.o.log.syslog('err', `${l.entry.service}/${l.entry.proto}: ${strerror(err)}`);
      }
    };
  }
}
