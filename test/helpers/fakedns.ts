// A fake DNS server on 127.0.0.1 (UDP, port 0) for tests: no test may ask the
// system resolver. Point our servers at it with DNSCACHEIP=<addr>, or pass
// addr to createDns({ server }).
//
//   const dns = await startFakeDns({
//     '127.0.0.2': { ptr: 'client.example.org' },        // PTR for an address
//     'client.example.org': { a: ['127.0.0.2'] },         // A / AAAA for a name
//     '127.0.0.3': { mode: 'servfail' },                  // hostile answers
//     '2.0.0.127.rbl.example': { txt: ['listed'], a: ['127.0.0.2'] }, // TXT and A, as an RBL zone has
//   });
//   ... DNSCACHEIP: dns.addr ...   dns.queries → [{ name, type }]
//   await dns.close();
//
// Keys are host names or addresses (an address answers its in-addr.arpa or
// ip6.arpa PTR question). Unknown names get NXDOMAIN. The zone object is read
// at every query, so a test may change it while the server runs.
//
// The reference tools (djb's dns library) take DNSCACHEIP as bare addresses
// and always ask port 53: { port53: true } binds 127.53.x.y:53 (x, y random;
// needs root, as CI runs) and addr is then that bare address, which ours
// accept too.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import * as ipaddr from 'ipaddr.js';

export interface ZoneEntry {
  /** PTR answers, in order (several = "many answers"). */
  ptr?: string | string[];
  /** One PTR answer whose labels are sent byte for byte: may hold '.', '/', NUL... */
  ptrLabels?: string[];
  a?: string[];
  aaaa?: string[];
  /** TXT records, in order: each one string or several; every char is sent as one byte (latin1). */
  txt?: Array<string | string[]>;
  /**
   * timeout: never answer; servfail / nxdomain: that rcode; garbage: bytes
   * that are no DNS message; wrongtype: answer with a record of another type.
   */
  mode?: 'timeout' | 'servfail' | 'nxdomain' | 'garbage' | 'wrongtype';
  /**
   * An rcode written into the header as it is (2 SERVFAIL, 5 REFUSED), no
   * records. (dns-packet does not encode `rcode`: the modes servfail and
   * nxdomain go out as NOERROR without records.)
   */
  rcode?: number;
}
export type Zone = Record<string, ZoneEntry>;

export interface FakeDns {
  /** "127.0.0.1:PORT", for DNSCACHEIP. */
  addr: string;
  port: number;
  /** Every question asked, in order. */
  queries: Array<{ name: string; type: string }>;
  close(): Promise<void>;
  /** Let the test process exit while it still runs. */
  unref(): void;
}

