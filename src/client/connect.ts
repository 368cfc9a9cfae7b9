// tcpclient's connection: each address of the server in turn, as ucspi-tcp
// 0.88 tries them (-T x+y): a first pass giving each address x seconds, then
// a second pass over the addresses that timed out (not those that refused),
// y seconds each; with one address, one try of x+y. An address that fails
// otherwise (or times out on the last pass) is reported as
// "tcpclient: unable to connect to IP port N: reason" and the next is tried;
// a socket that cannot be made or bound ends tcpclient (Fatal).
//
// With the addon the socket is made, bound and connected by native/client.cc
// (timeoutconn's way, synchronously, no Node socket); without it by
// net.Socket, paused before it connects so that Node never reads a byte the
// program is meant to get, and put back in blocking mode for the program.
import * as net from 'node:net';
import type { Addon } from '../native';

export interface Target {
  addrs: string[];
  port: number;
  localIp: string;
  localPort: number;
  /** -T x+y, seconds. */
  first: number;
  second: number;
  noDelay: boolean;
}

/** A connected socket: its fd, the addresses as the kernel has them, and what to close after the exec (net path). */
export interface Connected {
  fd: number;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  socket?: net.Socket;
}

/** The socket could not be made or bound: "unable to create socket" / "unable to bind socket". */
export class Fatal extends Error {
  constructor(readonly step: 'socket' | 'bind' | 'names', readonly cause: unknown) {
    super(step);
  }
}

type Try = (ip: string, seconds: number) => Promise<Connected>;

/**
 * The first address that answers, or undefined when none did (each failure
 * told through warn). Throws Fatal.
 */
export async function connectAny(t: Target, attempt: Try,
                                 warn: (ip: string, port: number, e: unknown) => void): Promise<Connected | undefined> {
  let timeouts = [t.first, t.second];
  if (t.addrs.length === 1) timeouts = [t.first + t.second, 0];
  let addrs = t.addrs;
  for (let pass = 0; pass < 2; pass++) {
    const again: string[] = [];
    for (const ip of addrs) {
      try {
        return await attempt(ip, timeouts[pass]);
      } catch (e) {
        if (e instanceof Fatal) throw e;
        if (pass === 0 && timeouts[1] > 0 && (e as NodeJS.ErrnoException).code === 'ETIMEDOUT') again.push(ip);
        else warn(ip, t.port, e);
      }
    }
    addrs = again;
  }
  return undefined;
}

function timedOut(): NodeJS.ErrnoException {
  return Object.assign(new Error('timed out'), { code: 'ETIMEDOUT', syscall: 'connect' });
}

/** One try through the addon (synchronous). */
export function nativeAttempt(n: Addon, t: Target): Try {
  return async (ip, seconds) => {
    let fd: number;
    try {
      fd = n.tcpConnect(ip, t.port, t.localIp, t.localPort, seconds * 1000, t.noDelay);
    } catch (e) {
      const step = (e as NodeJS.ErrnoException).syscall;
      if (step === 'socket' || step === 'bind') throw new Fatal(step, e);
      throw e;
    }
    let names: [string, number, string, number];
    try {
      names = n.sockNames(fd);
    } catch (e) {
      throw new Fatal('names', e);
    }
    return { fd, localIp: names[0], localPort: names[1], remoteIp: names[2], remotePort: names[3] };
  };
}

interface Handle {
  fd?: number;
  setBlocking?: (blocking: boolean) => number;
}

/** One try through net.Socket. */
export function netAttempt(t: Target): Try {
  return (ip, seconds) => new Promise((resolve, reject) => {
    const s = new net.Socket();
    // Paused, the socket does not start reading when it connects.
    s.pause();
    const timer = setTimeout(() => {
      s.destroy();
      reject(timedOut());
    }, Math.min(seconds * 1000 + 20, 0x7fffffff)); // timeoutconn waits 20 ms past the deadline (iopause)
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      s.destroy();
      reject(e.syscall === 'bind' ? new Fatal('bind', e) : e);
    });
    s.once('connect', () => {
      clearTimeout(timer);
      const h = (s as unknown as { _handle?: Handle })._handle;
      if (!h || typeof h.fd !== 'number' || h.fd < 0) {
        s.destroy();
        reject(new Fatal('socket', Object.assign(new Error('no descriptor'), { code: 'EBADF' })));
        return;
      }
      // The program reads and writes the descriptor as a plain, blocking one.
      h.setBlocking?.(true);
      if (t.noDelay) s.setNoDelay(true);
      resolve({
        fd: h.fd, socket: s,
        localIp: s.localAddress ?? t.localIp, localPort: s.localPort ?? 0,
        remoteIp: s.remoteAddress ?? ip, remotePort: s.remotePort ?? t.port,
      });
    });
    s.connect({ host: ip, port: t.port, localAddress: t.localIp, localPort: t.localPort || undefined, family: 4 });
  });
}
