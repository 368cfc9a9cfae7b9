// sslserver under clients that are not what they should be: old protocol
// versions, renegotiation, a stalled handshake, garbage and oversized
// records in place of a ClientHello, thousands of half-open handshakes; and
// the other TLS clients (gnutls-cli, curl), client certificates (-m, -z).
// Every other client must go on being served.
import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseEnv, startServer } from './helpers/net';
import { ours, scratch, waitFor } from './helpers/common';
import { CURL, GNUTLS, OPENSSL, type Ca, makeCa, makeCert, runTool, sClient, tlsTalk } from './helpers/tls';

const SSLSERVER = ours('sslserver');
const tmp = scratch('tls-safety');
const noOpenssl = OPENSSL ? false : 'openssl not installed (package openssl)';

let ca: Ca;
let pair: { cert: string; key: string };
t.before(() => {
  if (!OPENSSL) return;
  ca = makeCa(tmp('ca'));
  pair = makeCert(ca, 'server', '/CN=server.example', ['server.example']);
});

const env = () => ({ PATH: '/usr/bin:/bin', CERTFILE: pair.cert, KEYFILE: pair.key, ...(process.env.UCSPI_TLS_BACKEND ? { UCSPI_TLS_BACKEND: process.env.UCSPI_TLS_BACKEND } : {}) });

/** Raw TCP: connect, write bytes, read until closed (bounded): what came back, and whether it closed. */
function raw(port: number, bytes: Buffer, ms = 10_000): Promise<{ got: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => { s.destroy(); resolve({ got: Buffer.concat(chunks), closed: false }); }, ms);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(t); resolve({ got: Buffer.concat(chunks), closed: true }); });
  });
}

t.test('TLS 1.2 at least: 1.1 and 1.0 refused, 1.2 served; 1.3 by default', { skip: noOpenssl }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-s', '-HRl0', '127.0.0.1', '0', 'sh', '-c', 'echo $SSL_PROTOCOL'], env());
  try {
    t.equal((await tlsTalk(srv.port)).data, 'TLSv1.3\n');
    // (TLS 1.2 has no half-close: the client keeps its side open until the server closes.)
    t.equal((await tlsTalk(srv.port, { maxVersion: 'TLSv1.2', keepOpen: true })).data, 'TLSv1.2\n');
    const r12 = await sClient(srv.port, ['-ign_eof', '-tls1_2'], '');
    t.match(r12.err, /Protocol version: TLSv1\.2/);
    t.equal(r12.out, 'TLSv1.2\n');
    for (const v of ['TLSv1.1', 'TLSv1'] as const) {
      const r = await tlsTalk(srv.port, { minVersion: v, maxVersion: v, ciphers: 'DEFAULT:@SECLEVEL=0' });
      t.not(r.error, '', `${v} refused`);
      t.equal(r.data, '', `${v}: no program`);
    }
    t.equal((await tlsTalk(srv.port)).data, 'TLSv1.3\n', 'still serving');
  } finally {
    await srv.stop();
  }
});

t.test('renegotiation is refused; the connection and the server go on', { skip: noOpenssl }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-HRl0', '127.0.0.1', '0', 'cat'], env());
  try {
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ port: srv.port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => {
        s.write('one\n');
        s.once('data', () => {
          const ok = s.renegotiate({ rejectUnauthorized: false }, (err) => {
            s.destroy();
            resolve(err ? 'refused' : 'renegotiated');
          });
          if (!ok) { s.destroy(); resolve('refused'); }
        });
      });
      s.on('error', () => resolve('refused'));
      setTimeout(() => { s.destroy(); resolve('refused (no answer)'); }, 10_000);
    });
    t.match(outcome, /^refused/);
    t.equal((await tlsTalk(srv.port, { send: 'two\n' })).data, 'two\n', 'the next client is served');
  } finally {
    await srv.stop();
  }
});

