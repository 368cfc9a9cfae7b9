// A fake RFC 1413 identd on 127.0.0.1 (TCP, port 0) for tests. answer(req)
// gets the request line without CRLF ("12345 , 80") and returns the reply
// line to send (CRLF is added), a Buffer sent byte for byte as it is (no
// CRLF added: hostile replies), or null to say nothing and keep the
// connection open (to exercise the client's timeout). { port113: true } binds
// 127.113.x.y:113 (x, y random; needs root): the port the reference tcpserver
// always asks, on an address a test's client connects from.
//
//   const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : alice`);
//   ... UCSPI_IDENT_PORT: String(idd.port) ...   idd.requests → ['12345 , 80']
//   await idd.close();
import * as net from 'node:net';

export interface FakeIdentd {
  /** The address it listens on (127.0.0.1 unless port113). */
  host: string;
  port: number;
  /** Every request line received, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeIdentd(answer: (req: string) => string | Buffer | null,
                                      opts: { port113?: boolean } = {}): Promise<FakeIdentd> {
  const requests: string[] = [];
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => { /* the client may hang up first */ });
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const req = buf.slice(0, nl).replace(/\r$/, '');
      requests.push(req);
      const reply = answer(req);
      if (Buffer.isBuffer(reply)) s.end(reply);
      else if (reply !== null) s.end(`${reply}\r\n`);
    });
  });
  let host = '127.0.0.1';
  for (let tries = 0; ; tries++) {
    if (opts.port113) host = `127.113.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
    try {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(opts.port113 ? 113 : 0, host, () => {
          server.off('error', fail);
          ok();
        });
      });
      break;
    } catch (e) {
      if (!opts.port113 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries > 20) {
        throw new Error(`fake identd: cannot bind ${host}:${opts.port113 ? 113 : 0} (${(e as Error).message})`);
      }
    }
  }
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () => new Promise<void>((ok) => {
      for (const s of open) s.destroy();
      server.close(() => ok());
    }),
  };
}
