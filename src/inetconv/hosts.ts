// hosts.allow and hosts.deny (hosts_access(5), hosts_options(5)) as data:
// each rule a daemon list, a client list and options, in file order. Only
// what the peers instructions can say is given a meaning; every other form
// is kept as a 'bad' pattern or an untranslated option with its reason, so
// the converter can refuse or list it by file and line.
import { parseIPv4, parseIPv6 } from '../lib/ip';
import { prefixOf, type Prefix } from './prefix';

export interface Where { file: string; line: number }

export type ClientPat =
  | { k: 'all' }
  | { k: 'none' }                        // a net/mask with host bits set: tcpd never matches it
  | { k: 'addr'; p: Prefix }
  | { k: 'domain'; d: string }           // ".example.org", stored without the dot, lower case
  | { k: 'host'; h: string }             // a plain host name, lower case
  | { k: 'local' }
  | { k: 'bad'; text: string; reason: string };

export interface List<P> { pats: P[]; except?: List<P> }

/** A bad pattern's n: the daemon part of daemon@host, so that other daemons are not held up by it. */
export type DaemonPat = { k: 'all' } | { k: 'name'; n: string } | { k: 'bad'; text: string; reason: string; n?: string };

export type Option =
  | { k: 'allow' } | { k: 'deny' }
  | { k: 'setenv'; name: string; value: string }
  | { k: 'twist'; cmd: string }
  | { k: 'ignored'; text: string; reason: string };

export interface Rule {
  where: Where;
  table: 'allow' | 'deny';
  daemons: List<DaemonPat>;
  clients: List<ClientPat>;
  options: Option[];
  /** Problems with the line itself (a twist with % expansions, ...): the rule cannot be expressed. */
  refuse: string[];
}

/** The logical lines of a file: backslash-newline joined, blanks and comments dropped, with their first line number. */
export function logicalLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  const raw = text.split('\n');
  for (let i = 0; i < raw.length; i++) {
    const start = i + 1;
    let s = raw[i];
    while (s.endsWith('\\') && i + 1 < raw.length) s = s.slice(0, -1) + raw[++i];
    const t = s.trim();
    if (t === '' || t.startsWith('#')) continue;
    out.push({ line: start, text: t });
  }
  return out;
}

/** Split at ':' not inside [...] and not escaped by a backslash. */
function splitColons(s: string): string[] {
  const out: string[] = [];
  let cur = '', depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === ':') { cur += ':'; i++; continue; }
    if (c === '[') depth++;
    else if (c === ']' && depth > 0) depth--;
    if (c === ':' && depth === 0) { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}

function parseList<P>(text: string, one: (w: string) => P): List<P> {
  const words = text.split(/[\s,]+/).filter((w) => w !== '');
  const root: List<P> = { pats: [] };
  let cur = root;
  for (const w of words) {
    if (w.toUpperCase() === 'EXCEPT') {
      cur.except = { pats: [] };
      cur = cur.except;
    } else {
      cur.pats.push(one(w));
    }
  }
  return root;
}

