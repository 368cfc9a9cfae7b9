// Run a server (ours or the reference) on port 0 and talk to it over loopback.
// Every wait is bounded; the listening port is read from /proc, which works
// for servers that cannot print it (tcpsvd).
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as path from 'node:path';
import { BIN, ROOT, killGroup, sleep, spawn } from './common';
import { type FakeDns, startFakeDns } from './fakedns';

export { BIN, ROOT };

export interface Running {
  proc: ChildProcess;
  port: number;
  stderr(): string;
  stdout(): string;
  /** Resolves when stderr or stdout contains re (bounded). */
  waitLog(re: RegExp, ms?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * srv.stop(), then its output to the end: the exit event can come before the
 * last lines written to the pipes have been read (seen under load: a missing
 * "sigterm received, exit."). Bounded: prog may still hold the pipes.
 */
export async function stopAndRead(srv: Running): Promise<void> {
  await srv.stop();
  await Promise.all([srv.proc.stdout!, srv.proc.stderr!].map((s) => (s.readableEnded ? undefined
    : new Promise<void>((r) => {
      const k = setTimeout(r, 5000);
      s.once('end', () => { clearTimeout(k); r(); });
    }))));
}

/**
 * pid's TCP sockets, from /proc/<pid>/net/tcp and tcp6 matched against the
 * socket inodes among its descriptors: listening or not, local port, and
 * rx_queue (for a listening socket, its accept queue). Empty once pid is gone.
 */
function tcpSockets(pid: number): Array<{ listening: boolean; port: number; queued: number; table: 'tcp' | 'tcp6' }> {
  const inodes = new Set<string>();
  try {
    for (const f of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${f}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const out: Array<{ listening: boolean; port: number; queued: number; table: 'tcp' | 'tcp6' }> = [];
  for (const t of ['tcp', 'tcp6'] as const) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${t}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9]))
        out.push({ listening: f[3] === '0A', port: parseInt(f[1].split(':')[1], 16), queued: parseInt(f[4].split(':')[1], 16), table: t });
    }
  }
  return out;
}

/**
 * The LISTEN sockets held by pid: port, accept-queue length (clients
 * connected, not yet accepted) and the /proc table it is in (tcp6: an IPv6 socket).
 */
export function listeners(pid: number): Array<{ port: number; queued: number; table: 'tcp' | 'tcp6' }> {
  return tcpSockets(pid).filter((s) => s.listening).map(({ port, queued, table }) => ({ port, queued, table }));
}

/** The port of a TCP socket in LISTEN state held by pid, or undefined. */
export function listeningPort(pid: number): number | undefined {
  return listeners(pid)[0]?.port;
}