export async function startFakeDns(zone: Zone, opts: { port53?: boolean } = {}): Promise<FakeDns> {
  const queries: FakeDns['queries'] = [];
  let sock: dgram.Socket | undefined;
  let host = '127.0.0.1';
  for (let tries = 0; !sock; tries++) {
    if (opts.port53) host = `127.53.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
    const s = dgram.createSocket('udp4');
    try {
      await new Promise<void>((ok, fail) => {
        s.once('error', fail);
        s.bind(opts.port53 ? 53 : 0, host, () => {
          s.off('error', fail);
          ok();
        });
      });
      sock = s;
    } catch (e) {
      s.close();
      if (!opts.port53 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries > 20) {
        throw new Error(`fake DNS: cannot bind ${host}:${opts.port53 ? 53 : 0} (${(e as Error).message}); ` +
          'port 53 needs root, as CI runs');
      }
    }
  }
  const bound = sock;
  bound.on('message', (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    queries.push({ name: question.name, type: question.type });
    const reply = answer(zone, q, question, msg);
    if (reply) bound.send(reply, rinfo.port, rinfo.address);
  });
  const port = bound.address().port;
  return {
    addr: opts.port53 ? host : `127.0.0.1:${port}`,
    port,
    queries,
    close: () => new Promise<void>((ok) => bound.close(() => ok())),
    unref: () => { bound.unref(); },
  };
}

// "4.3.2.1.in-addr.arpa" → "1.2.3.4"; nibbles of ip6.arpa → RFC 5952 text.
export function arpaToIp(name: string): string | undefined {
  const n = name.toLowerCase();
  if (n.endsWith('.in-addr.arpa')) {
    const ip = n.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
    return net.isIPv4(ip) ? ip : undefined;
  }
  if (n.endsWith('.ip6.arpa')) {
    const nib = n.slice(0, -'.ip6.arpa'.length).split('.').reverse();
    if (nib.length !== 32) return undefined;
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(nib.slice(i, i + 4).join(''));
    const ip = groups.join(':');
    return ipaddr.IPv6.isValid(ip) ? ipaddr.IPv6.parse(ip).toRFC5952String() : undefined;
  }
  return undefined;
}

function answer(zone: Zone, q: dnsPacket.Packet, question: dnsPacket.Question, raw: Buffer): Buffer | undefined {
  const key = question.type === 'PTR' ? (arpaToIp(question.name) ?? question.name) : question.name;
  const e: ZoneEntry | undefined = zone[key] ?? zone[key.toLowerCase()];
  const reply = (rcode: string, answers: dnsPacket.Answer[]) => dnsPacket.encode({
    type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    rcode, questions: [question], answers,
  } as dnsPacket.Packet);
  if (e?.rcode !== undefined) {
    return dnsPacket.encode({
      type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (e.rcode & 15),
      questions: [question], answers: [],
    } as dnsPacket.Packet);
  }
  if (!e || e.mode === 'nxdomain') return reply('NXDOMAIN', []);
  switch (e.mode) {
    case 'timeout': return undefined;
    case 'servfail': return reply('SERVFAIL', []);
    case 'garbage': return Buffer.from('\x00\x01garbage, not a DNS message at all');
    case 'wrongtype':
      return reply('NOERROR', [{ type: 'TXT', name: question.name, ttl: 60, data: 'not what you asked for' }]);
  }
  const base = { name: question.name, ttl: 60, class: 'IN' as const };
  switch (question.type) {
    case 'PTR':
      if (e.ptrLabels) return rawPtr(q.id ?? 0, raw, e.ptrLabels);
      return reply('NOERROR', list(e.ptr).map((data) => ({ ...base, type: 'PTR' as const, data })));
    case 'A':
      return reply('NOERROR', (e.a ?? []).map((data) => ({ ...base, type: 'A' as const, data })));
    case 'AAAA':
      return reply('NOERROR', (e.aaaa ?? []).map((data) => ({ ...base, type: 'AAAA' as const, data })));
    case 'TXT':
      return reply('NOERROR', (e.txt ?? []).map((rec) => ({
        ...base, type: 'TXT' as const, data: list(rec).map((x) => Buffer.from(x, 'latin1')),
      })));
    default:
      return reply('NOERROR', []);
  }
}

function list(x: string | string[] | undefined): string[] {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

// dns-packet cannot put a '.' inside a label: write this one answer by hand.
function rawPtr(id: number, query: Buffer, labels: string[]): Buffer {
  let end = 12;
  while (query[end] !== 0) end += query[end] + 1;
  const question = query.subarray(12, end + 5);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x8180, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(1, 6);
  const rdata = Buffer.concat([...labels.map((l) => {
    const b = Buffer.from(l, 'latin1');
    return Buffer.concat([Buffer.from([b.length]), b]);
  }), Buffer.from([0])]);
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0); // the question's name
  rr.writeUInt16BE(12, 2);     // PTR
  rr.writeUInt16BE(1, 4);      // IN
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, question, rr, rdata]);
}

/**
 * Names for the servers' differential DNS tests: a local name, honest and
 * lying clients, hostile labels (escaped alike by ours and djb's library),
 * SERVFAIL and several answers. A new object each time: tests may change it.
 */
export function namesZone(): Zone {
  return {
    '127.0.0.1': { ptr: 'Local.Example.' },
    '127.0.0.21': { ptr: 'Good.Example.' },
    'good.example': { a: ['127.0.0.21'] },
    '127.0.0.22': { ptr: 'liar.example' },
    'liar.example': { a: ['127.0.0.99'] },
    '127.0.0.23': { ptrLabels: ['evil/..', 'Example'] },
    '127.0.0.24': { mode: 'servfail' },
    '127.0.0.27': { ptrLabels: ['a b', 'c\\d', 'x"y', 'semi;colon', 'UP'] },
    '127.0.0.28': { ptrLabels: ['ctl\x01\x7f\xff', 'ex'] },
    '127.0.0.30': { ptr: ['first.example', 'second.example'] },
  };
}
