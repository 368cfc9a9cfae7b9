// The PROXY protocol header parser and reader (src/listen/proxy.ts), without
// sockets: every header form, broken ones, and delivery in every split, with
// and without a peek, checking that no byte after the header is ever taken.
import t from 'tap';
import { constants } from 'node:os';
import {
  HeaderReader, type HeaderSource, type ProxyHeader, V1_MAX, V2_MAX, crc32c, looksLikeHeader, parseHeader, parseTrust,
  scanHeader,
} from '../src/listen/proxy';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const EAGAIN = -constants.errno.EAGAIN;

function tlv(type: number, value: Buffer | string): Buffer {
  const v = Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1');
  const h = Buffer.alloc(3);
  h[0] = type;
  h.writeUInt16BE(v.length, 1);
  return Buffer.concat([h, v]);
}

function v2(cmd: number, fam: number, addr: Buffer, ...tlvs: Buffer[]): Buffer {
  const body = Buffer.concat([addr, ...tlvs]);
  const h = Buffer.alloc(4);
  h[0] = 0x20 | cmd;
  h[1] = fam;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIG, h, body]);
}

function addr4(src: string, dst: string, sp: number, dp: number): Buffer {
  const b = Buffer.alloc(12);
  src.split('.').forEach((x, i) => { b[i] = Number(x); });
  dst.split('.').forEach((x, i) => { b[4 + i] = Number(x); });
  b.writeUInt16BE(sp, 8);
  b.writeUInt16BE(dp, 10);
  return b;
}

function addr6(src: string, dst: string, sp: number, dp: number): Buffer {
  const b = Buffer.alloc(36);
  Buffer.from(src, 'hex').copy(b, 0);
  Buffer.from(dst, 'hex').copy(b, 16);
  b.writeUInt16BE(sp, 32);
  b.writeUInt16BE(dp, 34);
  return b;
}

/** The whole header, parsed in one go. */
function parse(b: Buffer): ProxyHeader | string {
  const s = scanHeader(b, b.length);
  if (s.state !== 'done') return s.state === 'bad' ? s.why : `incomplete (${s.need} more)`;
  return parseHeader(b, s.length);
}

/**
 * A socket's queue, delivering at most `chunk` new bytes per readable event;
 * pos is how far the reader took. peek: whether MSG_PEEK is offered.
 */
function fakeSocket(data: Buffer, chunk: number, peek: boolean) {
  let arrived = 0, pos = 0, maxAsked = 0;
  const read = (buf: Buffer, off: number, len: number, keep: boolean): number => {
    if (pos >= arrived) return arrived >= data.length ? 0 : EAGAIN;
    const n = Math.min(len, arrived - pos);
    data.copy(buf, off, pos, pos + n);
    if (!keep) pos += n;
    return n;
  };
  const src: HeaderSource = {
    read: (b, o, l) => { maxAsked = Math.max(maxAsked, pos + l); return read(b, o, l, false); },
  };
  if (peek) src.peek = (b, o, l) => read(b, o, l, true);
  return {
    src,
    arrive() { arrived = Math.min(data.length, arrived + chunk); },
    get pos() { return pos; },
    /** Without a peek: the furthest a read ever asked to go. */
    get maxAsked() { return maxAsked; },
    get all() { return arrived >= data.length; },
  };
}

function readAll(data: Buffer, chunk: number, peek: boolean) {
  const sock = fakeSocket(data, chunk, peek);
  const reader = new HeaderReader(sock.src, (neg) => Object.assign(new Error(`errno ${neg}`), { errno: neg }));
  for (let events = 0; events < 10_000; events++) {
    sock.arrive();
    const st = reader.step();
    if ('wait' in st) {
      if (sock.all) return { st: { error: 'waits with everything there' }, sock };
      continue;
    }
    return { st, sock };
  }
  throw new Error('reader never finished');
}

