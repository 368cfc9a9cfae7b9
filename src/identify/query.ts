// One DNS question asked as djb's dns library asks it (dns_resolve, for
// rblsmtpd's TXT and A lookups), where c-ares (dns.ts) cannot: the name is
// bytes made into labels by dns_domain_fromdot (any byte but '.', escapes
// \ooo and \c, empty labels dropped), so an IPv6 $TCPREMOTEIP reversed at
// its dots is asked as the original asks it, not refused as a bad host name.
// The servers: $DNSCACHEIP (our parseServers: djb's bare addresses, or ours
// with a port), else /etc/resolv.conf's nameserver lines, else 127.0.0.1.
// Each round asks every server in turn and waits 1, 3, 11, then 45 seconds
// (a recursive question starts at the second round, as djb's); an answer
// with the TC bit is asked again over TCP. Only NOERROR and NXDOMAIN are
// answers: another rcode, or a refusal, passes to the next server, but in
// the 11-second round, where it is waited out, as djb's library does.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseServers } from './dns';

/** No server gave an answer (djb's -1: a temporary failure). */
export class QueryError extends Error {}

export const TYPE_A = 1;
export const TYPE_TXT = 16;

/** djb's dns_domain_fromdot: a name (one char per byte) in wire form, or undefined (a label over 63 bytes, a name over 255). */
export function fromDot(name: string): Buffer | undefined {
  const out: number[] = [];
  let label: number[] = [];
  const close = (): boolean => {
    if (label.length === 0) return true;
    if (out.length + label.length + 1 > 255) return false;
    out.push(label.length, ...label);
    label = [];
    return true;
  };
  for (let i = 0; i < name.length; i++) {
    let ch = name.charCodeAt(i) & 0xff;
    if (ch === 0x2e) {
      if (!close()) return undefined;
      continue;
    }
    if (ch === 0x5c) {
      if (i + 1 >= name.length) break;
      ch = name.charCodeAt(++i) & 0xff;
      if (ch >= 0x30 && ch <= 0x37) {
        ch -= 0x30;
        for (let k = 0; k < 2 && i + 1 < name.length; k++) {
          const d = name.charCodeAt(i + 1);
          if (d < 0x30 || d > 0x37) break;
          ch = ((ch << 3) + d - 0x30) & 0xff;
          i++;
        }
      }
    }
    if (label.length >= 63) return undefined;
    label.push(ch);
  }
  if (!close() || out.length + 1 > 255) return undefined;
  out.push(0);
  return Buffer.from(out);
}

/** The name servers to ask: [address, port] pairs. */
export function servers(env: NodeJS.ProcessEnv = process.env): Array<[string, number]> {
  let list = parseServers(env.DNSCACHEIP ?? '');
  if (list.length === 0) {
    try {
      for (const line of fs.readFileSync('/etc/resolv.conf', 'latin1').split('\n')) {
        const m = /^nameserver[ \t]+(\S+)/.exec(line);
        if (m && net.isIPv4(m[1])) list.push(m[1]);
      }
    } catch { /* none */ }
    if (list.length === 0) list = ['127.0.0.1'];
  }
  return list.slice(0, 16).map((s) => {
    const m = /^(?:\[(.+)\]|([0-9.]+)):([0-9]+)$/.exec(s);
    return m ? [m[1] ?? m[2], Number(m[3])] : [s, 53];
  });
}