export function parseClient(w: string): ClientPat {
  const u = w.toUpperCase();
  if (u === 'ALL') return { k: 'all' };
  if (u === 'LOCAL') return { k: 'local' };
  if (u === 'KNOWN' || u === 'UNKNOWN' || u === 'PARANOID')
    return { k: 'bad', text: w, reason: `${u} depends on name lookups tcpsvd does not make the same way` };
  if (w.startsWith('@')) return { k: 'bad', text: w, reason: 'NIS netgroups cannot be expressed as peers entries' };
  if (w.startsWith('/')) return { k: 'bad', text: w, reason: 'pattern files are not read' };
  if (w.includes('@')) return { k: 'bad', text: w, reason: 'user@host patterns need ident (RFC 1413) lookups' };
  if (/[*?]/.test(w)) return { k: 'bad', text: w, reason: 'wildcards * and ? cannot be expressed as peers entries' };
  if (w.startsWith('[')) {
    const m = /^\[([0-9A-Fa-f:.]+)\](?:\/(\d{1,3}))?$/.exec(w);
    const b = m ? parseIPv6(m[1]) : null;
    const len = m && m[2] !== undefined ? Number(m[2]) : 128;
    if (!b || len > 128) return { k: 'bad', text: w, reason: 'not an IPv6 address or [net]/len' };
    const p = prefixOf(true, b, len);
    return p.exact ? { k: 'addr', p: p.prefix } : { k: 'none' };
  }
  if (w.startsWith('.')) return { k: 'domain', d: w.slice(1).toLowerCase() };
  const slash = w.indexOf('/');
  if (slash > 0) {
    const net = parseIPv4(w.slice(0, slash));
    const m = w.slice(slash + 1);
    let len: number | undefined;
    if (/^\d{1,2}$/.test(m) && Number(m) <= 32) len = Number(m);
    else {
      const mask = parseIPv4(m);
      if (mask) {
        const bits = ((mask[0] << 24) | (mask[1] << 16) | (mask[2] << 8) | mask[3]) >>> 0;
        let n = 0;
        while (n < 32 && (bits & (0x80000000 >>> n)) !== 0) n++;
        if (((bits << n) >>> 0) !== 0 || n === 32) return { k: 'bad', text: w, reason: 'a mask that is not a run of leading ones (or is 255.255.255.255) has no prefix length' };
        len = n;
      }
    }
    if (!net || len === undefined) return { k: 'bad', text: w, reason: 'not a net/mask or net/len pattern' };
    const p = prefixOf(false, Uint8Array.from(net), len);
    return p.exact ? { k: 'addr', p: p.prefix } : { k: 'none' };
  }
  if (w.endsWith('.') && /^[0-9.]+$/.test(w)) {
    const parts = w.slice(0, -1).split('.');
    const o = parts.length <= 3 ? parseOctets3(parts) : null;
    if (!o) return { k: 'bad', text: w, reason: 'an address prefix is one to three numbers and a dot' };
    const b = Uint8Array.from([...o, 0, 0, 0, 0].slice(0, 4));
    return { k: 'addr', p: prefixOf(false, b, 8 * o.length).prefix };
  }
  const v4 = parseIPv4(w);
  if (v4) return { k: 'addr', p: prefixOf(false, Uint8Array.from(v4), 32).prefix };
  if (/^[0-9.]+$/.test(w)) return { k: 'bad', text: w, reason: 'not a dotted-quad address' };
  if (!/^[A-Za-z0-9_.-]+$/.test(w)) return { k: 'bad', text: w, reason: 'not a host name, address or pattern' };
  return { k: 'host', h: w.toLowerCase() };
}

function parseOctets3(parts: string[]): number[] | null {
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out.push(Number(p));
  }
  return out;
}

function parseDaemon(w: string): DaemonPat {
  if (w.toUpperCase() === 'ALL') return { k: 'all' };
  if (w.includes('@')) {
    const n = w.slice(0, w.indexOf('@')).toLowerCase();
    return { k: 'bad', text: w, reason: 'daemon@host patterns (server endpoints) are not translated', ...(/[*?]/.test(n) ? {} : { n }) };
  }
  if (/[*?]/.test(w)) return { k: 'bad', text: w, reason: 'wildcards in daemon names are not translated' };
  return { k: 'name', n: w.toLowerCase() };
}

const IGNORED_OPTIONS: Record<string, string> = {
  spawn: 'spawn runs a command beside the service; tcpsvd has no such hook',
  banners: 'banners files are not sent by tcpsvd',
  severity: 'tcpsvd logs through its log service, not syslog',
  rfc931: 'ident lookups are not made',
  nice: 'set it in the run script (chpst -n, nice) if needed',
  umask: 'set it in the run script if needed',
  user: 'per-rule users are not translated (the service runs as its inetd user)',
  group: 'per-rule groups are not translated',
  keepalive: 'socket options are not translated',
  linger: 'socket options are not translated',
};