t.test('v1 TCP4, TCP6 and UNKNOWN', async (t) => {
  t.match(parse(Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n')),
    { version: 1, proxied: true, v6: false, remoteIp: '192.0.2.1', remotePort: 56324, localIp: '198.51.100.7', localPort: 443 });
  t.match(parse(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8:0:0:0:0:0:2 1 65535\r\n')),
    { proxied: true, v6: true, remoteIp: '2001:db8::1', remotePort: 1, localIp: '2001:db8::2', localPort: 65535 });
  t.match(parse(Buffer.from('PROXY TCP6 ::ffff:10.1.2.3 ::1 7 8\r\n')),
    { proxied: true, v6: false, remoteIp: '10.1.2.3', localIp: '::1' }, 'IPv4-mapped clients are IPv4 clients');
  t.match(parse(Buffer.from('PROXY UNKNOWN\r\n')), { version: 1, proxied: false });
  t.match(parse(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')), { proxied: false }, 'UNKNOWN ignores the rest');
});

t.test('v1: malformed headers are refused', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['PROXY TCP4 192.0.2.1 198.51.100.7 56324\r\n', /number of fields/],
    ['PROXY TCP4 192.0.2.1 198.51.100.7 56324 443 9\r\n', /number of fields/],
    ['PROXY TCP4 192.0.2.256 198.51.100.7 1 2\r\n', /IPv4/],
    ['PROXY TCP4 2001:db8::1 198.51.100.7 1 2\r\n', /IPv4/],
    ['PROXY TCP6 192.0.2.1 ::1 1 2\r\n', /IPv6/],
    ['PROXY TCP4 192.0.2.1 198.51.100.7 65536 2\r\n', /port/],
    ['PROXY TCP4 192.0.2.1 198.51.100.7 01 2\r\n', /port/],
    ['PROXY TCP4 192.0.2.1 198.51.100.7 -1 2\r\n', /port/],
    ['PROXY TCP4  192.0.2.1 198.51.100.7 1 2\r\n', /number of fields/],
    ['PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n', /unknown protocol/],
    ['PROXY TCP4 192.0.2.1 198.51.100.7 1 2\n', /LF without CR/],
    ['PROXY TCP4 192.0.2.1\r198.51.100.7 1 2\r\n', /CR without LF/],
    ['PROXY TCP4 192.0.2.1 198.51.100.7 1 2\x01\r\n', /printable/],
    ['proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n', /not a PROXY header/],
    ['PROXYTCP4 192.0.2.1 198.51.100.7 1 2\r\n', /not a PROXY header/],
    ['GET / HTTP/1.0\r\n\r\n', /not a PROXY header/],
    ['\x00\x01\x02', /not a PROXY header/],
  ];
  for (const [text, why] of cases) t.match(parse(Buffer.from(text, 'latin1')), why, JSON.stringify(text));
});

t.test('v1: at most 107 bytes, CRLF included', async (t) => {
  const fill = (n: number) => Buffer.from('PROXY UNKNOWN ' + 'x'.repeat(n - 16) + '\r\n');
  t.equal(fill(V1_MAX).length, V1_MAX);
  t.match(parse(fill(V1_MAX)), { proxied: false }, '107 bytes are taken');
  t.match(parse(fill(V1_MAX + 1)), /longer than 107/, '108 are oversize');
  t.match(scanHeader(Buffer.from('PROXY UNKNOWN ' + 'x'.repeat(200)), 214), { state: 'bad' }, 'no CRLF in sight');
});

t.test('v2 PROXY over IPv4 and IPv6, and LOCAL', async (t) => {
  t.match(parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 56324, 443))),
    { version: 2, proxied: true, v6: false, remoteIp: '192.0.2.1', remotePort: 56324, localIp: '198.51.100.7', localPort: 443, env: [] });
  t.match(parse(v2(1, 0x21, addr6('20010db8000000000000000000000001', '20010db8000000000000000000000002', 1234, 25))),
    { proxied: true, v6: true, remoteIp: '2001:db8::1', remotePort: 1234, localIp: '2001:db8::2', localPort: 25 });
  t.match(parse(v2(1, 0x21, addr6('00000000000000000000ffff7f000005', '00000000000000000000000000000001', 9, 10))),
    { proxied: true, v6: false, remoteIp: '127.0.0.5' }, 'IPv4-mapped source');
  t.match(parse(v2(0, 0x00, Buffer.alloc(0))), { version: 2, proxied: false }, 'LOCAL: a health check');
  t.match(parse(v2(0, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2))), { proxied: false },
    'LOCAL keeps the socket\'s addresses even with an address block');
  t.match(parse(v2(1, 0x00, Buffer.alloc(0))), { proxied: false }, 'UNSPEC: the socket\'s addresses');
  t.match(parse(v2(1, 0x31, Buffer.alloc(216))), { proxied: false }, 'AF_UNIX: the socket\'s addresses');
});