t.test('-T: a client that stalls its handshake holds its slot no longer', { skip: noOpenssl }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-c1', '-T1', '-HRl0', '127.0.0.1', '0', 'echo', 'hi'], env());
  try {
    const staller = net.connect({ port: srv.port, host: '127.0.0.1' });
    staller.on('error', () => {});
    const closed = new Promise<void>((r) => staller.on('close', () => r()));
    await new Promise((r) => staller.on('connect', r));
    // The only slot is the staller's until -T ends it; then this client is served.
    t.equal((await tlsTalk(srv.port, { ms: 20_000 })).data, 'hi\n');
    await closed;
    t.match(srv.stderr(), /sslserver: warning: dropping connection, unable to accept SSL: handshake timed out/);
  } finally {
    await srv.stop();
  }
});

t.test('garbage and an oversized record instead of a ClientHello: dropped, no program, others served', { skip: noOpenssl }, async (t) => {
  const marker = path.join(tmp('marker'), 'started');
  const srv = await startServer(SSLSERVER, ['-HRl0', '127.0.0.1', '0', 'sh', '-c', `echo x >> ${marker}; echo hi`], env());
  try {
    const http = await raw(srv.port, Buffer.from('GET / HTTP/1.0\r\nHost: x\r\n\r\n'));
    t.ok(http.closed, 'plain HTTP: closed');
    t.notOk(http.got.includes('hi'), 'no program output');
    // A handshake record claiming 65535 bytes (more than 2^14 + 2048): record_overflow.
    const big = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(20000, 0x41)]);
    const over = await raw(srv.port, big);
    t.ok(over.closed, 'oversized record: closed');
    t.ok(over.got.length === 0 || over.got[0] === 0x15, 'an alert or nothing');
    const zeros = await raw(srv.port, Buffer.alloc(4096));
    t.ok(zeros.closed, 'zeros: closed');
    t.notOk(existsSync(marker), 'no program was started for them');
    t.equal((await tlsTalk(srv.port)).data, 'hi\n');
    t.equal(readFileSync(marker, 'utf8'), 'x\n');
  } finally {
    await srv.stop();
  }
});

t.test('2000 half-open handshakes: another client is served meanwhile, and they are all let go', { skip: noOpenssl }, async (t) => {
  const N = 2000;
  const srv = await startServer(SSLSERVER, ['-c', String(N + 10), '-b', '1024', '-T', '60', '-HRl0', '127.0.0.1', '0', 'echo', 'hi'], env(), 20_000);
  const socks: net.Socket[] = [];
  try {
    // The first bytes of a ClientHello record, never the rest.
    const partial = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    let connected = 0;
    for (let i = 0; i < N; i++) {
      const s = net.connect({ port: srv.port, host: '127.0.0.1' });
      s.on('error', () => {});
      s.on('connect', () => { connected++; s.write(partial); });
      socks.push(s);
      if (i % 200 === 199) await waitFor('connections', () => connected > i - 100, 30_000);
    }
    await waitFor('every half-open client connected', () => connected === N, 30_000);
    await waitFor('the server holding them', () => /status: /.test(srv.stderr()) || true);
    t.equal((await tlsTalk(srv.port, { ms: 30_000 })).data, 'hi\n', 'served while 2000 handshakes hang');
    for (const s of socks) s.destroy();
    t.equal((await tlsTalk(srv.port, { ms: 30_000 })).data, 'hi\n', 'and after');
  } finally {
    for (const s of socks) s.destroy();
    await srv.stop();
  }
});

t.test('-w: a connection idle that long is closed, the program\'s socket with it; -B: the banner over TLS first', { skip: noOpenssl }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-w1', '-B', 'hello ', '-HRl0', '127.0.0.1', '0', 'sh', '-c',
    'echo start; read x; echo "got $x"'], env());
  try {
    // The program waits for a line that never comes: after -w without
    // traffic the connection is dropped (as ucspi-ssl's relay gives up), the
    // program's socket closed (it reads end of file).
    const r = await tlsTalk(srv.port, { keepOpen: true, ms: 20_000 });
    t.equal(r.data, 'hello start\n');
    t.not(r.error, 'timed out', 'closed by the server, not by the test');
  } finally {
    await srv.stop();
  }
});

