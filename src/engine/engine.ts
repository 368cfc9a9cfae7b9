// The connection life cycle, one path for tcpsvd and tcpserver:
// accept → identify → decide → launch → account → log.
// Per connection the engine allocates one Conn and builds one env array; the
// environment template, limits and log wording are fixed at start.
import { writeSync } from 'node:fs';
import type * as net from 'node:net';
import type { Decision, HostResolver, RuleSource } from '../decide/decision';
import { ALLOW_DEFAULT } from '../decide/decision';
import type { ExitStatus, Launcher } from '../launch/launch';
import type { EngineLog, Verdict } from '../log/log';
import { HostCounts } from '../account/hosts';
import { applyRules, envTemplate, pushConnEnv } from './environ';
import type { Identifier } from './identify';

export interface EngineConfig {
  /** -c: children at once; further clients wait, never refused. */
  max: number;
  /** tcpsvd -C n[:msg] (msg already unescaped); rules' C overrides n and msg. */
  perHost?: { limit: number; msg?: string };
  prog: string[];
  /** false for tcpsvd -E: the connection's variables are not set up. */
  ucspiEnv: boolean;
  /** -l: TCPLOCALHOST without asking DNS. */
  localName?: string;
  /** Look up TCPREMOTEHOST (tcpserver -h, tcpsvd -h/-p); also TCPLOCALHOST without -l. */
  remoteHost: boolean;
  /** -p: keep the PTR name only if it resolves back to the client. */
  paranoid: boolean;
  /** tcpserver -r: RFC 1413 lookup, timeout in ms. */
  identTimeoutMs?: number;
  /** tcpserver -B: written before any lookup. */
  banner?: Buffer;
  /** tcpserver -D. */
  noDelay: boolean;
  rules?: { source: RuleSource | null; path: string; openError?: NodeJS.ErrnoException; allowMissing: boolean };
  identify: Identifier | null;
  launcher: Launcher;
  log: EngineLog;
  env: NodeJS.ProcessEnv;
}

/** One accepted client, from accept to the end of its child. */
class Conn {
  pid = 0;
  localHost: string | undefined;
  remoteHost: string | undefined;
  remoteInfo: string | undefined;
  phcc = 0;
  constructor(
    readonly socket: net.Socket,
    readonly fd: number,
    readonly v6: boolean,
    readonly remoteIp: string,
    readonly remotePort: number,
    readonly localIp: string,
    readonly localPort: number,
  ) {}
}

/** "::ffff:1.2.3.4" → "1.2.3.4": mapped clients are IPv4 clients. */
export function unmap(ip: string): string {
  return ip.startsWith('::ffff:') && ip.indexOf('.') > 0 ? ip.slice(7) : ip;
}

export class Engine {
  active = 0;
  private readonly waiting: net.Socket[] = [];
  private readonly hosts = new HostCounts();
  private readonly template: string[];
  private readonly resolve: HostResolver;
  private readonly pseudoPid = process.pid;
  private readonly onConnection = (s: net.Socket) => this.incoming(s);

  constructor(private readonly cfg: EngineConfig) {
    this.template = envTemplate(cfg.env, cfg.ucspiEnv, cfg.perHost !== undefined);
    const id = cfg.identify;
    this.resolve = id ? (name) => id.addrs(name) : () => Promise.resolve([]);
  }

  serve(server: net.Server): void {
    server.on('connection', this.onConnection);
    // accept(2) failures (EMFILE...) must not stop the server: the client stays in the backlog.
    server.on('error', (e) => this.cfg.log.warn('unable to accept connection', e as NodeJS.ErrnoException));
  }

  private incoming(s: net.Socket): void {
    // Over the limit: the client waits, connected and unread, until a child ends.
    if (this.active >= this.cfg.max) this.waiting.push(s);
    else this.accept(s);
  }

