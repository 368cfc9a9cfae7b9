// unixserver's listening socket and its clients, on either path:
// the addon's (native/accept.cc: listenUnix, then accept(2) on the main
// loop with each client's SO_PEERCRED in its words; at -c the socket is not
// polled and clients wait in the kernel's backlog, as under the original), or
// Node's net.Server, which has no public descriptor for a client nor its
// credentials: there the client is handed to prog as its net.Socket
// (child_process duplicates it), the UNIXREMOTE* variables are not set (as
// ucspi-unix on a system without SO_PEERCRED), and clients over -c are held
// connected and unread, at most the backlog of them.
import { chmodSync, closeSync, lchownSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import * as net from 'node:net';
import { type Addon, addonError } from '../native';
import type { Accepted, Listener } from '../listen/listen';
import type { UnixPeer } from './environ';

/** An accepted UNIX-domain client: Accepted's TCP fields are empty, peer is who connected. */
export interface UnixAccepted extends Accepted {
  readonly peer?: UnixPeer;
}

export interface UnixBind {
  path: string;
  backlog: number;
  mask: number;
  /** 0xffffffff keeps the owner or group. */
  uid: number;
  gid: number;
  /** 0: none set. */
  mode: number;
}

const WORDS = 12; // int32 per client, as native/accept.cc lays them out
const KEEP = 0xffffffff;

function unixClient(fd: number, peer: UnixPeer | undefined, socket?: net.Socket): UnixAccepted {
  return { fd, v6: false, remoteIp: '', remotePort: 0, localIp: '', localPort: 0, socket, peer };
}

/** The addon's path. Throws the failing call's error (syscall: socket, bind, chown, chmod, listen). */
export function listenUnixNative(addon: Addon, b: UnixBind): Listener {
  const fd = addon.listenUnix(b.path, b.backlog, b.mask, b.uid === KEEP ? -1 : b.uid, b.gid === KEEP ? -1 : b.gid, b.mode);
  return {
    ip: b.path,
    port: 0,
    start(max, _noDelay, onClient, onError) {
      addon.acceptSetup(fd, max, false, (w: Int32Array, n: number) => {
        for (let i = 0; i < n; i++) {
          const o = i * WORDS;
          const cfd = w[o];
          if (cfd < 0) {
            onError(addonError(cfd, 'accept'));
            continue;
          }
          onClient(unixClient(cfd, w[o + 6] === 1 ? { pid: w[o + 2], uid: w[o + 4] >>> 0, gid: w[o + 5] >>> 0 } : undefined));
        }
      });
    },
    done() {
      addon.acceptMore(1);
    },
    sendNow(a, data) {
      const r = addon.sendNow(a.fd, Buffer.from(data));
      return r >= 0 ? null : addonError(r, 'write');
    },
    close(a) {
      closeSync(a.fd);
    },
  };
}

/**
 * Node's path. The socket is bound under umask 0777 (a file nobody but root
 * may connect to) and only then given its owner and mode, so that no client
 * connects before they are set, as under the original, which sets them
 * before listen(2). Rejects with the failing call's error.
 */
export async function listenUnixNet(b: UnixBind): Promise<Listener> {
  // libuv cuts a longer path short, binding another file, and Node reports
  // every bind failure as EACCES: the kernel's answers are found first.
  if (Buffer.byteLength(b.path) >= 108) throw Object.assign(new Error('bind: path too long'), { code: 'EINVAL', errno: -22, syscall: 'bind' });
  try {
    statSync(dirname(b.path) || '.');
  } catch (e) {
    (e as NodeJS.ErrnoException).syscall = 'bind';
    throw e;
  }
  const server = net.createServer({ pauseOnConnect: true });
  const old = process.umask(0o777);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: b.path, backlog: b.backlog, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    (e as NodeJS.ErrnoException).syscall = 'bind';
    throw e;
  } finally {
    process.umask(old);
  }
  try {
    lchownSync(b.path, b.uid === KEEP ? -1 : b.uid, b.gid === KEEP ? -1 : b.gid);
  } catch (e) {
    (e as NodeJS.ErrnoException).syscall = 'chown';
    throw e;
  }
  try {
    chmodSync(b.path, b.mode !== 0 ? b.mode & 0o7777 : 0o777 & ~b.mask);
  } catch (e) {
    (e as NodeJS.ErrnoException).syscall = 'chmod';
    throw e;
  }
  const hold = Math.max(1, b.backlog);
  let room = 0;
  const waiting: net.Socket[] = [];
  let deliver: (s: net.Socket) => void = () => {};
  return {
    ip: b.path,
    port: 0,
    start(max, _noDelay, onClient, onError) {
      room = max;
      deliver = (s) => {
        room--;
        s.on('error', () => {}); // a reset before the launch is that client's business
        onClient(unixClient(-1, undefined, s));
      };
      server.on('connection', (s: net.Socket) => {
        if (room > 0 && waiting.length === 0) deliver(s);
        else if (waiting.length < hold) waiting.push(s);
        else s.destroy(); // a full backlog: the kernel would not have taken it either
      });
      server.on('error', (e) => onError(e as NodeJS.ErrnoException));
    },
    done() {
      room++;
      while (room > 0 && waiting.length > 0) {
        const s = waiting.shift()!;
        if (!s.destroyed) deliver(s);
      }
    },
    sendNow(a, data) {
      a.socket?.write(data);
      return null;
    },
    close(a) {
      if (a.socket) a.socket.destroy();
      else closeSync(a.fd);
    },
  };
}
