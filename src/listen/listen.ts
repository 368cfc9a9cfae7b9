// Bind and listen. The server never reads from a client (pauseOnConnect): the
// socket is handed to prog untouched. Host "0" (or "") means every address,
// IPv6 and IPv4 together when the system has IPv6.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as net from 'node:net';

export interface Bound {
  server: net.Server;
  /** Address actually bound, as tcpsvd prints it ("0.0.0.0" / "::" for any). */
  ip: string;
  port: number;
}

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

/** Numeric addresses are used as given; a name is resolved once, at start. */
async function hostAddress(host: string): Promise<string> {
  if (isIP(host)) return host;
  const r = await lookup(host);
  return r.address;
}

export async function bind(host: string, port: number, backlog: number): Promise<Bound> {
  const server = net.createServer({ pauseOnConnect: true });
  if (host === '0' || host === '') {
    try {
      await listenOn(server, '::', port, backlog);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
      await listenOn(server, '0.0.0.0', port, backlog);
    }
  } else {
    await listenOn(server, await hostAddress(host), port, backlog);
  }
  const a = server.address() as net.AddressInfo;
  return { server, ip: host === '0' || host === '' ? '0.0.0.0' : a.address, port: a.port };
}