t.test('v2: TLVs as variables', async (t) => {
  const ssl = Buffer.concat([Buffer.from([0x07, 0, 0, 0, 0]), tlv(0x21, 'TLSv1.3'), tlv(0x22, 'client.example'),
    tlv(0x23, 'TLS_AES_128_GCM_SHA256')]);
  const h = parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2),
    tlv(0x02, 'mail.example.org'), tlv(0x05, 'req-42'), tlv(0x01, 'h2'), tlv(0x04, 'padding'),
    tlv(0x20, ssl), tlv(0xe0, 'custom'), tlv(0x30, 'blue')));
  t.same(typeof h === 'string' ? h : h.env, [
    'PROXY_AUTHORITY=mail.example.org', 'PROXY_UNIQUE_ID=req-42', 'PROXY_ALPN=h2',
    'PROXY_SSL=1', 'PROXY_SSL_VERIFIED=1', 'PROXY_SSL_VERSION=TLSv1.3', 'PROXY_SSL_CN=client.example',
    'PROXY_SSL_CIPHER=TLS_AES_128_GCM_SHA256', 'PROXY_NETNS=blue',
  ]);
  const nul = parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), tlv(0x05, Buffer.from([0x61, 0, 0x62]))));
  t.same(typeof nul === 'string' ? nul : nul.env, [], 'a value with a NUL is left out');
  const bytes = parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), tlv(0x02, Buffer.from([0xc3, 0xa9]))));
  t.same(typeof bytes === 'string' ? bytes : bytes.env, ['PROXY_AUTHORITY=\xc3\xa9'], 'bytes pass as bytes');
  t.match(parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), tlv(0x20, Buffer.from([1, 0, 0, 0, 1])))),
    { env: ['PROXY_SSL=1'] }, 'SSL, certificate not verified');
});

t.test('v2: CRC32C checked when sent', async (t) => {
  t.equal(crc32c(Buffer.from('123456789'), 9), 0xe3069283, 'the standard check value');
  const h = v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), tlv(0x03, Buffer.alloc(4)), tlv(0x02, 'a.example'));
  const at = 16 + 12 + 3;
  h.writeUInt32BE(crc32c(h, h.length, at), at);
  t.match(parse(h), { proxied: true, env: ['PROXY_AUTHORITY=a.example'] });
  h[h.length - 1] ^= 1;
  t.match(parse(h), /CRC32C mismatch/);
});

t.test('v2: malformed, truncated and oversize headers are refused', async (t) => {
  const good = v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2));
  const version1 = Buffer.from(good); version1[12] = 0x11;
  t.match(parse(version1), /version 1/);
  const cmd = Buffer.from(good); cmd[12] = 0x22;
  t.match(parse(cmd), /unknown command/);
  const fam = Buffer.from(good); fam[13] = 0x41;
  t.match(parse(fam), /unknown address family/);
  const sig = Buffer.from(good); sig[7] = 0x52;
  t.match(parse(sig), /not a PROXY header/);
  t.match(parse(v2(1, 0x21, addr4('192.0.2.1', '198.51.100.7', 1, 2))), /address block truncated/, 'IPv6 with an IPv4 block');
  t.match(parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), Buffer.from([0x02, 0x00]))), /truncated TLV/);
  t.match(parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), Buffer.from([0x02, 0x00, 0x09, 0x41]))),
    /TLV overruns/);
  t.match(parse(v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), tlv(0x20, Buffer.from([1, 0])))), /SSL TLV too short/);
  const big = v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2), tlv(0x04, Buffer.alloc(V2_MAX)));
  t.match(scanHeader(big, 16), { state: 'bad', why: /more than/ }, 'oversize is refused from its first 16 bytes');
  t.match(scanHeader(good, 15), { state: 'more', need: 1 });
  t.match(scanHeader(good, 20), { state: 'more', need: good.length - 20 });
});

t.test('looksLikeHeader tells a header from other bytes', async (t) => {
  t.ok(looksLikeHeader(Buffer.from('PROXY TCP4'), 10));
  t.ok(looksLikeHeader(SIG, 12));
  t.notOk(looksLikeHeader(Buffer.from('PROX'), 4), 'too short to tell');
  t.notOk(looksLikeHeader(Buffer.from('PROXIMITY'), 9));
  t.notOk(looksLikeHeader(Buffer.from('EHLO x\r\n'), 8));
});

