// Bind and listen, then hand each accepted client to the engine. The server
// never reads from a client: the socket goes to prog untouched. Host "0" (or
// "") means every IPv4 address, as with ipsvd and ucspi-tcp; "::" (our
// addition) every address, IPv6 and IPv4 together (dual stack).
//
// Two implementations of one interface: the addon's (native.ts: accept(2) on
// the main loop; at the -c limit the socket is not polled, so waiting clients
// stay in the kernel backlog as with the originals) and Node's net.Server
// (netserver.ts, when the addon is missing or $UCSPI_LAUNCHER=spawn).
import { isIPv6 } from 'node:net';
import { resolveListenHost } from './resolve';

/**
 * One accepted client: the connected socket's fd, blocking; addresses as
 * dotted quads (IPv4-mapped clients unmapped) or inet_ntop's IPv6 text; on
 * the net.Server path the socket the fd belongs to.
 */
export interface Accepted {
  readonly fd: number;
  readonly v6: boolean;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localIp: string;
  readonly localPort: number;
  readonly socket?: import('node:net').Socket;
}

export type OnClient = (a: Accepted) => void;

export interface Listener {
  /** Address actually bound, as tcpsvd prints it ("0.0.0.0" for any). */
  readonly ip: string;
  readonly port: number;
  /**
   * Start delivering clients, never more than max undone at once. onError
   * gets accept(2) failures; the client stays in the backlog and is tried again.
   */
  start(max: number, noDelay: boolean, onClient: OnClient, onError: (e: NodeJS.ErrnoException) => void): void;
  /** A delivered client is done with (its child ended, or it was dropped). */
  done(): void;
  /**
   * Write to a client without ever waiting: what the socket buffer does not
   * take is dropped. The error, or null.
   */
  sendNow(a: Accepted, data: string): NodeJS.ErrnoException | null;
  /** Close the server's copy of the client's socket. */
  close(a: Accepted): void;
}

/** Opens a listener on one path (the addon's or net.Server's), chosen once at start. */
export type OpenListener = (ip: string, port: number, backlog: number) => Promise<Listener>;

/**
 * A name is resolved once, at start, as the originals resolve it (resolve.ts:
 * djb's rules through $DNSCACHEIP, never getaddrinfo); an IPv6 address (our
 * addition) is used as given.
 */
async function hostAddress(host: string, asGivenFirst: boolean): Promise<string> {
  if (isIPv6(host)) return host;
  return resolveListenHost(host, { asGivenFirst });
}

/**
 * open: the addon's or net.Server's listener, chosen once at start. lookup:
 * "ipsvd" tries a name as given before qualifying it (tcpsvd), "ucspi-tcp"
 * qualifies it at once (tcpserver); both read "" and "0" as 0.0.0.0, every
 * IPv4 address and no IPv6 one (a firewall written for IPv4 stays the only
 * way in), as the originals do. Dual stack is asked for with "::".
 */
export async function listen(host: string, port: number, backlog: number, open: OpenListener,
                             lookup: 'ucspi-tcp' | 'ipsvd' = 'ucspi-tcp'): Promise<Listener> {
  if (host === '0' || host === '') return open('0.0.0.0', port, backlog);
  return open(await hostAddress(host, lookup === 'ipsvd'), port, backlog);
}
