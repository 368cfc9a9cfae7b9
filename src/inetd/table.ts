// The service table: one socket per entry of inetd.conf, and what serves it.
// stream nowait programs go through the same Engine as tcpsvd (one Engine
// per line, fed by this entry's listener); internal services are answered
// here; datagram programs get the socket itself (listen/udp.ts) and, for
// "wait", the socket is not watched again until the program exits. A reread
// (SIGHUP) keeps every socket whose entry is still there (same service,
// host, protocol and address) and only changes what serves it; live
// connections are never touched.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { getSystemErrorMap } from 'node:util';
import { Engine } from '../engine/engine';
import type { Accepted, Listener } from '../listen/listen';
import { bindUdp, udpAddon, type UdpSocket } from '../listen/udp';
import type { EngineLog } from '../log/log';
import type { ExitStatus } from '../launch/launch';
import { type Entry, keyOf } from './conf';
import { answerDatagram, badSender, DgramState, serveStream } from './internal';
import { credsFor, lineLauncher, type Program, spawnProgram } from './launch';
import type { InetdLog } from './log';

/** openbsd-inetd's CNT_INTVL: invocations are counted per this many seconds. */
const CNT_INTVL = 60;
/** Its RETRYTIME: a service that failed to bind, or was looping, is tried again after this many seconds. */
export const RETRYTIME = 600;

/** strerror(3)'s words for an error code ("Address already in use"). */
export function strerror(e: unknown): string {
  const errno = (e as NodeJS.ErrnoException)?.errno;
  const m = typeof errno === 'number' ? getSystemErrorMap().get(errno) : undefined;
  if (!m) return String((e as Error)?.message ?? e);
  return m[1].charAt(0).toUpperCase() + m[1].slice(1);
}

/** A line this inetd does not serve (a documented difference): said once, never retried. */
class NotServed extends Error {}

export interface TableOptions {
  log: InetdLog;
  /** The environment every program gets (laundered unless -E). */
  env: NodeJS.ProcessEnv;
  /** -q: listen(2) backlog. */
  backlog: number;
  uid: number;
  /** Seconds to wait before reopening a failed service (RETRYTIME; tests may shorten it). */
  retrySecs?: number;
}

interface Live {
  entry: Entry;
  key: string;
  server?: net.Server;
  udp?: dgram.Socket;
  usock?: UdpSocket;
  /** The Engine's client callback for an external stream nowait service. */
  onClient?: (a: Accepted) => void;
  /** Invocations in the current minute and when it started (seconds, monotonic). */
  count: number;
  since: number;
  /** A wait service's running program. */
  busy: number;
  closed: boolean;
  ring: DgramState;
  /** An external stream service's program: the launcher reads its creds, set per connection. */
  program?: Program;
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

  constructor(private readonly o: TableOptions) {}

  /** Every socket open now: entry, and the port bound. */
  sockets(): Array<{ entry: Entry; open: boolean }> {
    return [...this.live.values()].map((l) => ({ entry: l.entry, open: !!(l.server || l.udp || l.usock) }));
  }

