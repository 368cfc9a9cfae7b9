// The connection life cycle, one path for tcpsvd and tcpserver:
// accept → identify → decide → launch → account → log. Identify, decide and
// their failure policy are the cycle udpsvd's engine shares (cycle.ts).
// Per connection the engine allocates one Conn and builds one env array; the
// environment template, limits and log wording are fixed at start.
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Decision, RuleSource } from '../decide/decision';
import type { EnvBase, ExitStatus, Launcher } from '../launch/launch';
import { toBytes } from '../lib/bytes';
import type { Concurrency, EngineLog, Verdict } from '../log/log';
import { PerHost, type PerHostConfig } from '../admission/perhost';
import { type Keyer, byAddress } from '../admission/prefix';
import { type RateConfig, RateLimiter } from '../admission/rate';
import type { Stats } from '../admission/status';
import { applyRules, envTemplate, pushConnEnv } from './environ';
import { Cycle, argvOf, verdictOf } from './cycle';
import { decimal } from '../decimal';
import { type Identifier, needsIdentify } from '../identify/identify';
import type { Accepted, Listener } from '../listen/listen';
import type { ProxyStage } from '../listen/proxywait';
import type { ProxyHeader } from '../listen/proxy';
import type { TlsReady, TlsStage } from '../tls/stage';

export interface EngineConfig {
  /** -c: clients at once; further ones wait in the backlog, never refused. */
  max: number;
  /**
   * tcpsvd -C n[:msg] (msg already unescaped); rules' C overrides n and msg.
   * tcpserver --per-host: the rules' MAXCONNIP/MAXCONNC/DIEMSG (rulesVars).
   * keyer (--prefix): counted per network rather than per address.
   */
  perHost?: PerHostConfig;
  /** --prefix without a per-host limit: the key --rate counts under. */
  keyer?: Keyer;
  /** --rate: per-source token buckets. */
  rate?: RateConfig;
  /** --status, --metrics: the counters, kept only when asked for. */
  stats?: Stats;
  prog: string[];
  /** false for tcpsvd -E: the connection's variables are not set up. */
  ucspiEnv: boolean;
  /** tcpsvd: TCPLOCALPORT is the port argument as given, as ipsvd sets it ("0", "smtp"). */
  localPortText?: string;
  /** -l: TCPLOCALHOST without asking DNS. */
  localName?: string;
  /** tcpsvd: -l '' means no TCPLOCALHOST at all. */
  emptyLocalNameUnset?: boolean;
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
  /** --proxy: the PROXY header stage, before everything else (src/listen/proxywait.ts). */
  proxy?: { stage: ProxyStage; vars: readonly string[] };
  /** unixserver: the connection's variables are these instead of tcp-environ(5)'s (src/unix/environ.ts). */
  connEnv?: ConnEnvKind;
  /** sslserver: the TLS stage, after the rules allow and before launch (src/tls/stage.ts). */
  tls?: TlsStage;
}

/** A listener kind's own connection variables (unixserver's). */
export interface ConnEnvKind {
  /** The names the connection sets: the server's own values of these never reach prog. */
  readonly names: readonly string[];
  /** Appends the connection's variables; the index of the one that gets prog's own pid (LaunchSpec.pidVar), or -1. */
  push(out: string[], a: Accepted): number;
  /** prog starts with HUP, PIPE and ALRM ignored (ucspi-unix's programs do). */
  readonly ignoreHupPipeAlrm?: boolean;
}

/**
 * One accepted client, from accept to the end of its child: the listener's
 * Accepted value (its fields copied in, so every access stays one load) and
 * what the engine learns about it.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
interface Conn extends Accepted {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
class Conn {
  pid = 0;
  localHost: string | undefined;
  remoteHost: string | undefined;
  remoteInfo: string | undefined;
  /** Per-host key (address or prefix) and count at admission, this connection included (0 without -C). */
  phKey = '';
  phcc = 0;
  /** tcpserver --per-host: the MAXCONNC block and its count. */
  blKey: string | undefined;
  blcc = 0;
  /** Accept time, for a timed log (--log-json). */
  t0: number | undefined;
  /** --proxy: the addresses are the header's (TCPLOCALPORT is then its port, never the argument's text). */
  proxied = false;
  /** --proxy: the variables the header's TLVs give prog. */
  proxyEnv: string[] | undefined;
  /** sslserver: the handshake is done; fd (and socket) are the program's end of the relay from then on. */
  tls: TlsReady | undefined;
  constructor(a: Accepted, localHost: string | undefined) {
    Object.assign(this, a);
    this.localHost = localHost;
  }
}

