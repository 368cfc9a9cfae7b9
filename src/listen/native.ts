// The addon's accept path (native/accept.cc): no libuv stream and no
// net.Socket per client, and -c kept by not polling the listening socket.
import { getSystemErrorName } from 'node:util';
import { loadNative } from '../native';
import { formatIPv4, ipv6Env } from '../lib/ip';
import type { Listener } from './listen';

const WORDS = 12; // int32 per client, as native/accept.cc lays them out

/** accept(2)'s failure (-errno) as Node's errors look (the addon's own throws already do). */
function acceptError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`accept ${code}`), { errno, code, syscall: 'accept' });
}

export async function listenNative(ip: string, port: number, backlog: number, shownIp?: string): Promise<Listener> {
  const addon = loadNative();
  const [fd, bound]: [number, number] = addon.listenTcp(ip, port, backlog);
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
            onError(acceptError(cfd));
            continue;
          }
          const fam = w[o + 1];
          const v6 = (fam & 0xff) === 6;
          onClient(cfd, v6,
            v6 ? ipv6Env(bytes, (o + 4) * 4) : formatIPv4(bytes, (o + 4) * 4), w[o + 2],
            fam >> 8 === 6 ? ipv6Env(bytes, (o + 8) * 4) : formatIPv4(bytes, (o + 8) * 4), w[o + 3]);
        }
      });
    },
    done() {
      more(1);
    },
  };
}