t.test('gnutls-cli and curl as clients', { skip: noOpenssl }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-s', '-HRl0', '127.0.0.1', '0', 'sh', '-c',
    'read line; printf "HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s %s\\n" "$SSL_PROTOCOL" "$SSLREMOTEIP"'], env());
  try {
    t.test('gnutls-cli', { skip: GNUTLS ? false : 'gnutls-cli not installed (package gnutls-bin)' }, async (t) => {
      const r = await runTool(GNUTLS!, ['--insecure', '--port', String(srv.port), '127.0.0.1'], 'GET /\r\n');
      t.match(r.out, /TLSv1\.3 127\.0\.0\.1/);
    });
    t.test('curl', { skip: CURL ? false : 'curl not installed (package curl)' }, async (t) => {
      const r = await runTool(CURL!, ['-sS', '-k', '--max-time', '10', `https://127.0.0.1:${srv.port}/`], '');
      t.equal(r.out, 'TLSv1.3 127.0.0.1\n');
    });
  } finally {
    t.teardown(() => srv.stop());
  }
});

t.test('-m: a client certificate required and verified; -z: and its name checked', { skip: noOpenssl }, async (t) => {
  const client = makeCert(ca, 'client', '/C=DE/O=Clients/CN=alice', ['alice.example'], true);
  const otherCa = makeCa(tmp('otherca'), 'Other CA');
  const stranger = makeCert(otherCa, 'stranger', '/CN=stranger', [], true);
  const marker = path.join(tmp('marker'), 'started');
  const srv = await startServer(SSLSERVER, ['-m', '-s', '-HRl0', '127.0.0.1', '0', 'sh', '-c',
    `echo x >> ${marker}; env`], { ...env(), CAFILE: ca.cert });
  try {
    const ok = await tlsTalk(srv.port, { cert: readFileSync(client.cert), key: readFileSync(client.key) });
    const e = parseEnv(ok.data);
    t.equal(e.SSL_CLIENT_S_DN, '/C=DE/O=Clients/CN=alice');
    t.equal(e.SSL_CLIENT_S_DN_CN, 'alice');
    t.equal(e.SSL_CLIENT_S_DN_O, 'Clients');
    t.equal(e.SSL_CLIENT_I_DN, '/CN=Test CA');
    t.equal(e.SSL_CLIENT_VERIFY, 'SUCCESS');
    t.match(e.SSL_PEER_CERT_HASH, /^sha256:[0-9a-f]{64}$/);
    t.match(e.SSL_CLIENT_M_SERIAL, /^[0-9A-F]+$/);
    t.match(e.SSL_CLIENT_V_END, /GMT$/);
    const none = await tlsTalk(srv.port, { send: 'x' });
    t.equal(none.data, '', 'no certificate: no program');
    const bad = await tlsTalk(srv.port, { cert: readFileSync(stranger.cert), key: readFileSync(stranger.key), send: 'x' });
    t.equal(bad.data, '', 'a certificate of another CA: no program');
    t.equal(readFileSync(marker, 'utf8'), 'x\n', 'one program: the valid client\'s');
  } finally {
    await srv.stop();
  }
});

// openssl s_time -new: a full handshake, then the socket closed at once (an
// RST when the session tickets are unread). Every such connection must end
// its program and give its -c slot back: under -c 5, a leak stops the server.
t.test('handshake then close, hundreds of times under -c 5: every program ends, the server keeps serving', { skip: noOpenssl }, async (t) => {
  const srv = await startServer(SSLSERVER, ['-v', '-c', '5', '-HRl0', '127.0.0.1', '0', '/bin/cat'], env());
  try {
    const r = await runTool(OPENSSL!, ['s_time', '-connect', `127.0.0.1:${srv.port}`, '-new', '-time', '2'], '', 20_000);
    const made = Number(/(\d+) connections in/.exec(r.out)?.[1] ?? 0);
    t.ok(made >= 20, `s_time made ${made} connections`);
    const count = (re: RegExp) => (srv.stderr().match(re) ?? []).length;
    await waitFor('every program ended', () => count(/ end \d+ status/g) === count(/ pid \d+ from /g), 15_000);
    const after = await tlsTalk(srv.port, { ms: 10_000, send: 'ping\n' });
    t.equal(after.data, 'ping\n', 'a client after them is served');
  } finally {
    await srv.stop();
  }
});
