// Run our inetd or Debian's /usr/sbin/inetd (openbsd-inetd) on a test
// inetd.conf, in the foreground (-d), in a process group of its own (killed
// at teardown, or by common.ts's watchdog if the test process dies).
// Debian's writes /run/inetd.pid whatever it is told, and tcpd reads
// /etc/hosts.allow and /etc/hosts.deny: each server runs in a mount
// namespace of its own (unshare -m) where a temporary directory is mounted
// on /run and the test's files on the hosts files, so that neither the
// system's inetd nor its access tables are touched. In there, too,
// /etc/nsswitch.conf says "hosts: files": tcpd's look-ups of the client's name
// never reach the system's DNS resolver.
import type { ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { killGroup, needPackage, ours, sleep, spawn, which } from './common';
import { listeners } from './net';
import { holdsUdpPort } from './udp';

export const DEBIAN_INETD = '/usr/sbin/inetd';
export const TCPD = '/usr/sbin/tcpd';

/** Skip reason when Debian's inetd is absent, or false. */
export function needOpenbsdInetd(): { skip: string | false } {
  return { skip: needPackage('openbsd-inetd', fs.existsSync(DEBIAN_INETD), DEBIAN_INETD) };
}

let unshareOk: boolean | undefined;
/** Whether this process may make a mount namespace (root, and a kernel that lets it). */
export function canUnshare(): boolean {
  if (unshareOk !== undefined) return unshareOk;
  const u = which('unshare');
  if (!u || process.getuid?.() !== 0) return (unshareOk = false);
  const r = require('node:child_process').spawnSync(u, ['-m', 'sh', '-c', 'mount -t tmpfs none /mnt 2>/dev/null || mount --bind /tmp /mnt'],
    { timeout: 5000, stdio: 'ignore' });
  return (unshareOk = r.status === 0);
}

export interface InetdRun {
  proc: ChildProcess;
  pid: number;
  stderr(): string;
  waitLog(re: RegExp, ms?: number): Promise<void>;
  hup(): void;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Files mounted on /etc/hosts.allow and /etc/hosts.deny. */
  hostsAllow?: string;
  hostsDeny?: string;
  /** TCP ports (on any address) that must be listening before the start counts as done. */
  tcp?: number[];
  udp?: number[];
  extraArgs?: string[];
  /** A descriptor the server inherits as its fd 5 (without close-on-exec), as a careless parent may leave one. */
  inheritFd?: number;
  /** Files mounted on /etc/passwd and /etc/group (accounts for the test alone). */
  passwd?: string;
  group?: string;
  /** A directory with passwd and group mounted on /var/lib/extrausers, which nsswitch.conf then names (test/helpers/nss.ts). */
  extrausers?: string;
  /** A command the server is started through (setpriv --groups ...). */
  prefix?: string[];
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Starts which ('ours' or 'debian') on conf with -d; resolves once the given ports listen (bounded). */
export async function startInetd(which: 'ours' | 'debian', conf: string, dir: string, o: StartOptions = {}): Promise<InetdRun> {
  const run = path.join(dir, `run-${which}`);
  fs.mkdirSync(run, { recursive: true });
  const cmd = which === 'ours' ? ours('inetd') : DEBIAN_INETD;
  const args = which === 'ours' ? ['-d', `--pidfile=${run}/inetd.pid`, ...(o.extraArgs ?? []), conf] : ['-d', ...(o.extraArgs ?? []), conf];
  let proc: ChildProcess;
  if (canUnshare()) {
    const nss = path.join(run, 'nsswitch.conf');
    const more = o.extrausers ? ' extrausers' : '';
    fs.writeFileSync(nss, `passwd: files${more}\ngroup: files${more}\nhosts: files\n`);
    let script = 'mount --bind "$1" /run || exit 111; mount --bind "$4" /etc/nsswitch.conf || exit 111; ';
    if (o.hostsAllow) script += 'mount --bind "$2" /etc/hosts.allow || exit 111; ';
    if (o.hostsDeny) script += 'mount --bind "$3" /etc/hosts.deny || exit 111; ';
    if (o.passwd) script += `mount --bind '${o.passwd}' /etc/passwd || exit 111; `;
    if (o.group) script += `mount --bind '${o.group}' /etc/group || exit 111; `;
    if (o.extrausers) script += `mount --bind '${o.extrausers}' /var/lib/extrausers || exit 111; `;
    script += 'shift 4; exec "$@"';
    proc = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', run, o.hostsAllow ?? '', o.hostsDeny ?? '', nss, ...(o.prefix ?? []), cmd, ...args],
      { stdio: ['ignore', 'ignore', 'pipe', ...(o.inheritFd === undefined ? [] : ['ignore', 'ignore', o.inheritFd] as const)] });
  } else {
    if (which === 'debian' || o.hostsAllow || o.hostsDeny) throw new Error('needs a mount namespace (root and unshare -m)');
    proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe', ...(o.inheritFd === undefined ? [] : ['ignore', 'ignore', o.inheritFd] as const)] });
  }
  let err = '';
  proc.stderr!.on('data', (d) => { err += d; });
  let exited = false;
  const exit = new Promise<void>((r) => proc.once('exit', () => { exited = true; r(); }));
  const pid = proc.pid!;
  const r: InetdRun = {
    proc, pid,
    stderr: () => err,
    async waitLog(re, ms = 8000) {
      const end = Date.now() + ms;
      while (!re.test(err)) {
        if (Date.now() > end) throw new Error(`${which} inetd: log never matched ${re}:\n${err}`);
        await sleep(20);
      }
    },
    hup() { try { process.kill(pid, 'SIGHUP'); } catch { /* gone */ } },
    async stop() {
      if (!exited) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
      await Promise.race([exit, sleep(3000)]);
      killGroup(pid);
    },
  };
  const end = Date.now() + 10_000;
  for (;;) {
    const tcp = new Set(listeners(pid).map((l) => l.port));
    const ok = (o.tcp ?? []).every((p) => tcp.has(p)) && (o.udp ?? []).every((p) => holdsUdpPort(pid, p) || holdsUdp6(pid, p));
    if (ok) break;
    if (exited || Date.now() > end) {
      await r.stop();
      throw new Error(`${which} inetd did not listen on ${JSON.stringify(o)}:\n${err}`);
    }
    await sleep(20);
  }
  return r;
}

/** Whether pid holds a UDP (IPv6) socket bound to port. */
export function holdsUdp6(pid: number, port: number): boolean {
  let inodes: Set<string>;
  try {
    inodes = new Set(fs.readdirSync(`/proc/${pid}/fd`).map((f) => {
      try { return /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${f}`))?.[1] ?? ''; } catch { return ''; }
    }));
    const text = fs.readFileSync(`/proc/${pid}/net/udp6`, 'utf8');
    return text.split('\n').slice(1).some((line) => {
      const f = line.trim().split(/\s+/);
      return f.length > 9 && parseInt(f[1].split(':')[1], 16) === port && inodes.has(f[9]);
    });
  } catch {
    return false;
  }
}

/** A random 127/8 address (not 127.0.0.1), so that tests at once do not meet on the fixed ports of the internal services. */
export function randomLoopback(): string {
  const b = () => 1 + Math.floor(Math.random() * 250);
  return `127.${b()}.${b()}.${b()}`;
}

export { freePortOn } from './net';

/** Connect (from local, when given), send, half-close when asked, read to the end; bounded. ERR:<code> on failure. */
export function tcpTalk(host: string, port: number, o: { send?: string; end?: boolean; local?: string; ms?: number; max?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, localAddress: o.local });
    const chunks: Buffer[] = [];
    let n = 0;
    const t = setTimeout(() => { s.destroy(); resolve('ERR:timeout'); }, o.ms ?? 5000);
    s.on('data', (d) => {
      chunks.push(d);
      n += d.length;
      if (o.max !== undefined && n >= o.max) { clearTimeout(t); s.destroy(); resolve(Buffer.concat(chunks).toString('latin1')); }
    });
    s.on('error', (e: NodeJS.ErrnoException) => { clearTimeout(t); resolve(chunks.length ? Buffer.concat(chunks).toString('latin1') : `ERR:${e.code}`); });
    s.on('close', () => { clearTimeout(t); resolve(Buffer.concat(chunks).toString('latin1')); });
    s.on('connect', () => {
      if (o.send !== undefined) s.write(o.send);
      if (o.end) s.end();
    });
  });
}

/** Sends one datagram from local (port 0) to host:port; the first answer within ms, or undefined. */
export function udpAsk(local: string, host: string, port: number, data: string, ms = 700, localPort = 0): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    // reuseAddr: a fixed local port may be one the server holds too.
    const s = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: localPort !== 0 });
    const done = (v: Buffer | undefined) => { clearTimeout(t); try { s.close(); } catch { /* closed */ } resolve(v); };
    const t = setTimeout(() => done(undefined), ms);
    s.on('error', () => done(undefined));
    s.on('message', (m) => done(m));
    s.bind(localPort, local, () => s.send(data, port, host));
  });
}