function parseOptions(fields: string[], refuse: string[]): Option[] {
  const out: Option[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i].trim();
    if (f === '') continue;
    const m = /^([A-Za-z_]+)\s*(?:=\s*|\s+|$)([\s\S]*)$/.exec(f);
    const name = m ? m[1].toLowerCase() : f;
    const value = m ? m[2].trim() : '';
    if (name === 'allow' || name === 'deny') { out.push({ k: name }); continue; }
    if (name === 'setenv') {
      const sv = /^(\S+)\s+([\s\S]*)$/.exec(value) ?? /^(\S+)()$/.exec(value);
      if (!sv || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(sv[1])) { refuse.push(`setenv ${value}: not a variable name and value`); continue; }
      if (sv[2].includes('%')) { refuse.push(`setenv ${sv[1]}: % expansions are not translated`); continue; }
      out.push({ k: 'setenv', name: sv[1], value: sv[2] });
      continue;
    }
    if (name === 'twist') {
      // The command is the rest of the line.
      const cmd = [value, ...fields.slice(i + 1)].join(':').trim();
      if (cmd.includes('%')) refuse.push(`twist ${cmd}: % expansions are not translated`);
      else out.push({ k: 'twist', cmd });
      break;
    }
    if (name === 'spawn') {
      const cmd = [value, ...fields.slice(i + 1)].join(':').trim();
      out.push({ k: 'ignored', text: `spawn ${cmd}`, reason: IGNORED_OPTIONS.spawn });
      break;
    }
    const reason = IGNORED_OPTIONS[name];
    out.push({ k: 'ignored', text: f, reason: reason ?? 'unknown option' });
  }
  return out;
}

/** One hosts.allow or hosts.deny file's rules, in order; lines that are not rules go to bad. */
export function parseHostsFile(text: string, file: string, table: 'allow' | 'deny',
                               bad: (w: Where, what: string, reason: string) => void): Rule[] {
  const rules: Rule[] = [];
  for (const { line, text: t } of logicalLines(text)) {
    const where = { file, line };
    const fields = splitColons(t);
    if (fields.length < 2) {
      bad(where, t, 'not "daemons : clients [: options]"; the whole file is not converted');
      throw new HostsError(where, t);
    }
    const refuse: string[] = [];
    const options = parseOptions(fields.slice(2), refuse);
    rules.push({ where, table, daemons: parseList(fields[0], parseDaemon), clients: parseList(fields[1], parseClient), options, refuse });
  }
  return rules;
}

export class HostsError extends Error {
  constructor(readonly where: Where, readonly text: string) {
    super(`${where.file}:${where.line}: not an access rule: ${text}`);
  }
}

/** Does the daemon list match the service's daemon name? undefined when a pattern cannot be judged. */
export function daemonMatch(l: List<DaemonPat>, daemon: string): boolean | undefined {
  let any: boolean | undefined = false;
  for (const p of l.pats) {
    if (p.k === 'all' || (p.k === 'name' && p.n === daemon.toLowerCase())) { any = true; break; }
    if (p.k === 'bad' && !(p.n !== undefined && p.n !== 'all' && p.n !== daemon.toLowerCase())) any = undefined;
  }
  if (any !== true) return any;
  if (!l.except) return true;
  const ex = daemonMatch(l.except, daemon);
  return ex === undefined ? undefined : !ex;
}

/** The bad client patterns of a list, EXCEPT parts included. */
export function badClients(l: List<ClientPat> | undefined): Array<{ text: string; reason: string }> {
  if (!l) return [];
  const out: Array<{ text: string; reason: string }> = [];
  for (const p of l.pats) if (p.k === 'bad') out.push({ text: p.text, reason: p.reason });
  return out.concat(badClients(l.except));
}

export function badDaemons(l: List<DaemonPat> | undefined): Array<{ text: string; reason: string }> {
  if (!l) return [];
  const out: Array<{ text: string; reason: string }> = [];
  for (const p of l.pats) if (p.k === 'bad') out.push({ text: p.text, reason: p.reason });
  return out.concat(badDaemons(l.except));
}
