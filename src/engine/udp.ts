// udpsvd's life cycle, one datagram at a time: wait until the socket is
// readable, peek at the sender → identify → decide (the cycle tcpsvd's engine
// shares, cycle.ts) → start prog through the
// server's launcher with the socket as fd 0 (it reads the datagram, and any
// that follow, itself) and the server's stderr as fds 1 and 2 → wait for
// prog to exit → wait again. While prog
// runs the socket is not watched; datagrams queue in the kernel, and prog may
// read them. A denied datagram, or one no prog could be started for, is
// discarded (only that one), as ipsvd's udpsvd does.
import type { Decision, RuleSource } from '../decide/decision';
import type { UdpSocket } from '../listen/udp';
import type { UdpLog } from '../log/udpsvd';
import { applyRules, envTemplate } from './environ';
import { toBytes } from '../lib/bytes';
import { type EnvBase, type Launcher, UDP_STDIO } from '../launch/launch';
import type { Identifier, Subject } from '../identify/identify';
import { Cycle, argvOf, verdictOf } from './cycle';

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
  private readonly pseudoPid = process.pid;
  /** Identify → decide → failure policy, as tcpsvd's engine has it. */
  private readonly cycle: Cycle<Datagram>;

  constructor(private readonly cfg: UdpConfig) {
    // ipsvd sets no variable of its own for prog: only the instructions change the environment.
    // Byte strings (one char per byte), as the instructions' values are.
    this.template = envTemplate(cfg.env, false, false).map(toBytes);
    this.base = cfg.launcher.envBase(this.template);
    const id = cfg.identify;
    this.cycle = new Cycle<Datagram>({
      // The local name is known already: only the sender's is asked for, with -h/-p.
      identify: cfg.remoteHost ? id : null,
      lookups: { remoteHost: true, paranoid: cfg.paranoid, localName: cfg.localName },
      rules: cfg.rules,
      resolve: id ? (name) => id.addrs(name) : () => Promise.resolve([]),
    }, {
      decided: (g, d) => this.launch(g, d),
      // (Only a local name's look-up fails so, and it is never asked for here.)
      lookupFailed: (g, f) => this.discarded(g, f.what, g.remoteIp, f.err),
      unreadable: (g, e) => this.unreadable(g, e),
    });
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
      this.cycle.run(g);
    });
  }

  /** The instructions could not be read: this datagram is discarded (fail closed). */
  private unreadable(g: Datagram, e: NodeJS.ErrnoException | string): void {
    // As ipsvd: the store itself unreadable names it; one entry unreadable (a damaged cdb) names the client.
    const ip = typeof e === 'string' ? undefined : (e as { checkInst?: string }).checkInst;
    if (ip !== undefined) this.discarded(g, 'unable to check inst', ip, e);
    else this.discarded(g, 'unable to read', this.cfg.rules!.path, e);
  }

  /** Dropped before a verdict: "pid P from ip", then "drop: discard data: what: arg: err". */
  private discarded(g: Datagram, what: string, arg: string, e: NodeJS.ErrnoException | string): void {
    this.cfg.log.from(this.pseudoPid, g.remoteIp);
    this.sock!.discard();
    this.cfg.log.discard(what, arg, e);
    this.ended(this.pseudoPid);
  }

  private launch(g: Datagram, d: Decision): void {
    const cfg = this.cfg;
    const verdict = verdictOf(d);
    if (verdict === 'deny') {
      cfg.log.datagram(this.pseudoPid, g, 'deny', d);
      this.sock!.discard();
      this.ended(this.pseudoPid);
      return;
    }
    const argv = argvOf(d, cfg.prog);
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
