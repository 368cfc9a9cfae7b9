// Kernel TLS's parameters, tested without the kernel's "tls" module: the
// records between a Node tls client and the native backend are captured on
// the wire (a TCP proxy between them) and decrypted here with node:crypto,
// using exactly the key, salt, iv and rec_seq of the crypto_info structs that
// setsockopt(SOL_TLS, TLS_TX / TLS_RX) would get. The records that follow the
// handshake must open with consecutive sequence numbers from rec_seq on, and
// their plaintext must be what the program and the client sent.
import t, { type Test } from 'tap';
import { createDecipheriv, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { TlsConnection } from '../src/tls/backend';
import type { KtlsParams, NativeTlsConfig, NativeTlsConnection } from '../src/tls/native';
import { scratch } from './helpers/common';
import { backend, makeCerts, program, serve, skipNative } from './helpers/tlsnative';

t.setTimeout(300_000);

interface Keys { version: number; type: number; key: Buffer; salt: Buffer; iv: Buffer; seq: bigint }

/** linux/tls.h's tls12_crypto_info_{aes_gcm_128, aes_gcm_256, chacha20_poly1305}, read back. */
function parse(t: Test, b: Buffer): Keys {
  const le = os.endianness() === 'LE';
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const version = u16(0), type = u16(2);
  if (type === 51 || type === 52) {
    const kl = type === 51 ? 16 : 32;
    t.equal(b.length, 4 + 8 + kl + 4 + 8, 'the struct\'s size');
    return { version, type, iv: b.subarray(4, 12), key: b.subarray(12, 12 + kl), salt: b.subarray(12 + kl, 16 + kl),
      seq: b.readBigUInt64BE(16 + kl) };
  }
  t.equal(type, 54, 'ChaCha20-Poly1305');
  t.equal(b.length, 4 + 12 + 32 + 8, 'the struct\'s size');
  return { version, type, iv: b.subarray(4, 16), key: b.subarray(16, 48), salt: Buffer.alloc(0), seq: b.readBigUInt64BE(48) };
}

interface Record { type: number; body: Buffer; header: Buffer }

function records(stream: Buffer): Record[] {
  const out: Record[] = [];
  for (let o = 0; o + 5 <= stream.length;) {
    const len = stream.readUInt16BE(o + 3);
    out.push({ type: stream[o], header: stream.subarray(o, o + 5), body: stream.subarray(o + 5, o + 5 + len) });
    o += 5 + len;
  }
  return out;
}

/** One record opened with k at sequence number seq: [inner content type, plaintext], or null when it does not open. */
function open(k: Keys, r: Record, seq: bigint): [number, Buffer] | null {
  const alg = k.type === 51 ? 'aes-128-gcm' : k.type === 52 ? 'aes-256-gcm' : 'chacha20-poly1305';
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(seq);
  let nonce: Buffer, body = r.body, aad: Buffer;
  if (body.length < 16 + (k.version === 0x0303 && k.type !== 54 ? 8 : 0)) return null;  // a plaintext handshake message
  const xorNonce = (base: Buffer) => {
    const n = Buffer.from(base);
    for (let i = 0; i < 8; i++) n[4 + i] ^= seqBytes[i];
    return n;
  };
  if (k.version === 0x0304) {
    nonce = xorNonce(Buffer.concat([k.salt, k.iv]));  // 12 bytes either way
    aad = r.header;
  } else {
    if (k.type === 54) nonce = xorNonce(k.iv);
    else {
      nonce = Buffer.concat([k.salt, body.subarray(0, 8)]);  // the explicit nonce leads the record
      body = body.subarray(8);
    }
    const plainLen = Buffer.alloc(2);
    plainLen.writeUInt16BE(body.length - 16);
    aad = Buffer.concat([seqBytes, r.header.subarray(0, 3), plainLen]);
  }
  try {
    const d = createDecipheriv(alg as 'aes-128-gcm', k.key, nonce, { authTagLength: 16 });
    d.setAAD(aad, { plaintextLength: body.length - 16 });
    d.setAuthTag(body.subarray(body.length - 16));
    const p = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
    if (k.version !== 0x0304) return [r.type, p];
    let end = p.length - 1;
    while (end >= 0 && p[end] === 0) end--;  // TLS 1.3's padding, then the inner type
    return [p[end], p.subarray(0, end)];
  } catch {
    return null;
  }
}

/**
 * Opens the records of one direction from the first one that opens at
 * k.seq on: every later one at the next number. The application data's
 * plaintext, and how many records came before the first.
 */
function decrypt(k: Keys, stream: Buffer): { data: Buffer; before: number; previous: [number, Buffer] | null } {
  const recs = records(stream).filter((r) => r.type === 23 || r.type === 22 || r.type === 21);
  let i = recs.findIndex((r) => open(k, r, k.seq) !== null);
  if (i < 0) return { data: Buffer.alloc(0), before: -1, previous: null };
  const parts: Buffer[] = [];
  const previous = i > 0 && k.seq > 0n ? open(k, recs[i - 1], k.seq - 1n) : null;
  const before = i;
  for (let seq = k.seq; i < recs.length; i++, seq++) {
    const o = open(k, recs[i], seq);
    if (!o) throw new Error(`record ${i} does not open at sequence number ${seq}`);
    if (o[0] === 23) parts.push(o[1]);
    else if (o[0] === 21) break;  // close_notify
    else throw new Error(`record ${i} (sequence number ${seq}) holds content type ${o[0]}, not application data`);
  }
  return { data: Buffer.concat(parts), before, previous };
}

if (skipNative) {
  t.pass(`skipped: ${skipNative}`);
} else {
  const dir = scratch('tls-ktls')('certs');
  const certs = makeCerts(dir, ['server.example']);
  const b = backend!;
  let onConn: (err: Error | null, conn?: TlsConnection) => void = () => {};
  const srv = serve((err, conn) => onConn(err, conn));
  t.teardown(() => srv.close());

  // A proxy keeping every byte each way.
  const proxy = net.createServer({ allowHalfOpen: true }, (c) => {
    const up = net.connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
    const cap = { toServer: [] as Buffer[], toClient: [] as Buffer[] };
    captures.push(cap);
    c.on('data', (d: Buffer) => { cap.toServer.push(d); up.write(d); });
    up.on('data', (d: Buffer) => { cap.toClient.push(d); c.write(d); });
    c.on('end', () => up.end());
    up.on('end', () => c.end());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  const captures: Array<{ toServer: Buffer[]; toClient: Buffer[] }> = [];
  t.before(() => new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r())));
  t.teardown(() => proxy.close());

  const suites: Array<[string, tls.ConnectionOptions, number]> = [
    ['TLS 1.3 AES-128-GCM', { maxVersion: 'TLSv1.3', minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' }, 51],
    ['TLS 1.3 AES-256-GCM', { maxVersion: 'TLSv1.3', minVersion: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384' }, 52],
    ['TLS 1.3 ChaCha20-Poly1305', { maxVersion: 'TLSv1.3', minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }, 54],
    ['TLS 1.2 AES-128-GCM', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, 51],
    ['TLS 1.2 AES-256-GCM', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }, 52],
    ['TLS 1.2 ChaCha20-Poly1305', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }, 54],
  ];
  for (const [name, opts, cipherType] of suites) {
    t.test(name, async (t) => {
      const cfg: NativeTlsConfig = {
        pairs: [{ name: '', cert: certs['server.example'].cert, key: certs['server.example'].key }],
        verify: 'none', minVersion: 'TLSv1.2', alpn: [], handshakeTimeoutMs: 10_000, ktls: true,
        ciphersuites: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
      };
      b.configure(cfg);
      const served = new Promise<NativeTlsConnection>((resolve, reject) => {
        onConn = (err, conn) => (err ? reject(err) : resolve(conn as NativeTlsConnection));
      });
      const n = captures.length;
      const s = tls.connect({ host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port, rejectUnauthorized: false, ...opts });
      s.on('error', () => undefined);
      const conn = await served;
      const k: KtlsParams | undefined = conn.info.ktls;
      t.ok(k, 'the parameters are there');
      t.equal(k!.cipherType, cipherType);
      t.equal(k!.version, opts.maxVersion === 'TLSv1.3' ? 0x0304 : 0x0303);
      // This machine's kernel has no "tls" ULP: the socket stays ours (relay).
      const ulp = readFileSync('/proc/sys/net/ipv4/tcp_available_ulp', 'utf8').split(/\s+/).includes('tls');
      if (!ulp) t.ok(conn.info.kernel! < 0 && conn.kernelFd === null, `the kernel refused (${conn.info.kernel}): the relay serves`);
      const down = randomBytes(70_000), up = randomBytes(50_000);
      const atClient: Buffer[] = [];
      s.on('data', (d: Buffer) => atClient.push(d));
      const clientEnd = new Promise((r) => s.once('end', r));
      let ended: Promise<unknown>;
      let atProgram: Promise<Buffer>;
      if (conn.kernelFd !== null) {
        const sock = new net.Socket({ fd: conn.kernelFd, allowHalfOpen: true });
        const parts: Buffer[] = [];
        sock.on('data', (d: Buffer) => parts.push(d));
        atProgram = new Promise((r) => sock.once('end', () => r(Buffer.concat(parts))));
        sock.write(down.subarray(0, 1000));
        sock.end(down.subarray(1000));
        ended = atProgram;
      } else {
        const p = program(conn);
        const parts: Buffer[] = [];
        p.sock.on('data', (d: Buffer) => parts.push(d));
        atProgram = new Promise((r) => p.sock.once('end', () => r(Buffer.concat(parts))));
        p.sock.write(down.subarray(0, 1000));
        p.sock.end(down.subarray(1000));
        ended = p.ended;
      }
      s.end(up);
      t.same(await atProgram, up, 'the program got the client\'s bytes');
      await clientEnd;
      t.same(Buffer.concat(atClient), down, 'the client got the program\'s bytes');
      await ended;
      await new Promise((r) => setTimeout(r, 50));  // the proxy's last reads
      const cap = captures[n];
      const tx = parse(t, k!.tx), rx = parse(t, k!.rx);
      t.equal(tx.version, k!.version);
      const toClient = decrypt(tx, Buffer.concat(cap.toClient));
      t.ok(toClient.before > 0, `TX: the first record at rec_seq ${tx.seq} follows the handshake's`);
      t.same(toClient.data, down, `TX: the records from rec_seq ${tx.seq} on hold the program's bytes, in order`);
      const toServer = decrypt(rx, Buffer.concat(cap.toServer));
      t.same(toServer.data, up, `RX: the records from rec_seq ${rx.seq} on hold the client's bytes, in order`);
      if (k!.version === 0x0303) {
        // TLS 1.2: Finished was the first record under these keys, each way.
        t.equal(tx.seq, 1n);
        t.equal(rx.seq, 1n);
        t.equal(toClient.previous?.[0], 22, 'TX: the record before opens at rec_seq - 1: the Finished');
        t.equal(toServer.previous?.[0], 22, 'RX: the record before opens at rec_seq - 1: the Finished');
      } else {
        t.equal(rx.seq, 0n, 'RX: TLS 1.3, nothing under the client\'s application keys before');
        t.equal(tx.seq, 1n, 'TX: TLS 1.3, one session ticket before');
        t.equal(toClient.previous?.[0], 22, 'TX: the record before opens at rec_seq - 1: the ticket');
      }
      s.destroy();
    });
  }
}