  /** Takes a new configuration: adds, changes and removes services. */
  async apply(entries: Entry[]): Promise<void> {
    const seen = new Set<string>();
    for (const e of entries) {
      const key = keyOf(e);
      if (seen.has(key)) continue;
      seen.add(key);
      const old = this.live.get(key);
      if (old && this.compatible(old.entry, e)) {
        old.entry = e;
        if (old.server && !e.internal) this.attachEngine(old);
        this.o.log.trace(printService('REDO', e));
        continue;
      }
      if (old) this.close(old);
      const l: Live = { entry: e, key, count: 0, since: 0, busy: 0, closed: false, ring: new DgramState() };
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
        if (!l.server && !l.udp && !l.usock) void this.open(l);
      }
    }, (this.o.retrySecs ?? RETRYTIME) * 1000);
    this.retryTimer.unref?.();
  }

  // ---- stream ----------------------------------------------------------------

  private openStream(l: Live): Promise<void> {
    const e = l.entry;
    // stream wait (a program that accepts by itself) needs the listening socket
    // unwatched while it runs, which net.Server cannot do.
    if (e.wait) throw new NotServed('stream wait is not served (the program would accept by itself)');
    const server = net.createServer({ pauseOnConnect: true });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: e.ip, port: e.port, backlog: this.o.backlog, ipv6Only: e.v6 && e.proto !== 'tcp46', exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.o.log.syslog('warning', `accept (for ${e.service}): ${strerror(err)}`));
        server.on('connection', (s) => this.onConnection(l, s));
        l.server = server;
        if (!e.internal) this.attachEngine(l);
        resolve();
      });
    });
  }

  /** A new Engine for l's current line; the socket stays, live connections keep their own. */
  private attachEngine(l: Live): void {
    const e = l.entry;
    const program: Program = { server: e.server, argv: e.argv, creds: {} };
    const listener: Listener = {
      ip: e.ip,
      port: e.port,
      start: (_max, _noDelay, onClient) => { l.onClient = onClient; },
      done() {},
      sendNow(a: Accepted, data: string) {
        try { a.socket?.write(data); return null; } catch (err) { return err as NodeJS.ErrnoException; }
      },
      close(a: Accepted) { a.socket?.destroy(); },
    };
    // The line's program and creds for the launcher: set per connection (the user is looked up then).
    l.program = program;
    const engine = new Engine({
      max: 0x3fffffff,
      prog: e.argv,
      ucspiEnv: false,
      remoteHost: false,
      paranoid: false,
      noDelay: false,
      identify: null,
      launcher: lineLauncher(program),
      log: this.engineLog(e),
      env: this.o.env,
    });
    engine.serve(listener);
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
    const creds = credsFor(e.user, e.group, this.o.uid);
    if (typeof creds === 'string') {
      log.syslog('err', creds);
      s.destroy();
      return;
    }
    l.program!.creds = creds;
    const unmap = (ip: string) => (ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);
    const remoteIp = unmap(s.remoteAddress);
    l.onClient?.({
      fd, v6: remoteIp.includes(':'), remoteIp, remotePort: s.remotePort ?? 0,
      localIp: unmap(s.localAddress ?? ''), localPort: s.localPort ?? 0, socket: s,
    });
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
    this.o.log.syslog('err', `${e.service}/${e.proto} server failing (looping), service terminated for ${(this.o.retrySecs ?? RETRYTIME) / 60} min`);
    this.close(l);
    l.closed = false; // still in the table: reopened by the retry
    l.count = 0;
    this.scheduleRetry();
    return false;
  }

  private engineLog(e: Entry): EngineLog {
    const log = this.o.log;
    const nop = () => {};
    return {
      connections: log.debug,
      listening: nop,
      status: nop,
      from: nop,
      connection: (pid) => log.trace(`${pid} execv ${e.server}`),
      end: (st) => {
        log.trace('reaping asked for');
        log.trace(`${st.pid} reaped, status ${rawStatus(st)}`);
      },
      cannotRun: (_prog, err) => log.syslog('err', `execv ${e.server}: ${strerror(err)}`),
      drop: nop,
      cannotReadRules: nop,
      rate: nop,
      warn: (what, err) => log.syslog('warning', err === undefined ? what : `${what}: ${strerror(err)}`),
      sigterm: nop,
    };
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
        sock.on('message', (msg, from) => {
          this.o.log.trace(`someone wants ${l.entry.service}`);
          if (badSender(from.address)) return;
          const answer = answerDatagram(l.entry.internal!.name, msg, l.ring);
          if (answer) sock.send(answer, from.port, from.address);
        });
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
    sock.wait((err) => {
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
      const creds = credsFor(e.user, e.group, this.o.uid);
      if (typeof creds === 'string') {
        this.o.log.syslog('err', creds);
        sock.discard();
        this.waitDatagram(l);
        return;
      }
      const program: Program = { server: e.server, argv: e.argv, creds };
      spawnProgram(program, e.argv, sock.fd, this.o.env, (serr, pid) => {
        if (serr) {
          sock.discard();
          this.o.log.syslog('err', `execv ${e.server}: ${strerror(serr)}`);
          this.waitDatagram(l);
          return;
        }
        this.o.log.trace(`${pid} execv ${e.server}`);
        if (e.wait) l.busy = pid;
        else this.waitDatagram(l);
      }, (st) => {
        this.o.log.trace('reaping asked for');
        this.o.log.trace(`${st.pid} reaped, status ${rawStatus(st)}`);
        if (!e.wait || l.busy !== st.pid) return;
        if (st.code !== null && st.code !== 0) this.o.log.syslog('warning', `${e.server}: exit status ${st.code}`);
        else if (st.signal !== null) this.o.log.syslog('warning', `${e.server}: exit signal ${st.signal}`);
        l.busy = 0;
        this.o.log.trace(`restored ${e.service}, fd ${sock.fd}`);
        this.waitDatagram(l);
      });
    });
  }
}
