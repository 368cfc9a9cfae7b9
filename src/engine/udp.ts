// udpsvd's life cycle, one datagram at a time: wait until the socket is
// readable, peek at the sender → identify → decide → start prog through the
// server's launcher with the socket as fd 0 (it reads the datagram, and any
// that follow, itself) and the server's stderr as fds 1 and 2 → wait for
// prog to exit → wait again. While prog
// runs the socket is not watched; datagrams queue in the kernel, and prog may
// read them. A denied datagram, or one no prog could be started for, is
// discarded (only that one), as ipsvd's udpsvd does.
import { ALLOW_DEFAULT, type Decision, type HostResolver, type RuleSource } from '../decide/decision';
import type { UdpSocket } from '../listen/udp';
import type { UdpLog } from '../log/udpsvd';
import { applyRules, envTemplate } from './environ';
import { toBytes } from '../lib/bytes';
import { type EnvBase, type Launcher, UDP_STDIO } from '../launch/launch';
import type { Identifier, Subject } from '../identify/identify';

export interface UdpConfig {
  prog: string[];
  /** -l, or the local address's name looked up at start ('' when it has none). */
  localName: string;
  /** -h / -p: look up the sender's name for each datagram that starts prog. */
  remoteHost: boolean;
  paranoid: boolean;
  rules?: { source: RuleSource | null; path: string; openError?: NodeJS.ErrnoException };
  /** For -h/-p and the =host instructions; null when neither is asked for. */
  identify: Identifier | null;
  log: UdpLog;
  /** What starts prog: the addon's or child_process (src/engine/backend.ts chose it). */
  launcher: Launcher;
  /** prog's environment before the instructions: the server's own, untouched. */
  env: NodeJS.ProcessEnv;
}

/** After a failed peek, before waiting again: a persistent error must not spin. */
const ERROR_PAUSE_MS = 100;

/** One datagram's sender and receiver, as identify sees a client (IPv4 only). */
interface Datagram extends Subject {
  v6: false;
}

export class UdpEngine {
  private sock: UdpSocket | undefined;
  private readonly template: string[];
  /** The template as the launcher keeps it, for a datagram no instruction changes the environment of. */
  private readonly base: EnvBase;
  private readonly resolve: HostResolver;
  private readonly pseudoPid = process.pid;

  constructor(private readonly cfg: UdpConfig) {
    // ipsvd sets no variable of its own for prog: only the instructions change the environment.
    // Byte strings (one char per byte), as the instructions' values are.
    this.template = envTemplate(cfg.env, false, false).map(toBytes);
    this.base = cfg.launcher.envBase(this.template);
    const id = cfg.identify;
    this.resolve = id ? (name) => id.addrs(name) : () => Promise.resolve([]);
  }

  serve(sock: UdpSocket): void {
    this.sock = sock;
    this.next();
  }

  private next(): void {
    this.sock!.wait((err, ip, port) => {
      if (err) {
        this.cfg.log.drop('unable to read from socket', err);
        this.cfg.log.end(this.pseudoPid);
        setTimeout(() => this.next(), ERROR_PAUSE_MS);
        return;
      }
      const sock = this.sock!;
      const g: Datagram = {
        v6: false, remoteIp: ip, remotePort: port, localIp: sock.ip, localPort: sock.port,
        localHost: this.cfg.localName, remoteHost: undefined, remoteInfo: undefined,
      };
      this.identify(g);
    });
  }

  private identify(g: Datagram): void {
    const cfg = this.cfg;
    if (!cfg.remoteHost || !cfg.identify) return this.decide(g);
    // The local name is known already: only the sender's is asked for.
    cfg.identify.identify(g, { remoteHost: true, paranoid: cfg.paranoid, localName: cfg.localName })
      .then(() => this.decide(g), () => this.decide(g));
  }

  private decide(g: Datagram): void {
    const r = this.cfg.rules;
    if (!r) return this.launch(g, ALLOW_DEFAULT);
    if (!r.source) return this.unreadable(g, r.openError ?? 'not open');
    let d: Decision | Promise<Decision>;
    try {
      d = r.source.decide({ ip: g.remoteIp, host: g.remoteHost }, this.resolve);
    } catch (e) {
      return this.unreadable(g, e as NodeJS.ErrnoException);
    }
    if (d instanceof Promise) d.then((x) => this.launch(g, x), (e) => this.unreadable(g, e));
    else this.launch(g, d);
  }

  /** The instructions could not be read: this datagram is discarded (fail closed). */
  private unreadable(g: Datagram, e: NodeJS.ErrnoException | string): void {
    const cfg = this.cfg;
    cfg.log.from(this.pseudoPid, g.remoteIp);
    this.sock!.discard();
    // As ipsvd: the store itself unreadable names it; one entry unreadable (a damaged cdb) names the client.
    const ip = typeof e === 'string' ? undefined : (e as { checkInst?: string }).checkInst;
    if (ip !== undefined) cfg.log.discard('unable to check inst', ip, e);
    else cfg.log.discard('unable to read', cfg.rules!.path, e);
    this.ended(this.pseudoPid);
  }

  private launch(g: Datagram, d: Decision): void {
    const cfg = this.cfg;
    if (d.action === 'deny') {
      cfg.log.datagram(this.pseudoPid, g, 'deny', d);
      this.sock!.discard();
      this.ended(this.pseudoPid);
      return;
    }
    const verdict = d.shell !== undefined ? 'exec' : 'start';
    const argv = d.shell !== undefined ? ['/bin/sh', '-c', d.shell] : cfg.prog;
    const failed = (e: NodeJS.ErrnoException) => {
      cfg.log.datagram(this.pseudoPid, g, verdict, d);
      this.sock!.discard();
      // ipsvd names the server's prog here, even for an executable instruction file.
      cfg.log.discard('unable to run', cfg.prog[0], e);
      this.ended(this.pseudoPid);
    };
    // Byte strings, as the instructions' values are: they reach prog byte for byte.
    const own = d.set.length !== 0 || d.unset.length !== 0;
    cfg.launcher.launch({
      argv, env: own ? applyRules(this.template, d) : [], base: own ? undefined : this.base,
      fd: this.sock!.fd, owned: false, stdio: UDP_STDIO,
    },
      (err, pid) => {
        if (err) return failed(err);
        cfg.log.datagram(pid, g, verdict, d);
      }, (st) => this.ended(st.pid));
  }

  private ended(pid: number): void {
    this.cfg.log.end(pid);
    this.next();
  }
}
