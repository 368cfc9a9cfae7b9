// The addon's accept path (native/accept.cc): no libuv stream and no
// net.Socket per client, and -c kept by not polling the listening socket.
import { getSystemErrorName } from 'node:util';
import { loadNative } from '../native';
import { formatIPv4, formatIPv6 } from './address';
import type { Accepted, Listener } from './listen';

const WORDS = 12; // int32 per client, as native/accept.cc lays them out

function errnoError(e: NodeJS.ErrnoException): NodeJS.ErrnoException {
  if (typeof e.errno === 'number' && e.code === undefined) {
    try {
      e.code = getSystemErrorName(e.errno);
    } catch {
      // unknown errno: message only
    }
  }
  return e;
}

export async function listenNative(ip: string, port: number, backlog: number, shownIp?: string): Promise<Listener> {
  const addon = loadNative();
  let fd: number, bound: number;
  try {
    [fd, bound] = addon.listenTcp(ip, port, backlog);
  } catch (e) {
    throw errnoError(e as NodeJS.ErrnoException);
  }
  const more: (n: number) => void = addon.acceptMore;
  return {
    ip: shownIp ?? ip,
    port: bound,
    start(max, noDelay, onClient, onError) {
      let bytes: Uint8Array | undefined;
      addon.acceptSetup(fd, max, noDelay, (w: Int32Array, n: number) => {
        bytes ??= new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
        for (let i = 0; i < n; i++) {
          const o = i * WORDS;
          const cfd = w[o];
          if (cfd < 0) {
            onError(errnoError(Object.assign(new Error('accept'), { errno: cfd, syscall: 'accept' })));
            continue;
          }
          const fam = w[o + 1];
          const v6 = (fam & 0xff) === 6;
          const a: Accepted = {
            fd: cfd,
            v6,
            remoteIp: v6 ? formatIPv6(bytes, (o + 4) * 4) : formatIPv4(bytes, (o + 4) * 4),
            remotePort: w[o + 2],
            localIp: fam >> 8 === 6 ? formatIPv6(bytes, (o + 8) * 4) : formatIPv4(bytes, (o + 8) * 4),
            localPort: w[o + 3],
          };
          onClient(a);
        }
      });
    },
    done() {
      more(1);
    },
  };
}