export class Engine {
  active = 0;
  private listener: Listener | undefined;
  readonly perHost: PerHost | undefined;
  readonly rate: RateLimiter | undefined;
  private readonly rateKey: Keyer;
  private readonly stats: Stats | undefined;
  /** TCPCONCURRENCY is ipsvd's: tcpsvd -C sets it, tcpserver --per-host does not. */
  private readonly concEnv: boolean;
  private readonly template: string[];
  private readonly templateNames: Set<string>;
  private readonly base: EnvBase;
  private readonly pseudoPid = process.pid;
  // Fixed at start: what every connection begins with.
  private readonly localHost: string | undefined;
  /** Identify → decide → failure policy, as udpsvd's engine has it. */
  private readonly cycle: Cycle<Conn>;

  constructor(private readonly cfg: EngineConfig) {
    // Byte strings, as the launchers take them (rule values already are).
    this.concEnv = cfg.perHost !== undefined && !cfg.perHost.rulesVars;
    const own = cfg.connEnv && new Set(cfg.connEnv.names);
    this.template = (own ? envTemplate(cfg.env, false, false).filter((kv) => !own.has(kv.slice(0, kv.indexOf('='))))
      : envTemplate(cfg.env, cfg.ucspiEnv, this.concEnv)).map(toBytes);
    // (The server's own PROXY_* values never reach prog: the header's do.)
    if (cfg.proxy && cfg.ucspiEnv) this.template = applyRules(this.template, { action: 'allow', set: [], unset: [...cfg.proxy.vars] });
    this.templateNames = new Set(this.template.map((kv) => kv.slice(0, kv.indexOf('='))));
    this.base = cfg.launcher.envBase(this.template);
    const id = cfg.identify;
    this.cycle = new Cycle<Conn>({
      identify: id && needsIdentify(cfg) ? id : null,
      lookups: cfg,
      rules: cfg.rules,
      resolve: id ? (name) => id.addrs(name) : () => Promise.resolve([]),
    }, {
      decided: (c, d) => this.launch(c, d),
      lookupFailed: (c, f) => this.dropWith(c, f.what, f.err),
      unreadable: (c, e) => this.rulesFailed(c, e),
    });
    // ipsvd's -l '' leaves TCPLOCALHOST unset; tcpserver sets it empty.
    this.localHost = cfg.localName === '' && cfg.emptyLocalNameUnset ? undefined : cfg.localName;
    // One keyer (--prefix) for the per-host counts and the rate; per address
    // as well for --status when it counts per network.
    this.perHost = cfg.perHost && new PerHost({ ...cfg.perHost, keyer: cfg.keyer, addressesToo: cfg.stats !== undefined });
    this.rate = cfg.rate && new RateLimiter(cfg.rate);
    this.rateKey = cfg.keyer ?? byAddress;
    this.stats = cfg.stats;
  }

  serve(listener: Listener): void {
    this.listener = listener;
    // At -c the listener stops taking clients: they wait in the backlog, never refused.
    listener.start(this.cfg.max, this.cfg.noDelay,
      (a) => this.accept(new Conn(a, this.localHost)),
      (e) => this.cfg.log.warn('unable to accept connection', e));
  }

  private accept(c: Conn): void {
    const cfg = this.cfg;
    this.active++;
    cfg.log.status(this.active, cfg.max);
    const st = this.stats;
    if (st) {
      st.accepted++;
      if (this.active >= cfg.max) st.deferred++; // the listener stops: the next clients wait
      st.changed();
    }
    if (cfg.log.timed) c.t0 = performance.now();
    if (cfg.proxy) return this.proxyStage(c, cfg.proxy.stage);
    this.admit(c);
  }

  // ---- PROXY header stage (--proxy): the header's addresses replace the
  // socket's before anything uses them (per-host and rate keys included);
  // a failure drops the connection.
  private proxyStage(c: Conn, stage: ProxyStage): void {
    stage(c, (fail, h) => {
      if (fail) return this.dropWith(c, fail.what, fail.err);
      if (h) useHeader(c, h);
      this.admit(c);
    });
  }
  // ---- end of the PROXY header stage

