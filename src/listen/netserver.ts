// Node's net.Server: the pure-Node accept path. Node accepts every client the
// kernel reports and cannot stop short of closing the socket, so over -c a
// client is held here (connected, unread, in arrival order) until one ends;
// at most as many as the backlog the kernel would have held for the
// originals: a held client costs a descriptor even after it hung up (it is
// not read, so its end goes unseen), and an unbounded queue let anyone who
// connects and hangs up, while -c is full, use up the server's descriptors.
import { closeSync, writeSync } from 'node:fs';
import * as net from 'node:net';
import type { Accepted, Listener } from './listen';

function listenOn(server: net.Server, host: string, port: number, backlog: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error) => reject(e);
    server.once('error', onErr);
    server.listen({ host, port, backlog, ipv6Only: false, exclusive: true }, () => {
      server.off('error', onErr);
      resolve();
    });
  });
}

/** "::ffff:1.2.3.4" → "1.2.3.4": mapped clients are IPv4 clients. */
export function unmap(ip: string): string {
  return ip.startsWith('::ffff:') && ip.indexOf('.') > 0 ? ip.slice(7) : ip;
}

function noop(): void {}

export async function listenNet(ip: string, port: number, backlog: number): Promise<Listener> {
  const server = net.createServer({ pauseOnConnect: true });
  await listenOn(server, ip, port, backlog);
  return netListener(server, ip, backlog);
}

/** The backlog of a socket passed in is not known: Linux's default limit (somaxconn). */
const PASSED_BACKLOG = 4096;

/** A listening socket passed in (socket activation, fd from 3), served by net.Server. */
export async function adoptNet(fd: number): Promise<Listener> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const ip = unmap((server.address() as net.AddressInfo).address);
  return netListener(server, ip === '::' ? '0.0.0.0' : ip, PASSED_BACKLOG);
}

function netListener(server: net.Server, shownIp: string, backlog: number): Listener {
  const hold = Math.max(1, backlog);
  const bound = (server.address() as net.AddressInfo).port;
  let room = 0;
  // Clients held over -c, in arrival order: waiting[head] is the next one.
  let waiting: net.Socket[] = [];
  let head = 0;
  // done() hands the next client over, whose connection may end at once
  // (denied, dropped) and call done() again: that call only makes room, and
  // the loop already running hands the next one over. Thousands of held
  // clients ending one after the other would otherwise each add to the stack.
  let draining = false;
  let deliver: (s: net.Socket) => void = noop;
  return {
    ip: shownIp,
    port: bound,
    start(max, noDelay, onClient, onError) {
      room = max;
      deliver = (s) => {
        const fd: number | undefined = (s as any)._handle?.fd;
        const rip = s.remoteAddress, lip = s.localAddress;
        if (fd === undefined || fd < 0 || rip === undefined || lip === undefined) {
          s.destroy(); // the client reset before we got to it
          return;
        }
        room--;
        s.on('error', noop); // a reset before the launch is that client's business
        if (noDelay) s.setNoDelay(true);
        const remoteIp = unmap(rip);
        onClient({
          fd, v6: remoteIp.includes(':'), remoteIp, remotePort: s.remotePort ?? 0,
          localIp: unmap(lip), localPort: s.localPort ?? 0, socket: s,
        });
      };
      server.on('connection', (s: net.Socket) => {
        if (room > 0 && head === waiting.length) deliver(s);
        else if (waiting.length - head < hold) waiting.push(s);
        else s.destroy(); // a full backlog: the kernel would not have taken it either
      });
      // accept(2) failures (EMFILE...) must not stop the server: the client stays in the backlog.
      server.on('error', (e) => onError(e as NodeJS.ErrnoException));
    },
    done() {
      room++;
      if (draining) return;
      draining = true;
      try {
        while (room > 0 && head < waiting.length) {
          const s = waiting[head];
          waiting[head++] = undefined!;
          if (!s.destroyed) deliver(s);
        }
      } finally {
        draining = false;
        if (head === waiting.length) {
          waiting = [];
          head = 0;
        } else if (head > 1024 && head * 2 > waiting.length) {
          waiting = waiting.slice(head);
          head = 0;
        }
      }
    },
    sendNow(a: Accepted, data: string) {
      try {
        writeSync(a.fd, data); // the socket is non-blocking already
        return null;
      } catch (e) {
        return e as NodeJS.ErrnoException;
      }
    },
    close(a: Accepted) {
      if (a.socket) a.socket.destroy();
      else closeSync(a.fd);
    },
  };
}
