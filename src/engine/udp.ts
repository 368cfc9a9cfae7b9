// udpsvd's life cycle, one datagram at a time: wait until the socket is
// readable, peek at the sender → identify → decide → start prog with the
// socket as fd 0 (it reads the datagram, and any that follow, itself) and the
// server's stderr as fd 1 → wait for prog to exit → wait again. While prog
// runs the socket is not watched; datagrams queue in the kernel, and prog may
// read them. A denied datagram, or one no prog could be started for, is
// discarded (only that one), as ipsvd's udpsvd does.
import { type ChildProcess, spawn } from 'node:child_process';
import { ALLOW_DEFAULT, type Decision, type HostResolver, type RuleSource } from '../decide/decision';
import type { UdpSocket } from '../listen/udp';
import type { UdpLog } from '../log/udpsvd';
import { applyRules, envTemplate } from './environ';
import { fromBytes, toBytes } from '../lib/bytes';
import type { Identifier, Subject } from '../identify/identify';
import { keepIgnored } from '../lib/ignored';

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
  private readonly resolve: HostResolver;
  private readonly pseudoPid = process.pid;

  constructor(private readonly cfg: UdpConfig) {
    // ipsvd sets no variable of its own for prog: only the instructions change the environment.
    // Byte strings (one char per byte), as the instructions' values are.
    this.template = envTemplate(cfg.env, false, false).map(toBytes);
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
    // child_process encodes each string as UTF-8: the bytes go back to text
    // first, so an instruction's UTF-8 value reaches prog byte for byte (not
    // encoded twice); bytes that are not UTF-8 cannot pass this way (U+FFFD).
    const env: Record<string, string> = {};
    for (const kv of applyRules(this.template, d)) {
      const i = kv.indexOf('=');
      env[fromBytes(kv.slice(0, i))] = fromBytes(kv.slice(i + 1));
    }
    const failed = (e: NodeJS.ErrnoException) => {
      cfg.log.datagram(this.pseudoPid, g, verdict, d);
      this.sock!.discard();
      // ipsvd names the server's prog here, even for an executable instruction file.
      cfg.log.discard('unable to run', cfg.prog[0], e);
      this.ended(this.pseudoPid);
    };
    let child: ChildProcess;
    try {
      // fd 0: the socket (blocking); fd 1: our standard error, as ipsvd sets it; fd 2: ours.
      const [file, args] = keepIgnored(argv[0], argv.slice(1)); // (lib/ignored.ts)
      child = spawn(file, args, { stdio: [this.sock!.fd, 2, 2], env });
    } catch (e) {
      failed(e as NodeJS.ErrnoException);
      return;
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (e) => failed(e as NodeJS.ErrnoException));
      return;
    }
    cfg.log.datagram(pid, g, verdict, d);
    child.on('error', () => {}); // (only kill(2) could fail now; nobody signals it)
    child.once('exit', () => this.ended(pid));
  }

  private ended(pid: number): void {
    this.cfg.log.end(pid);
    this.next();
  }
}
