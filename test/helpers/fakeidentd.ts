// A fake RFC 1413 identd on 127.0.0.1 (TCP, port 0) for tests. answer(req)
// gets the request line without CRLF ("12345 , 80") and returns the reply
// line to send (CRLF is added), or null to say nothing and keep the
// connection open (to exercise the client's timeout).
//
//   const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : alice`);
//   ... UCSPI_IDENT_PORT: String(idd.port) ...   idd.requests → ['12345 , 80']
//   await idd.close();
import * as net from 'node:net';

export interface FakeIdentd {
  port: number;
  /** Every request line received, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeIdentd(answer: (req: string) => string | null): Promise<FakeIdentd> {
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
      if (reply !== null) s.end(`${reply}\r\n`);
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () => new Promise<void>((ok) => {
      for (const s of open) s.destroy();
      server.close(() => ok());
    }),
  };
}
