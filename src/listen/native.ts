// The addon's accept path (native/accept.cc): no libuv stream and no
// net.Socket per client, and -c kept by not polling the listening socket.
import { closeSync } from 'node:fs';
import { type Accept, addonError } from '../native';
import { formatIPv4, ipv6Env } from '../lib/ip';
import type { Accepted, Listener } from './listen';

const WORDS = 12; // int32 per client, as native/accept.cc lays them out

/** The opener of the addon's path: bound to the addon chosen at start. */
export function nativeOpener(addon: Accept) {
  return (ip: string, port: number, backlog: number) => listenNative(addon, ip, port, backlog);
}

export async function listenNative(addon: Accept, ip: string, port: number, backlog: number): Promise<Listener> {
  const [fd, bound] = addon.listenTcp(ip, port, backlog);
  return nativeListener(addon, fd, bound, ip);
}

/** A listening socket passed in (socket activation, fd from 3): adopted, then served as a bound one. */
export function adoptNative(addon: Accept, passed: number): Listener {
  const [fd, bound, ip] = addon.adoptTcp(passed);
  return nativeListener(addon, fd, bound, ip === '::' ? '0.0.0.0' : ip);
}

type OnClient = (a: Accepted) => void;
type OnError = (err: NodeJS.ErrnoException) => void;

/** The addon's batches of clients (12 int32 each, as native/accept.cc lays them out) as calls of onClient. */
function batchHandler(onClient: OnClient, onError: OnError) {
  let bytes: Uint8Array | undefined;
  return (w: Int32Array, n: number) => {
    bytes ??= new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    for (let i = 0; i < n; i++) {
      const o = i * WORDS;
      const cfd = w[o];
      if (cfd < 0) {
        onError(addonError(cfd, 'accept'));
        continue;
      }
      const fam = w[o + 1];
      const v6 = (fam & 0xff) === 6;
      onClient({
        fd: cfd, v6,
        remoteIp: v6 ? ipv6Env(bytes, (o + 4) * 4) : formatIPv4(bytes, (o + 4) * 4), remotePort: w[o + 2],
        localIp: fam >> 8 === 6 ? ipv6Env(bytes, (o + 8) * 4) : formatIPv4(bytes, (o + 8) * 4), localPort: w[o + 3],
      });
    }
  };
}

/** A listening socket of the addon's beside others (inetd: one per stream line). */
export interface NativeSocket {
  readonly fd: number;
  readonly port: number;
  /** Starts accepting: every client reaches onClient, which owns its fd (blocking, close-on-exec). */
  accept(onClient: OnClient, onError: OnError): void;
  /** Stops accepting and closes the listening socket; clients already accepted are not touched. */
  close(): void;
}

/**
 * A listening socket (SO_REUSEADDR; "::" takes IPv4 too unless v6only) with
 * no limit on the clients undone at once. Throws bind's or listen's error.
 */
export function listenMany(addon: Accept, ip: string, port: number, backlog: number, v6only: boolean): NativeSocket {
  const [fd, bound] = addon.listenTcp(ip, port, backlog, v6only);
  let handle = -1;
  let closed = false;
  return {
    fd,
    port: bound,
    accept(onClient, onError) {
      if (closed || handle >= 0) return;
      handle = addon.acceptOpen(fd, Number.MAX_SAFE_INTEGER, false, batchHandler(onClient, onError));
    },
    close() {
      if (closed) return;
      closed = true;
      if (handle >= 0) addon.acceptClose(handle);
      closeSync(fd);
    },
  };
}

function nativeListener(addon: Accept, fd: number, bound: number, shownIp: string): Listener {
  const more = addon.acceptMore;
  return {
    ip: shownIp,
    port: bound,
    start(max, noDelay, onClient, onError) {
      addon.acceptSetup(fd, max, noDelay, batchHandler(onClient, onError));
    },
    done() {
      more(1);
    },
    sendNow(a: Accepted, data: string) {
      const r = addon.sendNow(a.fd, Buffer.from(data));
      return r >= 0 ? null : addonError(r, 'write');
    },
    close(a: Accepted) {
      // (A socket this process holds as a net.Socket: sslserver's end of a socket pair.)
      if (a.socket) a.socket.destroy();
      else closeSync(a.fd);
    },
  };
}
