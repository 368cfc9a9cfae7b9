// DNS for the servers: PTR names for clients, A/AAAA for paranoia and ipsvd's
// =hostname checks. Answers come from the network and are hostile until
// checked: a name becomes a file name or cdb key and an environment value,
// so it is written as djb's dns library writes it (lower case, every byte
// other than a-z 0-9 - _ as \ooo): no '/', no empty label, nothing to escape.
// A name server that answers, even badly (NXDOMAIN, SERVFAIL, junk), means
// "no name"; only silence or refusal is an error (DnsError), as the
// originals tell the two apart.
import { Resolver } from 'node:dns';
import * as net from 'node:net';
import { parseIPv6 } from '../lib/ip';

export interface Dns {
  /** The client's name, or undefined when it has none; throws DnsError when no server answered. */
  ptr(ip: string): Promise<string | undefined>;
  addrs(name: string): Promise<string[]>;
}

/** No name server answered: code ETIMEDOUT (silence) or ECONNREFUSED. */
export class DnsError extends Error {
  constructor(readonly code: 'ETIMEDOUT' | 'ECONNREFUSED') {
    super(code === 'ETIMEDOUT' ? 'timed out' : 'connection refused');
  }
}

// c-ares codes for "no usable answer"; every other failure is an answer (no
// name). Junk (EBADRESP) counts as silence: djb's library ignores it and
// times out.
const HARD: Record<string, 'ETIMEDOUT' | 'ECONNREFUSED'> = {
  ETIMEOUT: 'ETIMEDOUT', ETIMEDOUT: 'ETIMEDOUT', EBADRESP: 'ETIMEDOUT', ECONNREFUSED: 'ECONNREFUSED',
};

/** The PTR question for an address: d.c.b.a.in-addr.arpa, or IPv6 nibbles under ip6.arpa. */
export function arpaName(ip: string): string {
  if (net.isIPv4(ip)) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  const bytes = parseIPv6(ip);
  if (bytes === null) throw new Error(`not an IP address: ${ip}`);
  let s = '';
  for (let i = 15; i >= 0; i--) s += (bytes[i] & 15).toString(16) + '.' + (bytes[i] >> 4).toString(16) + '.';
  return s + 'ip6.arpa';
}

/**
 * server: one or more of "ip", "ip:port", "[ipv6]:port", separated by blanks
 * or commas; default $DNSCACHEIP (djb's convention; the port form is ours, so
 * tests can run a fake server on any port), else /etc/resolv.conf.
 */
export function createDns(opts: { server?: string; timeoutMs?: number; tries?: number } = {}): Dns {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const tries = opts.tries ?? 2;
  const r = new Resolver({ timeout: timeoutMs, tries });
  const servers = parseServers(opts.server ?? process.env.DNSCACHEIP ?? '');
  if (servers.length > 0) r.setServers(servers);
  // c-ares backs off between tries; this bounds the whole question regardless.
  const limit = timeoutMs * (2 ** tries) + 100;

  return {
    async ptr(ip) {
      if (!net.isIP(ip)) return undefined;
      const names = await new Promise<string[] | DnsError>((ok) => {
        const t = setTimeout(() => ok(new DnsError('ETIMEDOUT')), limit);
        t.unref();
        // resolvePtr, not reverse: reverse falls back to /etc/hosts and loses timeouts.
        r.resolvePtr(arpaName(ip), (e, n) => {
          clearTimeout(t);
          const hard = e && HARD[(e as NodeJS.ErrnoException).code ?? ''];
          ok(hard ? new DnsError(hard) : e ? [] : n);
        });
      });
      if (names instanceof DnsError) throw names;
      return names.length > 0 ? hostName(names[0]) : undefined;
    },
    async addrs(name) {
      if (validName(name) === undefined) return [];
      const [a, aaaa] = await Promise.all([
        bounded(limit, new Promise<string[]>((ok, fail) => r.resolve4(name, (e, x) => (e ? fail(e) : ok(x))))),
        bounded(limit, new Promise<string[]>((ok, fail) => r.resolve6(name, (e, x) => (e ? fail(e) : ok(x))))),
      ]);
      return [...(a ?? []), ...(aaaa ?? [])].filter((x) => net.isIP(x) !== 0);
    },
  };
}

function bounded<T>(ms: number, p: Promise<T>): Promise<T | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    t.unref();
    p.then((v) => { clearTimeout(t); resolve(v); }, () => { clearTimeout(t); resolve(undefined); });
  });
}

export function parseServers(s: string): string[] {
  const out: string[] = [];
  for (const w of s.split(/[\s,]+/)) {
    if (w === '') continue;
    if (net.isIP(w)) { out.push(w); continue; }
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(w);
    if (m && net.isIP(m[1] ?? m[2]) && Number(m[3]) > 0 && Number(m[3]) < 65536) out.push(w);
  }
  return out;
}

/**
 * A PTR answer as c-ares gives it (reserved characters as \c, others as
 * \DDD decimal) → the name as djb's dns_domain_todot_cat writes it: lower
 * case, bytes other than a-z 0-9 - _ as \ooo octal, labels joined by '.'.
 * Undefined for the root or a name of over 255 characters (no file name).
 */
export function hostName(text: string): string | undefined {
  const labels: string[] = [];
  let label = '';
  const put = (b: number) => {
    if (b >= 0x41 && b <= 0x5a) b += 32;
    if ((b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f) label += String.fromCharCode(b);
    else label += '\\' + b.toString(8).padStart(3, '0');
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (label === '') return undefined; // an empty label: not a name c-ares gives
      labels.push(label);
      label = '';
    } else if (c === 0x5c && i + 1 < text.length) {
      const d = /^[0-9]{3}/.exec(text.slice(i + 1, i + 4));
      if (d) {
        put(Number(d[0]) & 0xff);
        i += 3;
      } else {
        put(text.charCodeAt(++i) & 0xff);
      }
    } else {
      put(c & 0xff);
    }
  }
  if (label !== '') labels.push(label);
  const name = labels.join('.');
  return name.length === 0 || name.length > 255 ? undefined : name;
}

/**
 * A host name safe to use as a file name, cdb key and environment value:
 * lower-cased, one trailing dot dropped; undefined when it has an empty label
 * (so no "..", no leading dot), a character other than letters, digits, '-'
 * and '_' (so no '/', NUL, blanks or controls), a label over 63 or a total
 * over 253 characters, or an all-digit last label (no real TLD is numeric; a
 * PTR of "127.0.0.1" must not pose as an address in the instructions).
 */
export function validName(name: string): string | undefined {
  // (Forward lookups ask only for such plain names; PTR answers go through hostName.)
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (n.length === 0 || n.length > 253) return undefined;
  const labels = n.split('.');
  for (const l of labels) {
    if (l.length === 0 || l.length > 63 || !/^[a-z0-9_-]+$/.test(l)) return undefined;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return undefined;
  return n;
}