  private accept(s: net.Socket): void {
    const cfg = this.cfg;
    const fd: number | undefined = (s as any)._handle?.fd;
    const rip = s.remoteAddress, lip = s.localAddress;
    if (fd === undefined || fd < 0 || rip === undefined || lip === undefined) {
      s.destroy(); // the client reset before we got to it
      return;
    }
    this.active++;
    cfg.log.status(this.active, cfg.max);
    const remoteIp = unmap(rip);
    const c = new Conn(s, fd, remoteIp.includes(':'), remoteIp, s.remotePort ?? 0, unmap(lip), s.localPort ?? 0);
    c.localHost = cfg.localName;
    if (cfg.perHost) c.phcc = this.hosts.add(remoteIp);
    s.on('error', noop); // a reset before the launch is that client's business
    if (cfg.noDelay) s.setNoDelay(true);
    if (cfg.banner) {
      try {
        writeSync(fd, cfg.banner);
      } catch {
        // ucspi-tcp drops the connection when the banner cannot be written.
        this.finish(c, 111);
        return;
      }
    }
    const id = cfg.identify;
    if (id && (cfg.remoteHost || cfg.identTimeoutMs !== undefined)) {
      id.identify(c, cfg).then(() => this.decide(c), () => this.decide(c));
    } else {
      this.decide(c);
    }
  }

  private decide(c: Conn): void {
    const r = this.cfg.rules;
    if (!r) return this.launch(c, ALLOW_DEFAULT);
    if (!r.source) return this.rulesFailed(c, r.openError ?? 'not open');
    let d: Decision | Promise<Decision>;
    try {
      d = r.source.decide({ ip: c.remoteIp, host: c.remoteHost, info: c.remoteInfo }, this.resolve);
    } catch (e) {
      return this.rulesFailed(c, e as NodeJS.ErrnoException);
    }
    if (d instanceof Promise) d.then((x) => this.launch(c, x), (e) => this.rulesFailed(c, e));
    else this.launch(c, d);
  }

  private rulesFailed(c: Conn, e: NodeJS.ErrnoException | string): void {
    const r = this.cfg.rules!;
    // tcpserver -X: a missing rules file allows; any other failure drops (fail closed).
    if (r.allowMissing && typeof e !== 'string' && e.code === 'ENOENT') return this.launch(c, ALLOW_DEFAULT);
    this.cfg.log.from(this.pseudoPid, c.remoteIp);
    this.cfg.log.cannotReadRules(r.path, e);
    this.finish(c, 111);
  }

  private launch(c: Conn, d: Decision): void {
    const cfg = this.cfg;
    let verdict: Verdict = d.action === 'deny' ? 'deny' : d.shell !== undefined ? 'exec' : 'start';
    let conc: [number, number] | null = null;
    if (cfg.perHost) {
      let limit = cfg.perHost.limit, msg = cfg.perHost.msg;
      if (d.perHost) {
        limit = d.perHost.limit;
        if (d.perHost.msg !== undefined) msg = d.perHost.msg;
      }
      if (limit > 0) {
        conc = [c.phcc, limit];
        if (c.phcc > limit) {
          verdict = 'deny';
          if (msg && msg.length) {
            try {
              writeSync(c.fd, msg);
            } catch {
              cfg.log.warn('unable to write concurrency message', 'would block');
            }
          }
        }
      }
    }
    if (verdict === 'deny') {
      cfg.log.connection(this.pseudoPid, c, verdict, conc, d);
      this.finish(c, 100);
      return;
    }
    let env = this.template.slice();
    if (cfg.ucspiEnv) pushConnEnv(env, c);
    if (cfg.perHost) env.push('TCPCONCURRENCY=' + c.phcc);
    env = applyRules(env, d);
    const argv = d.shell !== undefined ? ['/bin/sh', '-c', d.shell] : cfg.prog;
    cfg.launcher.launch({ argv, env, fd: c.fd }, (err, pid) => {
      if (err) {
        cfg.log.connection(this.pseudoPid, c, verdict, conc, d);
        cfg.log.cannotRun(argv[0], err);
        this.finish(c, 111);
        return;
      }
      c.pid = pid;
      // Close our copy without shutdown: the client sees EOF when prog closes it.
      c.socket.destroy();
      cfg.log.connection(pid, c, verdict, conc, d);
    }, (st) => this.ended(c, st));
  }

  /** A connection that got no child: logged as if a child had exited with code. */
  private finish(c: Conn, code: number): void {
    c.socket.destroy();
    this.ended(c, { pid: this.pseudoPid, code, signal: null });
  }

  private ended(c: Conn, st: ExitStatus): void {
    const cfg = this.cfg;
    if (cfg.perHost) this.hosts.remove(c.remoteIp);
    this.active--;
    cfg.log.end(st);
    cfg.log.status(this.active, cfg.max);
    while (this.active < cfg.max && this.waiting.length) {
      const s = this.waiting.shift()!;
      if (!s.destroyed) this.accept(s);
    }
  }
}

function noop(): void {}
