// Run a UDP server (our udpsvd or the reference) and send it datagrams over
// loopback. The reference binds port 0 but never says which port it got, so
// a free port is picked (bound once without SO_REUSEADDR, then released) and
// the start is retried, a bounded number of times, when another process took
// it meanwhile. Each server runs in its own process group (common.ts's spawn,
// killed however the test process ends): stop() ends the server and every
// prog it left running. Every wait is bounded.
import type { ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { killGroup, sleep, spawn } from './common';
import { quietDnsAddr } from './net';

export interface UdpServer {
  proc: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout + stderr match re (bounded). */
  waitLog(re: RegExp, ms?: number): Promise<string>;
  /** SIGTERM (then SIGKILL) to the server and its whole process group; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A UDP port free right now on 127.0.0.1. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** The address (dotted quad) of pid's UDP socket bound to port, or undefined when it holds none. */
export function udpLocalIp(pid: number, port: number): string | undefined {
  let inodes: Set<string>;
  try {
    inodes = new Set(readdirSync(`/proc/${pid}/fd`).map((f) => {
      try {
        return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${f}`))?.[1] ?? '';
      } catch {
        return '';
      }
    }));
    for (const line of readFileSync(`/proc/${pid}/net/udp`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && parseInt(f[1].split(':')[1], 16) === port && inodes.has(f[9])) {
        // The address in host byte order (little-endian here): bytes reversed.
        const hex = f[1].split(':')[0];
        return [3, 2, 1, 0].map((i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16)).join('.');
      }
    }
  } catch {
    // gone
  }
  return undefined;
}

/** Whether pid holds a UDP socket bound to port. */
export function holdsUdpPort(pid: number, port: number): boolean {
  return udpLocalIp(pid, port) !== undefined;
}

/**
 * Starts cmd [...args, host, port, ...prog] on a free port. argv0 "udpsvd" makes
 * the reference word its usage as ours does. env gets the quiet fake DNS unless it names one.
 */
export async function startUdp(cmd: string, args: string[], host: string, prog: string[],
                               env: NodeJS.ProcessEnv, ms = 8000): Promise<UdpServer> {
  if (env.DNSCACHEIP === undefined) env = { ...env, DNSCACHEIP: await quietDnsAddr() };
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeUdpPort();
    const proc = spawn(cmd, [...args, host, String(port), ...prog],
      { env, stdio: ['ignore', 'pipe', 'pipe'], argv0: 'udpsvd' });
    let out = '', err = '';
    let exited = false;
    let code: number | null = null;
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { err += d; });
    const exit = new Promise<void>((r) => proc.on('exit', (c) => { exited = true; code = c; r(); }));
    const closed = new Promise<void>((r) => proc.on('close', () => r()));
    const until = Date.now() + ms;
    while (!exited && Date.now() < until && !holdsUdpPort(proc.pid!, port)) await sleep(20);
    const stop = async () => {
      if (!exited) proc.kill('SIGTERM');
      const t = setTimeout(() => killGroup(proc.pid), 3000);
      await exit;
      clearTimeout(t);
      killGroup(proc.pid); // progs left running
      await Promise.race([closed, sleep(3000)]); // the last log lines
      return code;
    };
    if (!exited && holdsUdpPort(proc.pid!, port)) {
      return {
        proc, port, stop,
        stdout: () => out,
        stderr: () => err,
        async waitLog(re, wait = 8000) {
          const end = Date.now() + wait;
          while (Date.now() < end) {
            if (re.test(out + err)) return out + err;
            await sleep(10);
          }
          throw new Error(`log never matched ${re}: ${out}${err}`);
        },
      };
    }
    await stop();
    lastErr = err;
    if (!/unable to bind socket/.test(err)) break;
  }
  throw new Error(`${cmd} ${args.join(' ')} did not bind: ${lastErr}`);
}

/** Sends one datagram from from:fromPort (0: any) to 127.0.0.1:port. */
export function sendFrom(from: string, port: number, data: string | Buffer, fromPort = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', (e) => { s.close(); reject(e); });
    s.bind(fromPort, from, () => {
      s.send(data, port, '127.0.0.1', (e) => {
        s.close();
        if (e) reject(e);
        else resolve();
      });
    });
  });
}

/** Runs cmd to its end (bounded), in its own process group: exit code and both outputs. */
export async function runOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, ms = 8000):
  Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (env.DNSCACHEIP === undefined) env = { ...env, DNSCACHEIP: await quietDnsAddr() };
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], argv0: 'udpsvd' });
    let out = '', err = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.stderr!.on('data', (d) => { err += d; });
    const t = setTimeout(() => killGroup(p.pid), ms);
    p.on('exit', (code) => {
      clearTimeout(t);
      killGroup(p.pid);
      p.on('close', () => resolve({ code, stdout: out, stderr: err }));
    });
  });
}