function question(qname: Buffer, qtype: number): Buffer {
  const head = Buffer.alloc(12);
  randomBytes(2).copy(head, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([head, qname, tail]);
}

/** A name in a packet at pos: its end, or -1 when it runs off the packet. */
function skipName(p: Buffer, pos: number): number {
  for (;;) {
    if (pos >= p.length) return -1;
    const c = p[pos];
    if (c >= 192) return pos + 2 <= p.length ? pos + 2 : -1;
    if (c >= 64) return -1;
    pos += c + 1;
    if (c === 0) return pos;
  }
}

/** Whether r answers q (same id, one question, the same question); 'failed' for an rcode other than 0 and 3. */
function judge(q: Buffer, r: Buffer): 'irrelevant' | 'truncated' | 'failed' | 'answer' {
  if (r.length < 12 || r[0] !== q[0] || r[1] !== q[1] || !(r[2] & 0x80)) return 'irrelevant';
  if (r.readUInt16BE(4) !== 1) return 'irrelevant';
  const end = skipName(r, 12);
  if (end < 0 || end + 4 > r.length) return 'irrelevant';
  const a = r.subarray(12, end + 4).toString('latin1').toLowerCase();
  const b = q.subarray(12).toString('latin1').toLowerCase();
  if (a !== b) return 'irrelevant';
  if (r[2] & 0x02) return 'truncated';
  const rcode = r[3] & 15;
  return rcode !== 0 && rcode !== 3 ? 'failed' : 'answer';
}

function overTcp(q: Buffer, host: string, port: number, ms: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let got = Buffer.alloc(0);
    const done = (v: Buffer | undefined) => { clearTimeout(t); s.destroy(); resolve(v); };
    const t = setTimeout(() => done(undefined), ms);
    s.on('error', () => done(undefined));
    s.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      s.write(Buffer.concat([len, q]));
    });
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(got.subarray(2, 2 + got.readUInt16BE(0)));
    });
    s.on('end', () => done(undefined));
  });
}

/** One server, one try over UDP: the answer, or why not. */
function overUdp(q: Buffer, host: string, port: number, ms: number, waitOut: boolean): Promise<Buffer | 'next'> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let settled = false;
    const done = (v: Buffer | 'next') => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      s.close();
      resolve(v);
    };
    const t = setTimeout(() => done('next'), ms);
    s.on('error', (e: NodeJS.ErrnoException) => {
      // A refusal (ICMP port unreachable): the next server, but in the round djb waits out.
      if (e.code === 'ECONNREFUSED' && waitOut) return;
      done('next');
    });
    s.on('message', (r: Buffer) => {
      const j = judge(q, r);
      if (j === 'irrelevant') return;
      if (j === 'failed') {
        if (!waitOut) done('next');
        return;
      }
      if (j === 'truncated') {
        clearTimeout(t);
        void overTcp(q, host, port, 10_000).then((x) => done(x && judge(q, x) === 'answer' ? x : 'next'));
        return;
      }
      done(r);
    });
    s.connect(port, host, () => s.send(q, (e) => { if (e && !(waitOut && (e as NodeJS.ErrnoException).code === 'ECONNREFUSED')) done('next'); }));
  });
}

/** The answer packet to one question (qname in wire form); throws QueryError when no server answered. */
export async function ask(qname: Buffer, qtype: number, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  const list = servers(env);
  const q = question(qname, qtype);
  const seconds = [1, 3, 11, 45];
  for (let round = 1; round < 4; round++) {
    for (const [host, port] of list) {
      const r = await overUdp(q, host, port, seconds[round] * 1000, round === 2);
      if (r !== 'next') return r;
    }
  }
  throw new QueryError('no name server answered');
}

/**
 * The rdata of every answer record of type qtype, class IN, in order; throws
 * QueryError where djb's packet parsers give up (a record past the end).
 */
export function answers(p: Buffer, qtype: number): Buffer[] {
  const count = p.readUInt16BE(6);
  let pos = skipName(p, 12);
  if (pos < 0) throw new QueryError('bad packet');
  pos += 4;
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    pos = skipName(p, pos);
    if (pos < 0 || pos + 10 > p.length) throw new QueryError('bad packet');
    const type = p.readUInt16BE(pos);
    const cls = p.readUInt16BE(pos + 2);
    const len = p.readUInt16BE(pos + 8);
    pos += 10;
    if (type === qtype && cls === 1) {
      if (pos + len > p.length) throw new QueryError('bad packet');
      out.push(p.subarray(pos, pos + len));
    }
    pos += len;
  }
  return out;
}
