// A bare TLS server for benchmarks/tls-speed.ts, until sslserver drives the
// backend: accept (src/listen, the addon's path), handshake, start the
// program on one end of a socket pair (src/launch), relay. Usage:
//   node dist/benchmarks/tls-server.js native|node PORT CERT KEY PROG...
// prints "listening PORT" once bound. "node": Node's own tls on the event
// loop (a TLSSocket on the accepted fd, piped to the pair), for the record.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createNativeLauncher } from '../src/launch/native';
import { listenNative } from '../src/listen/native';
import { loadNative } from '../src/native';
import { nativeTlsBackend } from '../src/tls/native';

export async function main(argv: string[]): Promise<void> {
  const [which, port, certFile, keyFile, ...prog] = argv;
  const addon = loadNative();
  const launcher = createNativeLauncher(addon);
  if (!addon || !launcher || !addon.socketPair) throw new Error('tls-server: the addon is needed');
  const socketPair = addon.socketPair;
  const cert = fs.readFileSync(certFile), key = fs.readFileSync(keyFile);
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  const listener = await listenNative(addon, '127.0.0.1', Number(port), 511);

  // The program on one end of a pair: the other end, for the relay.
  const start = (): number | null => {
    const [mine, theirs] = socketPair();
    let ok = true;
    launcher.launch({ argv: prog, env, fd: theirs, owned: true }, (err) => {
      if (err) {
        ok = false;
        process.stderr.write(`tls-server: ${err.message}\n`);
      }
    }, () => {});
    return ok ? mine : null;
  };

  if (which === 'native') {
    const backend = nativeTlsBackend();
    if (!backend) throw new Error('tls-server: the addon has no TLS');
    backend.configure({ pairs: [{ name: '', cert, key }], verify: 'none', minVersion: 'TLSv1.2', alpn: [],
      handshakeTimeoutMs: 10_000 });
    listener.start(100_000, false, (a) => {
      backend.handshake(a.fd, (err, conn) => {
        if (err || !conn) return listener.done();
        const mine = start();
        if (mine === null) {
          conn.drop();
          return listener.done();
        }
        conn.relay(mine, () => listener.done());
      });
    }, () => {});
  } else {
    const secureContext = tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
    listener.start(100_000, false, (a) => {
      const raw = new net.Socket({ fd: a.fd, readable: true, writable: true, allowHalfOpen: true });
      const s = new tls.TLSSocket(raw, { isServer: true, secureContext });
      let done = false;
      const end = () => { if (!done) { done = true; listener.done(); } };
      s.on('error', () => { s.destroy(); end(); });
      s.on('close', end);
      s.once('secure', () => {
        const mine = start();
        if (mine === null) {
          s.destroy();
          return;
        }
        const p = new net.Socket({ fd: mine, readable: true, writable: true, allowHalfOpen: true });
        p.on('error', () => s.destroy());
        s.pipe(p);
        p.pipe(s);
      });
    }, () => {});
  }
  process.stdout.write(`listening ${listener.port}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(111);
  });
}
