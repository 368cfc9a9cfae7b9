// The addon's TLS engine (native/tls.cc) through its backend (src/tls/native.ts):
// handshakes with openssl s_client and Node's tls client, the certificate
// chosen by SNI, ALPN, client certificates, a configuration replaced while
// handshakes run, the handshake timeout, garbage, 2,000 half-open handshakes
// beside a client that is served, descriptors, and the relay byte for byte.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { spawn as rawSpawn } from 'node:child_process';
import type { TlsConnection, TlsServerConfig } from '../src/tls/backend';
import { scratch, sleep, waitFor } from './helpers/common';
import { addon, backend, cnOf, fdCount, makeCerts, program, serve, skipNative, type Pem } from './helpers/tlsnative';

t.setTimeout(600_000);

if (skipNative) {
  t.pass(`skipped: ${skipNative}`);
} else {
  const tmp = scratch('tls-native');
  const certs = makeCerts(tmp('certs'), ['default.example', 'a.example', '*.wild.example', 'client.example',
    'self:intruder.example', 'b.example']);
  const pair = (name: string, p: Pem) => ({ name, cert: p.cert, key: p.key });
  const base: TlsServerConfig = {
    pairs: [pair('', certs['default.example']), pair('a.example', certs['a.example']), pair('*.wild.example', certs['*.wild.example'])],
    verify: 'none', minVersion: 'TLSv1.2', alpn: [], handshakeTimeoutMs: 10_000,
  };
  const b = backend!;

  // Each test sets what the next handshake does with its connection.
  let onConn: (err: Error | null, conn?: TlsConnection) => void = () => {};
  const srv = serve((err, conn) => onConn(err, conn));
  t.teardown(() => srv.close());

  /** The next handshake's outcome on the server's side. */
  const nextConn = () => new Promise<{ err: Error | null; conn?: TlsConnection }>((resolve) => {
    onConn = (err, conn) => resolve({ err, conn });
  });

  /** A Node tls client: resolves with the socket once the handshake is done (or the error). */
  const connect = (opts: tls.ConnectionOptions = {}) => new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: srv.port, rejectUnauthorized: false, ...opts }, () => resolve(s));
    s.once('error', reject);
  });
  const readAll = (s: net.Socket) => new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });

  t.test('openssl s_client: TLS 1.3, the default certificate, the program reached', async (t) => {
    b.configure(base);
    const served = nextConn();
    const c = rawSpawn('openssl', ['s_client', '-connect', `127.0.0.1:${srv.port}`, '-brief'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const { err: e, conn } = await served;
    t.equal(e, null);
    t.equal(conn!.info.protocol, 'TLSv1.3');
    t.equal(conn!.info.servername, '');
    const p = program(conn!);
    p.sock.end(`hello ${conn!.info.cipher}\n`);
    p.sock.resume();
    await new Promise((r) => c.once('close', r));
    await p.ended;
    t.match(out, `hello ${conn!.info.cipher}\n`);
    t.match(err, /Protocol version: TLSv1\.3/);
    t.match(err, /CN = default\.example/);
    c.stdin.destroy();
  });

  t.test('the handshake completes while the event loop is blocked (it runs on the addon\'s threads)', async (t) => {
    b.configure(base);
    const dir = tmp('blocked');
    const errFile = `${dir}/s_client.err`;
    const errFd = require('node:fs').openSync(errFile, 'w');
    let done: TlsConnection | undefined;
    let blockedMs = -1;
    // A listener of its own: the loop is blocked inside its accept callback,
    // right after the socket went to the backend.
    const [lfd, port] = addon!.listenTcp('127.0.0.1', 0, 16);
    const handle = addon!.acceptOpen(lfd, 1, false, (words, n) => {
      for (let i = 0; i < n; i++) {
        b.handshake(words[i * 12], (err, conn) => { if (conn) done = conn; });
        const fs = require('node:fs');
        const end = Date.now() + 20_000;
        const t0 = Date.now();
        while (Date.now() < end && !/Protocol version/.test(fs.readFileSync(errFile, 'utf8'))) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        }
        blockedMs = /Protocol version/.test(fs.readFileSync(errFile, 'utf8')) ? Date.now() - t0 : -1;
      }
    });
    t.teardown(() => { addon!.acceptClose(handle); require('node:fs').closeSync(lfd); });
    const c = rawSpawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-brief'], { stdio: ['pipe', 'ignore', errFd] });
    require('node:fs').closeSync(errFd);
    await waitFor('the accept callback', () => blockedMs !== -1 || done, 30_000).catch(() => undefined);
    t.ok(blockedMs >= 0, 'openssl s_client finished its handshake while the loop was blocked');
    await waitFor('the session reported once the loop runs', () => done);
    done!.drop();
    await new Promise((r) => c.once('close', r));
    c.stdin.destroy();
  });

  t.test('openssl s_client -servername picks the pair of that name, and a wildcard one label deep', async (t) => {
    b.configure(base);
    for (const [sni, cn] of [['a.example', 'a.example'], ['A.Example', 'a.example'], ['x.wild.example', '*.wild.example'],
      ['y.x.wild.example', 'default.example'], ['wild.example', 'default.example'], ['other.example', 'default.example']]) {
      const served = nextConn();
      const c = rawSpawn('openssl', ['s_client', '-connect', `127.0.0.1:${srv.port}`, '-servername', sni, '-brief'],
        { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d) => (err += d));
      const { conn } = await served;
      t.equal(conn!.info.servername, sni, `${sni}: the name reaches the session`);
      conn!.drop();
      await new Promise((r) => c.once('close', r));
      t.match(err, `CN = ${cn}`, `${sni}: ${cn}'s certificate`);
      c.stdin.destroy();
    }
  });

  t.test('gnutls-cli and curl as clients', async (t) => {
    b.configure({ ...base, alpn: ['http/1.1'] });
    {
      const served = nextConn();
      const c = rawSpawn('gnutls-cli', ['--insecure', '--sni-hostname', 'a.example', '-p', String(srv.port), '127.0.0.1'],
        { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      const { conn } = await served;
      t.equal(conn!.info.servername, 'a.example', 'gnutls-cli: SNI');
      const p = program(conn!);
      p.sock.resume();
      p.sock.end('hello gnutls\n');
      await new Promise((r) => c.once('close', r));
      await p.ended;
      t.match(out, 'hello gnutls\n', 'gnutls-cli: the program\'s bytes');
    }
    {
      const served = nextConn();
      const c = rawSpawn('curl', ['-sk', '--http1.1', '--max-time', '30', `https://127.0.0.1:${srv.port}/x`], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      const { conn } = await served;
      t.equal(conn!.info.alpn, 'http/1.1', 'curl: ALPN');
      const p = program(conn!);
      let req = '';
      p.sock.on('data', (d) => {
        req += d;
        if (req.includes('\r\n\r\n')) p.sock.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n');
      });
      const code = await new Promise((r) => c.once('close', r));
      await p.ended;
      t.equal(code, 0, 'curl: exit 0');
      t.match(req, /^GET \/x HTTP\/1\.1\r\n/, 'curl: the request reached the program');
      t.equal(out, 'ok\n', 'curl: the response');
    }
  });

  t.test('Node tls client: SNI, ALPN in the server\'s order, TLS 1.2 and 1.3, the relay both ways', async (t) => {
    b.configure({ ...base, alpn: ['http/1.1', 'h2'] });
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const served = nextConn();
      const s = await connect({ servername: 'a.example', ALPNProtocols: ['h2', 'http/1.1'], maxVersion });
      const { conn } = await served;
      t.equal(conn!.info.protocol, maxVersion);
      t.equal(conn!.info.alpn, 'http/1.1');
      t.equal(s.alpnProtocol, 'http/1.1');
      t.equal(cnOf(s.getPeerX509Certificate()!.raw), 'a.example');
      t.ok(conn!.info.cipherBits >= 128 && conn!.info.cipherAlgBits >= conn!.info.cipherBits);
      t.equal(conn!.info.cipher, s.getCipher().name, 'OpenSSL\'s name of the suite');
      if (maxVersion === 'TLSv1.2') t.match(conn!.info.sessionId, /^([0-9A-F]{64})?$/);
      const p = program(conn!);
      const got = readAll(p.sock);
      const back = readAll(s);
      s.end('from the client');
      t.equal((await got).toString(), 'from the client');
      p.sock.end('from the program');
      t.equal((await back).toString(), 'from the program');
      await p.ended;
    }
    // No protocol in common: the handshake fails on both sides (RFC 7301).
    const served = nextConn();
    await t.rejects(connect({ ALPNProtocols: ['spdy/1'] }));
    const { err } = await served;
    t.match(err?.message, /handshake/);
    // A lowest version above the client's highest.
    b.configure({ ...base, minVersion: 'TLSv1.3' });
    const refused = nextConn();
    await t.rejects(connect({ maxVersion: 'TLSv1.2' }), 'minVersion TLSv1.3: a TLS 1.2 client is refused');
    t.match((await refused).err?.message, /handshake: .*protocol/);
  });

  t.test('client certificates: request reports the verify result, require refuses', async (t) => {
    const ca = certs.ca.cert;
    const client = certs['client.example'];
    const intruder = certs['self:intruder.example'];
    b.configure({ ...base, ca, verify: 'request' });
    for (const [who, opts, result, der] of [
      ['a certificate the CA signed', { cert: client.cert, key: client.key }, 0, client.der],
      ['a self-signed one', { cert: intruder.cert, key: intruder.key }, 18, intruder.der],
      ['none', {}, 0, null],
    ] as const) {
      const served = nextConn();
      const s = await connect(opts);
      const { conn } = await served;
      t.equal(conn!.info.verifyResult, result, `${who}: verify result`);
      t.same(conn!.info.peerCert, der, `${who}: the certificate, DER`);
      conn!.drop();
      await readAll(s).catch(() => undefined);
    }
    b.configure({ ...base, ca, verify: 'require', verifyDepth: 2 });
    {
      const served = nextConn();
      const s = await connect({ cert: client.cert, key: client.key, maxVersion: 'TLSv1.2' });
      const { conn } = await served;
      t.equal(conn!.info.verifyResult, 0, 'require: a valid certificate passes');
      conn!.drop();
      s.destroy();
    }
    for (const [who, opts] of [['none', {}], ['a self-signed one', { cert: intruder.cert, key: intruder.key }]] as const) {
      const served = nextConn();
      // TLS 1.2: the client learns of the refusal within its handshake.
      await t.rejects(connect({ ...opts, maxVersion: 'TLSv1.2' }), `require, ${who}: the client is refused`);
      const { err } = await served;
      t.match(err?.message, /handshake/, `require, ${who}: the handshake failed on the server`);
    }
  });

  t.test('a key that does not match: an error naming the pair, the configuration in use stays', async (t) => {
    b.configure(base);
    const bad = { ...base, pairs: [pair('', certs['b.example']), { name: 'a.example', cert: certs['a.example'].cert, key: certs['b.example'].key }] };
    t.throws(() => b.configure(bad), /'a\.example'.*does not match/);
    t.throws(() => b.configure({ ...base, pairs: [{ name: '', cert: Buffer.from('not a PEM'), key: certs['b.example'].key }] }),
      /certificate of the default pair/);
    const served = nextConn();
    const s = await connect();
    const { conn } = await served;
    t.equal(cnOf(s.getPeerX509Certificate()!.raw), 'default.example', 'still the old default pair');
    conn!.drop();
    s.destroy();
  });

  t.test('configurations replaced while 40 handshakes run: each gets one whole pair, the next the last one', async (t) => {
    const one = { ...base, pairs: [pair('', certs['a.example'])] };
    const two = { ...base, pairs: [pair('', certs['b.example'])] };
    let seen = 0;
    onConn = (err, conn) => {
      if (err) t.fail(err.message);
      seen++;
      conn?.drop();
    };
    let flip = 0;
    const flipper = setInterval(() => b.configure(flip++ % 2 ? one : two), 1);
    const names = await Promise.all(Array.from({ length: 40 }, async () => {
      const s = await connect();
      const cn = cnOf(s.getPeerX509Certificate()!.raw);
      await readAll(s);  // until the server drops it
      return cn;
    }));
    clearInterval(flipper);
    t.ok(names.every((n) => n === 'a.example' || n === 'b.example'), 'every certificate one of the two');
    t.ok(flip > 1, 'the configuration changed meanwhile');
    await waitFor('every handshake reported', () => seen === 40);
    b.configure(two);
    const served = nextConn();
    const s = await connect();
    t.equal(cnOf(s.getPeerX509Certificate()!.raw), 'b.example');
    (await served).conn!.drop();
    s.destroy();
  });

  t.test('a client that stalls its handshake is dropped at the timeout; garbage and an oversized record are refused; others served', async (t) => {
    b.configure({ ...base, handshakeTimeoutMs: 300 });
    const errors: string[] = [];
    let good: TlsConnection | undefined;
    onConn = (err, conn) => {
      if (err) errors.push(err.message);
      else good = conn;
    };
    const stall = net.connect(srv.port, '127.0.0.1');
    const garbage = net.connect(srv.port, '127.0.0.1', () => garbage.write('GET / HTTP/1.0\r\n\r\n'));
    const closed = (s: net.Socket) => new Promise<void>((r) => { s.on('close', () => r()); s.on('error', () => undefined); s.resume(); });
    // A record longer than any TLS allows (2^14 + 2048): refused at its header.
    const huge = net.connect(srv.port, '127.0.0.1', () => huge.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(4096)])));
    const stallClosed = closed(stall), garbageClosed = closed(garbage), hugeClosed = closed(huge);
    await garbageClosed;
    await hugeClosed;
    const s = await connect();
    await waitFor('the good client', () => good);
    good!.drop();
    s.destroy();
    await stallClosed;
    await waitFor('the three failures reported', () => errors.length === 3);
    t.ok(errors.some((e) => /timed out/.test(e)), `the stalled one timed out: ${errors}`);
    t.ok(errors.some((e) => /handshake: .*http request/i.test(e)), `garbage: ${errors}`);
    t.ok(errors.some((e) => /handshake: .*(too long|overflow)/i.test(e)), `an oversized record: ${errors}`);
  });

  t.test('2,000 half-open handshakes held while another client is served; all freed at their timeout', async (t) => {
    b.configure({ ...base, handshakeTimeoutMs: 15_000 });
    const before = fdCount();
    // A real ClientHello's first bytes: a record header promising more than comes.
    const partial = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    let failures = 0;
    let good: TlsConnection | undefined;
    onConn = (err, conn) => {
      if (err) failures++;
      else good = conn;
    };
    const held: net.Socket[] = [];
    const closedAll: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      const s = net.connect(srv.port, '127.0.0.1', () => { if (i % 2) s.write(partial); });
      s.on('error', () => undefined);
      closedAll.push(new Promise((r) => s.on('close', () => r())));
      s.resume();
      held.push(s);
    }
    await waitFor('the 2,000 connected', () => held.every((s) => !s.connecting));
    const s = await connect({ servername: 'a.example' });
    await waitFor('the good client handshaken', () => good);
    t.equal(failures, 0, 'no half-open one has ended yet');
    const p = program(good!);
    const echo = readAll(s);
    p.sock.pipe(p.sock);
    s.end('served while 2,000 wait');
    t.equal((await echo).toString(), 'served while 2,000 wait');
    await p.ended;
    await Promise.all(closedAll);
    await waitFor('2,000 handshakes timed out', () => failures === 2000, 60_000);
    await waitFor('the descriptors back', () => fdCount() <= before, 10_000).catch(() => undefined);
    t.ok(fdCount() <= before, `no descriptor kept: ${fdCount()} now, ${before} before`);
  });

  t.test('no descriptor leaks: success, relay, drop, refusal, failure', async (t) => {
    b.configure({ ...base, alpn: ['x'] });
    onConn = (_err, conn) => conn?.drop();
    await connect().then((s) => readAll(s).catch(() => undefined));  // warm up
    // Counted once settled (the previous test's sockets may still be closing).
    let before = fdCount();
    for (let i = 0, same = 0; i < 100 && same < 5; i++) {
      await sleep(20);
      const n = fdCount();
      same = n === before ? same + 1 : 0;
      before = n;
    }
    for (let i = 0; i < 20; i++) {
      // dropped after the handshake
      const dropped = nextConn();
      const [ds, d] = await Promise.all([connect(), dropped]);
      d.conn!.drop();
      await readAll(ds).catch(() => undefined);
      // refused (no ALPN in common)
      const refused = nextConn();
      await connect({ ALPNProtocols: ['y'] }).catch(() => undefined);
      t.ok((await refused).err, 'refused');
      // relayed
      const served = nextConn();
      const s = await connect();
      const p = program((await served).conn!);
      p.sock.end('x');
      p.sock.resume();
      await readAll(s.end());
      await p.ended;
    }
    await waitFor('descriptors settled', () => fdCount() <= before, 5000).catch(() => undefined);
    t.ok(fdCount() <= before, `no descriptor kept: ${fdCount()} now, ${before} before`);
  });

  const MB = 50 * 1024 * 1024;
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  for (const first of ['client', 'program'] as const) {
    t.test(`50 MB both ways, byte for byte; the ${first} ends first and the other side still sends`, async (t) => {
      b.configure(base);
      const served = nextConn();
      const s = await connect({ allowHalfOpen: true } as tls.ConnectionOptions);
      const p = program((await served).conn!);
      const up = randomBytes(MB), down = randomBytes(MB);
      const atProgram = readAll(p.sock), atClient = readAll(s);
      const send = (sock: net.Socket, data: Buffer) => new Promise<void>((r) => sock.end(data, () => r()));
      if (first === 'client') {
        await send(s, up);
        t.equal(sha(await atProgram), sha(up), 'the program got all, then end of file');
        await send(p.sock, down);
      } else {
        await send(p.sock, down);
        t.equal(sha(await atClient), sha(down), 'the client got all, then close_notify');
        await send(s, up);
      }
      t.equal(sha(await atProgram), sha(up), 'client to program');
      t.equal(sha(await atClient), sha(down), 'program to client');
      await p.ended;
    });
  }

  t.test('the relay with a program that exits: the client gets its output and the end', async (t) => {
    b.configure(base);
    const served = nextConn();
    const s = await connect();
    const { conn } = await served;
    const [mine, theirs] = addon!.socketPair!();
    let ended = false;
    conn!.relay(mine, () => (ended = true));
    const child = rawSpawn('sh', ['-c', 'echo started; head -c 5; echo; echo done'], { stdio: [theirs, theirs, 'ignore'] });
    const exited = new Promise((r) => child.once('exit', r));
    require('node:fs').closeSync(theirs);
    const got = readAll(s);
    s.write('12345 and more that nobody reads');
    t.equal((await got).toString(), 'started\n12345\ndone\n');
    await exited;
    await waitFor('the relay ended', () => ended);
    s.destroy();
    await sleep(0);
  });
}
