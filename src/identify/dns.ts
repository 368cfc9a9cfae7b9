// DNS for the servers: PTR names for clients, A/AAAA for paranoia and ipsvd's
// =hostname checks. Answers come from the network and are hostile until
// checked: a name becomes a file name or cdb key and an environment value.
// Every failure (timeout, SERVFAIL, junk) is "unknown", never a throw.
import { Resolver } from 'node:dns';
import * as net from 'node:net';

export interface Dns {
  ptr(ip: string): Promise<string | undefined>;
  addrs(name: string): Promise<string[]>;
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
      const names = await bounded(limit, new Promise<string[]>((ok, fail) =>
        r.reverse(ip, (e, n) => (e ? fail(e) : ok(n)))));
      return names && names.length > 0 ? validName(names[0]) : undefined;
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
 * A host name safe to use as a file name, cdb key and environment value:
 * lower-cased, one trailing dot dropped; undefined when it has an empty label
 * (so no "..", no leading dot), a character other than letters, digits, '-'
 * and '_' (so no '/', NUL, blanks or controls), a label over 63 or a total
 * over 253 characters, or an all-digit last label (no real TLD is numeric; a
 * PTR of "127.0.0.1" must not pose as an address in the instructions).
 */
export function validName(name: string): string | undefined {
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