t.test('the reader never takes a byte past the header, whatever the delivery', async (t) => {
  const payload = Buffer.from('EHLO after the header\r\n');
  const headers: Array<[string, Buffer]> = [
    ['v1 TCP4', Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n')],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n')],
    ['v1 107 bytes', Buffer.from('PROXY UNKNOWN ' + 'y'.repeat(91) + '\r\n')],
    ['v2 IPv4', v2(1, 0x11, addr4('192.0.2.1', '198.51.100.7', 1, 2))],
    ['v2 IPv6 + TLVs', v2(1, 0x21, addr6('20010db8000000000000000000000001', '20010db8000000000000000000000002', 3, 4),
      tlv(0x02, 'x'.repeat(300)), tlv(0x05, 'id'))],
    ['v2 LOCAL', v2(0, 0, Buffer.alloc(0))],
  ];
  for (const [name, h] of headers) {
    const data = Buffer.concat([h, payload]);
    for (const peek of [true, false]) {
      for (const chunk of [1, 2, 3, 7, 15, 16, 17, h.length, data.length]) {
        const { st, sock } = readAll(data, chunk, peek);
        if (!('header' in st)) {
          t.fail(`${name}, ${chunk}-byte chunks, peek ${peek}: ${JSON.stringify(st)}`);
          continue;
        }
        if (sock.pos !== h.length || (!peek && sock.maxAsked > h.length)) {
          t.fail(`${name}, ${chunk}-byte chunks, peek ${peek}: took ${sock.pos}, asked up to ${sock.maxAsked} of ${h.length}`);
        }
      }
    }
    t.pass(`${name}: exactly ${h.length} bytes taken in every split`);
  }
});

t.test('the reader: end of stream, garbage and read errors', async (t) => {
  for (const peek of [true, false]) {
    const cut = readAll(Buffer.from('PROXY TCP4 192.0'), 4, peek);
    t.match(cut.st, { error: /closed within the header/ }, `peek ${peek}: EOF inside the header`);
    const junk = readAll(Buffer.from('HELO example.org\r\n'), 100, peek);
    t.match(junk.st, { error: /not a PROXY header/ }, `peek ${peek}: garbage`);
    const long = readAll(Buffer.from('PROXY ' + 'z'.repeat(300)), 50, peek);
    t.match(long.st, { error: /longer than 107/ }, `peek ${peek}: no CRLF within 107 bytes`);
    t.ok(long.sock.pos <= V1_MAX, `peek ${peek}: took at most 107 bytes of it (${long.sock.pos})`);
  }
  const broken = new HeaderReader({ read: () => -104 }, (neg) => Object.assign(new Error('reset'), { errno: neg }));
  t.match(broken.step(), { error: { errno: -104 } }, 'a read error is the failure');
});

t.test('trust lists: --proxy=CIDR,...', async (t) => {
  const tr = parseTrust(['127.0.0.0/8,10.1.2.3', '2001:db8::/32', '::ffff:192.168.0.0/112']);
  if (typeof tr === 'string') throw new Error(tr);
  t.ok(tr.has('127.5.6.7'));
  t.ok(tr.has('10.1.2.3'));
  t.notOk(tr.has('10.1.2.4'), 'a bare address is one host');
  t.ok(tr.has('2001:db8:ffff::1'));
  t.notOk(tr.has('2001:db9::1'));
  t.ok(tr.has('192.168.4.5'), 'an IPv4-mapped prefix matches IPv4 clients');
  t.notOk(tr.has('192.169.0.1'));
  for (const odd of ['', '127.1.2', '127.1.2.3.4', '127.1.2.256', '127..1.2', '127.1.2.', 'x.1.2.3']) {
    t.notOk(tr.has(odd), `not an address: ${JSON.stringify(odd)}`);
  }
  const all = parseTrust(['0.0.0.0/0']);
  t.ok(typeof all !== 'string' && all.has('203.0.113.9') && !all.has('::1'));
  const odd = parseTrust(['10.0.0.0/9']);
  t.ok(typeof odd !== 'string' && odd.has('10.127.0.1') && !odd.has('10.128.0.1'), 'a length that is no multiple of 8');
  const v6odd = parseTrust(['fe80::/10']);
  t.ok(typeof v6odd !== 'string' && v6odd.has('febf::1') && !v6odd.has('fec0::1'));
  t.equal(parseTrust(['10.0.0.0/33']), 'bad prefix length: 10.0.0.0/33');
  t.equal(parseTrust(['10.0.0/8']), 'bad address: 10.0.0/8');
  t.equal(parseTrust(['']), 'bad address: ');
  t.equal(parseTrust(['::1/129']), 'bad prefix length: ::1/129');
  t.equal(parseTrust(['127.0.0.1/x']), 'bad prefix length: 127.0.0.1/x');
});
