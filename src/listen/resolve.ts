// The listen address by name, resolved as ucspi-tcp and ipsvd resolve it
// (djb's dns library), never through the system resolver (getaddrinfo,
// /etc/hosts, nsswitch):
//
// - a name made of digits, dots and brackets is an IPv4 address, read
//   byte by byte without DNS ("1.2.3.4", "[1.2.3.4]"; fewer than four bytes
//   is no address);
// - otherwise the name is qualified by the rewriting rules ($DNSREWRITEFILE
//   or /etc/dnsrewrite, else $LOCALDOMAIN, else the search or domain line of
//   /etc/resolv.conf, else the host's own domain) and its A records are asked
//   of $DNSCACHEIP (or resolv.conf's name servers);
// - a label of over 63 bytes or a name of over 255 is a protocol error.
//
// Errors are thrown as errno exceptions with syscall "queryA": ENOTFOUND
// when the name has no address, else the reason no answer came
// (ECONNREFUSED, ETIMEDOUT, EPROTO), with djb's wording (lib/errstr) as the
// message.
import { Resolver } from 'node:dns';
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { parseServers } from '../identify/dns';
import { errstr } from '../lib/errstr';

type Failure = 'ECONNREFUSED' | 'ETIMEDOUT' | 'EPROTO' | 'ENOTFOUND';

function fail(code: Failure, host: string): NodeJS.ErrnoException {
  // lib/errstr has djb's words for the errno codes; ENOTFOUND is no errno.
  const e: NodeJS.ErrnoException = new Error(code === 'ENOTFOUND' ? `no IP address for ${host}` : errstr({ code }));
  e.code = code;
  e.syscall = 'queryA';
  return e;
}

/**
 * dns_ip4's reading of a name as an address: digits, dots and brackets only,
 * one byte per dot-separated number (mod 256), whole groups of four bytes.
 * Undefined when the name holds anything else (it is a name to look up).
 */
export function numericIp4(name: string): number[] | undefined {
  const bytes: number[] = [];
  let code = 0;
  for (let i = 0; i <= name.length; i++) {
    const ch = i < name.length ? name[i] : '.';
    if (ch === '[' || ch === ']') continue;
    if (ch === '.') {
      bytes.push(code & 255);
      code = 0;
    } else if (ch >= '0' && ch <= '9') {
      code = (code * 10 + (ch.charCodeAt(0) - 48)) & 255;
    } else {
      return undefined;
    }
  }
  return bytes.slice(0, bytes.length - (bytes.length % 4));
}