/** Sockets held open by pid, not counting listeners nor fds 0-2 (stdio may be socketpairs). */
export function socketCount(pid: number): number {
  let n = 0;
  for (const f of readdirSync(`/proc/${pid}/fd`)) {
    if (Number(f) <= 2) continue;
    try {
      if (readlinkSync(`/proc/${pid}/fd/${f}`).startsWith('socket:')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n - listeners(pid).length;
}

/**
 * TCP connections held open by pid (its sockets in /proc/<pid>/net/tcp and
 * tcp6 that are not listening): unlike socketCount, a UDP socket (a DNS
 * question under way) is not counted.
 */
export function tcpConnectionCount(pid: number): number {
  return tcpSockets(pid).filter((s) => !s.listening).length;
}

let quietDns: Promise<FakeDns> | undefined;

/**
 * A fake DNS on 127.53.x.y:53 that knows no name: servers get it as
 * DNSCACHEIP unless a test gives its own, so no server started by a test
 * (ours or the reference, which look up the local name unless -l) ever asks
 * the system resolver.
 */
export function quietDnsAddr(): Promise<string> {
  quietDns ??= startFakeDns({}, { port53: true }).then((d) => {
    d.unref();
    return d;
  });
  return quietDns.then((d) => d.addr);
}

/** extraFd: given to the server as its fd 3, without close-on-exec (as a careless parent would). */
export async function startServer(cmd: string, args: string[], env: NodeJS.ProcessEnv, ms = 8000,
                                  extraFd?: number): Promise<Running> {
  if (env.DNSCACHEIP === undefined) env = { ...env, DNSCACHEIP: await quietDnsAddr() };
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
  if (extraFd !== undefined) stdio.push(extraFd);
  const proc = spawn(cmd, args, { env, stdio });
  let err = '', out = '';
  proc.stderr!.on('data', (d) => { err += d; });
  proc.stdout!.on('data', (d) => { out += d; });
  let exited = false;
  proc.on('exit', () => { exited = true; });
  const until = Date.now() + ms;
  let port: number | undefined;
  while (!exited && Date.now() < until) {
    port = listeningPort(proc.pid!);
    if (port) break;
    await sleep(20);
  }
  if (!port) {
    killGroup(proc.pid);
    throw new Error(`${cmd} ${args.join(' ')} did not listen: ${err}`);
  }
  return {
    proc, port,
    stderr: () => err,
    stdout: () => out,
    async waitLog(re, wait = 5000) {
      const end = Date.now() + wait;
      while (Date.now() < end) {
        if (re.test(err + out)) return err + out;
        await sleep(10);
      }
      throw new Error(`log never matched ${re}: ${err}`);
    },
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => killGroup(proc.pid), 3000);
      await done;
      clearTimeout(t);
      // Children still serving a client (a test may want them) belong to the
      // server's process group, killed when the test process ends.
    },
  };
}

export interface TalkOptions {
  local?: string;
  send?: string | Buffer;
  /** Shut down our writing side after sending (half-close). */
  end?: boolean;
  ms?: number;
  host?: string;
}

/** Connect, optionally send, read until the server closes; bounded. */
export function talk(port: number, o: TalkOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: o.host ?? '127.0.0.1', localAddress: o.local });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => { s.destroy(); reject(new Error('talk timed out')); }, o.ms ?? 8000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.on('close', () => { clearTimeout(t); resolve(Buffer.concat(chunks).toString()); });
    s.on('connect', () => {
      if (o.send !== undefined) s.write(o.send);
      if (o.end) s.end();
    });
  });
}

/** NAME=value lines → object (the output of env). */
export function parseEnv(text: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) o[line.slice(0, i)] = line.slice(i + 1);
  }
  return o;
}

/** Launchers to run the engine suites with: spawn always, native when the addon is built. */
export function launchers(): Array<{ name: string; skip: string | false }> {
  let native: string | false = 'native launcher unavailable (addon not built or src/launch/native absent)';
  try {
    const m = require(path.join(ROOT, 'dist', 'src', 'launch', 'native.js'));
    if (m.createNativeLauncher()) native = false;
  } catch {
    // keep the skip reason
  }
  return [{ name: 'spawn', skip: false }, { name: 'native', skip: native }];
}

/** A TCP port free right now on ip (and, when asked, free for UDP too). */
export function freePortOn(ip: string, alsoUdp = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, ip, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => {
        if (!alsoUdp) return resolve(p);
        const u = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
        u.once('error', () => { u.close(); resolve(freePortOn(ip, true)); });
        u.bind(p, ip, () => u.close(() => resolve(p)));
      });
    });
  });
}

/**
 * A server started with args, then asked which /proc table holds its
 * listener and whether 127.0.0.1 and ::1 reach it (what it says, or the
 * connect error's code); stopped after.
 */
export async function reachability(cmd: string, args: string[], env: NodeJS.ProcessEnv):
  Promise<{ tables: string[]; v4: string; v6: string }> {
  const srv = await startServer(cmd, args, env);
  try {
    const tables = listeners(srv.proc.pid!).map((x) => x.table);
    const reach = (host: string) => talk(srv.port, { host }).catch((e: NodeJS.ErrnoException) => String(e.code));
    return { tables, v4: await reach('127.0.0.1'), v6: await reach('::1') };
  } finally {
    await srv.stop();
  }
}