  private admit(c: Conn): void {
    const cfg = this.cfg;
    if (this.perHost) this.perHost.admit(c);
    const rate = this.rate;
    if (rate) {
      const key = this.perHost ? c.phKey : this.rateKey(c.remoteIp);
      if (!rate.take(key, performance.now())) {
        // Refused before any lookup or rule: that client only, never the service.
        if (rate.msg !== undefined) {
          const err = this.listener!.sendNow(c, rate.msg);
          if (err) cfg.log.warn('unable to write rate message', err);
        }
        if (this.stats) this.stats.refusedRate++;
        cfg.log.rate(this.pseudoPid, c, { key, count: rate.count, seconds: rate.perMs / 1000 });
        this.finish(c, 100);
        return;
      }
    }
    if (cfg.banner) {
      try {
        // (A UNIX-domain client of net.Server has no descriptor: its socket takes the banner.)
        if (c.fd < 0 && c.socket) c.socket.write(cfg.banner);
        else writeSync(c.fd, cfg.banner);
      } catch {
        // ucspi-tcp drops the connection when the banner cannot be written.
        return this.dropped(c);
      }
    }
    this.cycle.run(c);
  }

  /** The rules could not be read (tcpserver -X's missing file aside: the cycle allows it). */
  private rulesFailed(c: Conn, e: NodeJS.ErrnoException | string): void {
    this.cfg.log.from(this.pseudoPid, c.remoteIp);
    this.cfg.log.cannotReadRules(this.cfg.rules!.path, e);
    this.dropped(c);
  }

  private launch(c: Conn, d: Decision): void {
    const cfg = this.cfg;
    let verdict: Verdict = verdictOf(d);
    let conc: Concurrency | null = null;
    let limited = false;
    const ph = this.perHost;
    if (ph) {
      const v = ph.check(c, d);
      if (v !== null && 'bad' in v) {
        // tcpserver --per-host: a rules variable that is no number drops the connection.
        return this.dropWith(c, `bad ${v.bad} in ${cfg.rules?.path ?? 'environment'}` +
          (d.matched !== undefined ? ` rule ${d.matched}` : ''), `not a number: ${v.value}`);
      }
      if (v !== null) {
        conc = v.key === c.remoteIp ? [v.n, v.limit] : [v.n, v.limit, v.key];
        if (v.over) {
          limited = verdict !== 'deny'; // (denied by the rules, it counts as denied)
          verdict = 'deny';
          if (v.msg !== undefined) {
            const err = this.listener!.sendNow(c, v.msg);
            if (err) cfg.log.warn('unable to write concurrency message', err);
          }
        }
      }
    }
    if (verdict === 'deny') {
      if (this.stats) {
        if (limited) this.stats.refusedLimit++;
        else this.stats.denied++;
      }
      cfg.log.connection(this.pseudoPid, c, verdict, conc, d);
      this.finish(c, 100);
      return;
    }
    if (cfg.tls && c.tls === undefined) return this.tlsStage(c, d, cfg.tls);
    // The server's variables go once into the launcher (base); per connection
    // only its own variables, unless a rule sets or unsets a server variable.
    let env: string[] = [];
    let pidVar: number | undefined;
    if (cfg.connEnv) {
      const at = cfg.connEnv.push(env, c);
      if (at >= 0) pidVar = at;
    } else if (cfg.ucspiEnv) {
      pushConnEnv(env, c, c.proxied ? undefined : cfg.localPortText);
      if (c.proxyEnv) env.push(...c.proxyEnv);
    }
    if (c.tls) env.push(...c.tls.env);
    if (this.concEnv && cfg.ucspiEnv) env.push('TCPCONCURRENCY=' + decimal(c.phcc));
    let base: EnvBase | undefined = this.base;
    if (d.set.length !== 0 || d.unset.length !== 0) {
      if (this.touchesTemplate(d)) {
        env = applyRules(this.template.concat(env), d);
        base = undefined;
      } else {
        env = applyRules(env, d);
      }
    }
    const argv = argvOf(d, cfg.prog);
    // A raw fd is the launcher's to close once the child has it (or failed to start).
    const owned = c.socket === undefined;
    cfg.launcher.launch({ argv, env, base, fd: c.fd, owned, lazyStart: !cfg.log.connections, pidVar,
      ignoreHupPipeAlrm: cfg.connEnv?.ignoreHupPipeAlrm, socket: c.fd < 0 ? c.socket : undefined }, (err, pid) => {
      if (err) {
        cfg.log.connection(this.pseudoPid, c, verdict, conc, d);
        cfg.log.cannotRun(argv[0], err);
        if (this.stats) this.stats.dropped++;
        if (!owned) this.listener!.close(c);
        this.end(c, { pid: this.pseudoPid, code: 111, signal: null });
        return;
      }
      c.pid = pid;
      // Close our copy without shutdown: the client sees EOF when prog closes it.
      if (!owned) this.listener!.close(c);
      cfg.log.connection(pid, c, verdict, conc, d);
    }, (st) => (c.tls ? c.tls.whenEnded(() => this.end(c, st)) : this.end(c, st)));
  }

