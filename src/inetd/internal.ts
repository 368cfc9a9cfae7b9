// The trivial services openbsd-inetd answers itself (RFC 862 echo, 863
// discard, 864 chargen, 867 daytime, 868 time), over TCP and UDP, with its
// answers: daytime as ctime(3) gives it with CR LF, time as 32 bits of
// seconds since 1900, chargen's 72-character lines of the printable ASCII
// ring, each starting one character further. They run in this process (the
// original forks for echo, discard and chargen over TCP; those still count
// towards the service's invocations per minute). A datagram service answers
// only senders openbsd-inetd answers (see badSender), and never a sender on
// port 0 or on the port of a service that answers (see loopPort).
import type { Socket } from 'node:net';
import { networkInterfaces } from 'node:os';

export interface Internal {
  name: 'echo' | 'discard' | 'daytime' | 'chargen' | 'time';
  socktype: 'stream' | 'dgram';
  /** The original forks a child for it: it counts towards nowait.N. */
  forks: boolean;
}

export const INTERNAL: readonly Internal[] = [
  { name: 'echo', socktype: 'stream', forks: true },
  { name: 'echo', socktype: 'dgram', forks: false },
  { name: 'discard', socktype: 'stream', forks: true },
  { name: 'discard', socktype: 'dgram', forks: false },
  { name: 'time', socktype: 'stream', forks: false },
  { name: 'time', socktype: 'dgram', forks: false },
  { name: 'daytime', socktype: 'stream', forks: false },
  { name: 'daytime', socktype: 'dgram', forks: false },
  { name: 'chargen', socktype: 'stream', forks: true },
  { name: 'chargen', socktype: 'dgram', forks: false },
];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? '0' : '') + n;

/** ctime(3)'s first 24 characters, local time, then CR LF: "Sat Nov 28 11:44:40 2026\r\n". */
export function daytime(d: Date = new Date()): string {
  const day = d.getDate();
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day < 10 ? ' ' : ''}${day} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}\r\n`;
}

/** RFC 868: seconds since 1900-01-01 00:00 UTC, 32 bits, network order (wrapping as the original's u_int32_t). */
export function machtime(ms: number = Date.now()): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE((Math.floor(ms / 1000) + 2208988800) % 0x100000000, 0);
  return b;
}

const LINESIZ = 72;
// The printable characters of 0..128, as isprint() in the C locale finds them: ' ' to '~'.
const RING = Buffer.from(Array.from({ length: 95 }, (_, i) => 32 + i));

/** The chargen line starting at ring position at: 72 characters and CR LF. */
export function chargenLine(at: number): Buffer {
  const line = Buffer.alloc(LINESIZ + 2);
  for (let i = 0; i < LINESIZ; i++) line[i] = RING[(at + i) % RING.length];
  line[LINESIZ] = 13;
  line[LINESIZ + 1] = 10;
  return line;
}

let cycle: Buffer | undefined;
/** The chargen stream's lines for one turn of the ring, from position 0: the stream repeats it. */
function chargenCycle(): Buffer {
  cycle ??= Buffer.concat(Array.from({ length: RING.length }, (_, i) => chargenLine(i)));
  return cycle;
}

/** Serves one accepted TCP client (a flowing net.Socket) for service s. */
export function serveStream(s: Internal['name'], sock: Socket): void {
  sock.on('error', () => sock.destroy());
  switch (s) {
    case 'echo':
      sock.on('data', (d) => { if (sock.write(d) === false) { sock.pause(); sock.once('drain', () => sock.resume()); } });
      sock.on('end', () => sock.end());
      return;
    case 'discard':
      sock.on('data', () => {});
      sock.on('end', () => sock.end());
      return;
    case 'daytime':
      sock.end(daytime());
      return;
    case 'time':
      sock.end(machtime());
      return;
    case 'chargen': {
      // Lines until the client goes away; what it sends is not read. One turn
      // of the ring per write and per turn of the event loop: written line by
      // line while the kernel takes them, a client that reads nothing would
      // hold the loop (and every other service) until its buffers were full.
      const more = () => {
        if (sock.destroyed) return;
        if (sock.write(chargenCycle())) setImmediate(more);
        else sock.once('drain', more);
      };
      sock.on('data', () => {});
      sock.on('end', () => sock.destroy());
      more();
    }
  }
}

/** IPv4 broadcast addresses of this host's interfaces. */
function broadcasts(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const ip = a.address.split('.').map(Number), mask = a.netmask.split('.').map(Number);
      out.add(ip.map((x, i) => (x | (~mask[i] & 255))).join('.'));
    }
  }
  return out;
}

/**
 * Whether a datagram from ip:port gets no answer, as with openbsd-inetd:
 * multicast, 0/8, 127/8, 255/8 and broadcast IPv4 senders; multicast,
 * unspecified and IPv4-mapped IPv6 ones (IPv4-compatible ones as IPv4).
 */
export function badSender(ip: string): boolean {
  let v4 = ip.includes(':') ? undefined : ip;
  if (!v4) {
    const l = ip.toLowerCase();
    if (l.startsWith('ff') || l === '::') return true;
    if (l.startsWith('::ffff:')) return true;
    const compat = /^::(\d+\.\d+\.\d+\.\d+)$/.exec(l);
    if (!compat) return false;
    v4 = compat[1];
  }
  const first = Number(v4.split('.')[0]);
  if (first >= 224 && first <= 239) return true;
  if (first === 0 || first === 127 || first === 255) return true;
  return broadcasts().has(v4);
}

/**
 * The source ports a datagram service does not answer: 0, where nothing can
 * be sent (openbsd-inetd's sendto fails there), and the ports of the
 * internal services that answer every datagram (echo, daytime, chargen,
 * time). Debian's openbsd-inetd answers them, so that one datagram forged
 * from its own echo port to its echo port (or between two hosts' echo and
 * chargen) makes the two services answer each other for ever; as
 * FreeBSD's inetd, this one refuses them.
 */
const LOOP_PORTS: ReadonlySet<number> = new Set([0, 7, 13, 19, 37]);

export function loopPort(port: number): boolean {
  return LOOP_PORTS.has(port);
}

/** Ring position of the next chargen datagram, per service (the original's static). */
export class DgramState {
  at = 0;
}

/** The answer to one datagram, or undefined (discard). */
export function answerDatagram(s: Internal['name'], data: Buffer, st: DgramState): Buffer | undefined {
  switch (s) {
    case 'echo': return data.subarray(0, 4096);
    case 'discard': return undefined;
    case 'daytime': return Buffer.from(daytime());
    case 'time': return machtime();
    case 'chargen': {
      const line = chargenLine(st.at);
      st.at = (st.at + 1) % RING.length;
      return line;
    }
  }
}
