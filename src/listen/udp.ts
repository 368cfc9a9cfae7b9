// udpsvd's socket (native/udp.cc): bound once, never read by the server. It
// waits for a datagram, peeks at its sender, and either hands the socket to
// prog (which reads the datagram itself) or discards that one datagram.
// Node's dgram reads every datagram as it arrives, so it cannot do this: the
// addon is required, and its absence is a clear start-up error.
import { addonError, addonPart, type Udp } from '../native';

export interface UdpSocket {
  readonly fd: number;
  /** The address bound (dotted quad) and port (the real one when 0 was asked for). */
  readonly ip: string;
  readonly port: number;
  /** One-shot: calls back with the next datagram's sender, or the peek's failure. */
  wait(cb: (err: NodeJS.ErrnoException | null, ip: string, port: number) => void): void;
  /** Drops the first queued datagram (denied, or no prog for it). */
  discard(): void;
  /** Stops waiting (a pending wait is never called back) and closes the socket. */
  close(): void;
}

/** The addon's UDP functions, or undefined when it is not built (or built without them). */
export function udpAddon(): Udp | undefined {
  return addonPart('udp') ?? undefined;
}

/** Binds ip:port (IPv4) with SO_REUSEADDR; throws bind's or socket's error. */
export function bindUdp(addon: Udp, ip: string, port: number): UdpSocket {
  const [fd, bound] = addon.udpBind(ip, port);
  return {
    fd, ip, port: bound,
    wait(cb) {
      addon.udpWait(fd, (err, from, fromPort) => cb(err < 0 ? addonError(err, 'recvfrom') : null, from, fromPort));
    },
    discard() {
      addon.udpDiscard(fd);
    },
    close() {
      addon.udpClose(fd);
    },
  };
}