  // ---- TLS stage (sslserver): it owns the client's socket from here on; on
  // success the program's end of the relay stands in for it.
  private tlsStage(c: Conn, d: Decision, stage: TlsStage): void {
    stage(c, (fail, r) => {
      if (fail || !r) {
        this.cfg.log.from(this.pseudoPid, c.remoteIp);
        this.cfg.log.drop(fail ? fail.what : 'TLS', fail ? fail.err : 'failed');
        if (this.stats) this.stats.dropped++;
        return this.end(c, { pid: this.pseudoPid, code: 111, signal: null });
      }
      const d2 = r.decide ? r.decide(d) : d;
      if (d2.action === 'deny') {
        // Denied by the client's certificate (its socket already closed by the stage).
        if (this.stats) this.stats.denied++;
        this.cfg.log.connection(this.pseudoPid, c, 'deny', null, d2);
        return this.end(c, { pid: this.pseudoPid, code: 100, signal: null });
      }
      c.tls = r;
      const w = c as { -readonly [K in keyof Conn]: Conn[K] };
      w.fd = r.fd;
      w.socket = r.socket;
      this.launch(c, d2);
    });
  }
  // ---- end of the TLS stage

  /** Whether a rule sets or unsets a variable of the server's own environment. */
  private touchesTemplate(d: Decision): boolean {
    for (const [k] of d.set) if (this.templateNames.has(k)) return true;
    for (const k of d.unset) if (this.templateNames.has(k)) return true;
    return false;
  }

  /** Dropped before any verdict, saying why (the "from" and "drop" lines). */
  private dropWith(c: Conn, what: string, err: NodeJS.ErrnoException | string): void {
    this.cfg.log.from(this.pseudoPid, c.remoteIp);
    this.cfg.log.drop(what, err);
    this.dropped(c);
  }

  /** Dropped (counted as such): ends as a child that exited 111 would. */
  private dropped(c: Conn): void {
    if (this.stats) this.stats.dropped++;
    this.finish(c, 111);
  }

  /** A connection that got no child: logged as if a child had exited with code. */
  private finish(c: Conn, code: number): void {
    this.listener!.close(c);
    this.end(c, { pid: this.pseudoPid, code, signal: null });
  }

  private end(c: Conn, st: ExitStatus): void {
    const cfg = this.cfg;
    // A client dropped in the PROXY stage was never admitted (phKey still '').
    if (this.perHost && c.phKey !== '') this.perHost.release(c);
    this.active--;
    const stats = this.stats;
    if (stats) {
      if (st.pid !== this.pseudoPid) stats.exit(st);
      stats.changed();
    }
    cfg.log.end(st, c);
    cfg.log.status(this.active, cfg.max);
    this.listener!.done();
  }
}

/** A PROXY header's addresses (and TLV variables) in place of the socket's. */
function useHeader(c: Conn, h: ProxyHeader): void {
  if (h.env.length !== 0) c.proxyEnv = h.env;
  if (!h.proxied) return;
  const w = c as { -readonly [K in keyof Conn]: Conn[K] };
  w.v6 = h.v6;
  w.remoteIp = h.remoteIp;
  w.remotePort = h.remotePort;
  w.localIp = h.localIp;
  w.localPort = h.localPort;
  c.proxied = true;
}