/** The rewriting rules, in the order djb's dns_resolvconfrewrite finds them. */
export function rewriteRules(env: NodeJS.ProcessEnv = process.env,
                             read: (file: string) => string | undefined = readText,
                             host: () => string = osHostname): string[] {
  const file = read(env.DNSREWRITEFILE ?? '/etc/dnsrewrite');
  if (file !== undefined) return file.split('\n').map((l) => l.replace(/[ \t\r]+$/, ''));
  const search = (domains: string[]) => ['?:' + domains.map((d) => '+.' + d).join(''), '*.:'];
  // Every blank ends a domain, so two blanks in a row give an empty one, as there.
  if (env.LOCALDOMAIN !== undefined) return search(env.LOCALDOMAIN.split(' '));
  const conf = read('/etc/resolv.conf');
  if (conf !== undefined) {
    for (const line of conf.split('\n')) {
      const m = /^(?:search|domain)[ \t](.*)$/.exec(line);
      if (m) return search(m[1].split(/[ \t]/).filter((d) => d !== ''));
    }
  }
  const h = host();
  const dot = h.indexOf('.');
  return dot >= 0 ? ['?:' + h.slice(dot), '*.:'] : ['*.:'];
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/** One rule applied to name (dns_ipq.c's doit). */
function applyRule(name: string, rule: string): string {
  const kind = rule[0];
  if (kind !== '?' && kind !== '=' && kind !== '*' && kind !== '-') return name;
  const colon = rule.indexOf(':', 1);
  if (colon < 0) return name;
  const suffix = rule.slice(1, colon);
  if (name.length < suffix.length) return name;
  const prefixLen = name.length - suffix.length;
  if (kind === '=' && prefixLen > 0) return name;
  if (name.slice(prefixLen).toLowerCase() !== suffix.toLowerCase()) return name;
  if (kind === '?' && /[.[\]]/.test(name.slice(0, prefixLen))) return name;
  return (kind === '-' ? '' : name.slice(0, prefixLen)) + rule.slice(colon + 1);
}

/** The names to try, in order: the rules applied, then every '+' alternative. */
export function qualify(name: string, rules: string[]): string[] {
  const fqdn = rules.reduce(applyRule, name);
  const plus = fqdn.indexOf('+');
  if (plus < 0) return [fqdn];
  return fqdn.slice(plus + 1).split('+').map((alt) => fqdn.slice(0, plus) + alt);
}

/**
 * Whether name can be put on the wire as dns_domain_fromdot does: labels of
 * 1..63 bytes (empty ones dropped, \ooo and \c escapes), 255 bytes in all.
 */
export function wireable(name: string): boolean {
  let total = 1;
  let label = 0;
  for (let i = 0; i <= name.length; i++) {
    let ch = i < name.length ? name[i] : '.';
    if (ch === '.') {
      if (label > 0) {
        total += label + 1;
        if (total > 255) return false;
      }
      label = 0;
      continue;
    }
    if (ch === '\\') {
      const m = /^[0-7]{1,3}/.exec(name.slice(i + 1));
      ch = m ? 'x' : name[i + 1] ?? '';
      i += m ? m[0].length : 1;
    }
    if (++label > 63) return false;
  }
  return true;
}

export interface LookupA {
  /** A records of name; throws an errno exception when no server answered. */
  (name: string): Promise<string[]>;
}

/** A-record lookups through $DNSCACHEIP (else resolv.conf's servers) with c-ares, never getaddrinfo. */
export function cacheLookup(server = process.env.DNSCACHEIP ?? '', timeoutMs = 5000, tries = 2): LookupA {
  const r = new Resolver({ timeout: timeoutMs, tries });
  const servers = parseServers(server);
  if (servers.length > 0) r.setServers(servers);
  return (name) => new Promise((ok, no) => {
    r.resolve4(name, (e, addrs) => {
      if (!e) return ok(addrs);
      const code = (e as NodeJS.ErrnoException).code ?? '';
      // An answer without addresses is "no address"; silence, refusal, or
      // a server that keeps failing means the question got no answer.
      // c-ares will not ask about a name such as "::" (EBADNAME) that djb's
      // library sends and is told does not exist: no address, as there.
      if (code === 'ENODATA' || code === 'ENOTFOUND' || code === 'EBADNAME') return ok([]);
      if (code === 'ECONNREFUSED') return no(fail('ECONNREFUSED', name));
      no(fail('ETIMEDOUT', name));
    });
  });
}

/** dns_ip4: an address read from the name, or the name's A records. */
async function ip4(name: string, lookup: LookupA): Promise<string[]> {
  const n = numericIp4(name);
  if (n) {
    const out: string[] = [];
    for (let i = 0; i < n.length; i += 4) out.push(n.slice(i, i + 4).join('.'));
    return out;
  }
  if (!wireable(name)) throw fail('EPROTO', name);
  return lookup(name);
}

/** dns_ip4_qualify: the first of the qualified names that has an address. */
async function ip4Qualify(name: string, rules: string[], lookup: LookupA): Promise<string[]> {
  for (const candidate of qualify(name, rules)) {
    const out = await ip4(candidate, lookup);
    if (out.length > 0) return out;
  }
  return [];
}

export interface ResolveOptions {
  /** tcpsvd's order: the name as given first, qualified only when that fails or has no address. */
  asGivenFirst?: boolean;
  lookup?: LookupA;
  rules?: string[];
}

/** The IPv4 address to listen on for host (a name or dotted quad); throws as described above. */
export async function resolveListenHost(host: string, o: ResolveOptions = {}): Promise<string> {
  const lookup = o.lookup ?? cacheLookup();
  if (o.asGivenFirst) {
    try {
      const out = await ip4(host, lookup);
      if (out.length > 0) return out[0];
    } catch {
      // qualified next, as ipsvd does; its error is the one reported
    }
  }
  const out = await ip4Qualify(host, o.rules ?? rewriteRules(), lookup);
  if (out.length === 0) throw fail('ENOTFOUND', host);
  return out[0];
}

/**
 * Every IPv4 address of host (a name or dotted quads), as tcpclient's
 * dns_ip4_qualify finds them: [] when it has none; throws as described above
 * when no server answered.
 */
export async function resolveHostAll(host: string, o: ResolveOptions = {}): Promise<string[]> {
  return ip4Qualify(host, o.rules ?? rewriteRules(), o.lookup ?? cacheLookup());
}
