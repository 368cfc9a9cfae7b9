// xinetd.conf: "defaults { }" and "service name { attr = value ... }" blocks,
// "includedir dir" (every file in dir whose name has no '.' and does not end
// in '~', in name order, as xinetd reads them).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseIPv4, parseIPv6 } from '../lib/ip';
import type { Where } from './hosts';
import { prefixOf, type Prefix } from './prefix';
import { INTERNAL, unwrap, type InternalLine, type Note, type Service } from './service';

// Known to xinetd, without an equivalent here: listed, the service converted without them.
const UNSUPPORTED = ['banner', 'banner_success', 'banner_fail', 'max_load', 'rlimit_as', 'rlimit_cpu', 'rlimit_data',
  'rlimit_rss', 'rlimit_stack', 'deny_time', 'umask', 'groups', 'nice', 'mdns', 'v6only'];

type Attrs = Map<string, { op: string; values: string[]; where: Where }>;

const KNOWN = new Set(['socket_type', 'protocol', 'wait', 'user', 'group', 'server', 'server_args', 'port', 'bind',
  'interface', 'instances', 'per_source', 'only_from', 'no_access', 'disable', 'type', 'env', 'passenv', 'cps', 'id',
  'libwrap', 'flags', 'log_type', 'log_on_success', 'log_on_failure', 'redirect', 'access_times', ...UNSUPPORTED]);

/** An xinetd address: a.b.c.d (trailing zero octets are wildcards), net/len, [v6]; undefined if not translatable. */
function xAddr(w: string): Prefix | undefined {
  const slash = w.indexOf('/');
  if (slash > 0) {
    const len = Number(w.slice(slash + 1));
    const a = w.slice(0, slash);
    const v4 = parseIPv4(a);
    if (v4 && /^\d+$/.test(w.slice(slash + 1)) && len <= 32) return prefixOf(false, Uint8Array.from(v4), len).prefix;
    const v6 = parseIPv6(a);
    if (v6 && /^\d+$/.test(w.slice(slash + 1)) && len <= 128) return prefixOf(true, v6, len).prefix;
    return undefined;
  }
  const v4 = parseIPv4(w);
  if (v4) {
    let n = 4;
    while (n > 0 && v4[n - 1] === 0) n--;
    return prefixOf(false, Uint8Array.from(v4), 8 * n).prefix;
  }
  const v6 = parseIPv6(w);
  return v6 ? prefixOf(true, v6, 128).prefix : undefined;
}

function readBlocks(file: string, notes: Note[], out: Array<{ kind: string; name: string; where: Where; attrs: Attrs }>, seen: Set<string>): void {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  let cur: { kind: string; name: string; where: Where; attrs: Attrs } | undefined;
  let pending: { kind: string; name: string; where: Where } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const where = { file, line: i + 1 };
    const t = lines[i].replace(/#.*$/, '').trim();
    if (t === '') continue;
    if (!cur) {
      let m = /^includedir\s+(\S+)$/.exec(t);
      if (m) {
        const dir = path.isAbsolute(m[1]) ? m[1] : path.join(path.dirname(file), m[1]);
        let names: string[] = [];
        try { names = fs.readdirSync(dir).sort(); } catch (e) { notes.push({ where, what: t, reason: `cannot read ${dir}: ${(e as Error).message}` }); }
        for (const n of names) {
          if (n.includes('.') || n.endsWith('~')) continue;
          const f = path.join(dir, n);
          if (seen.has(path.resolve(f)) || !fs.statSync(f).isFile()) continue;
          seen.add(path.resolve(f));
          readBlocks(f, notes, out, seen);
        }
        continue;
      }
      m = /^include\s+(\S+)$/.exec(t);
      if (m) {
        const f = path.isAbsolute(m[1]) ? m[1] : path.join(path.dirname(file), m[1]);
        if (!seen.has(path.resolve(f))) { seen.add(path.resolve(f)); readBlocks(f, notes, out, seen); }
        continue;
      }
      m = /^(service)\s+(\S+)\s*(\{)?$/.exec(t) ?? /^(defaults)()\s*(\{)?$/.exec(t);
      if (m) {
        pending = { kind: m[1], name: m[2], where };
        if (m[3]) { cur = { ...pending, attrs: new Map() }; pending = undefined; }
        continue;
      }
      if (t === '{' && pending) { cur = { ...pending, attrs: new Map() }; pending = undefined; continue; }
      notes.push({ where, what: t, reason: 'not an xinetd.conf statement' });
      continue;
    }
    if (t === '}') { out.push(cur); cur = undefined; continue; }
    const m = /^([A-Za-z_]+)\s*(\+=|-=|=)\s*(.*)$/.exec(t);
    if (!m) { notes.push({ where, what: t, reason: 'not "attribute = value"' }); continue; }
    const [, name, op, value] = m;
    const values = name === 'server_args' ? [value] : value.split(/\s+/).filter((v) => v !== '');
    const prev = cur.attrs.get(name);
    if (prev && op === '+=') prev.values.push(...values);
    else cur.attrs.set(name, { op, values, where });
  }
  if (cur) notes.push({ where: cur.where, what: `${cur.kind} ${cur.name}`, reason: 'block not closed; not converted' });
}

/**
 * Services of an xinetd.conf; internal ones go to internals, as lines for
 * our inetd. A service that cannot be converted has every reason listed.
 */
export function parseXinetd(file: string, notes: Note[], internals: InternalLine[] = []): Service[] {
  const blocks: Array<{ kind: string; name: string; where: Where; attrs: Attrs }> = [];
  readBlocks(file, notes, blocks, new Set([path.resolve(file)]));
  const out: Service[] = [];
  let defaults: Attrs = new Map();
  for (const b of blocks) {
    if (b.kind === 'defaults') { defaults = b.attrs; continue; }
    const a = new Map(b.attrs);
    for (const k of ['only_from', 'no_access', 'instances', 'per_source', 'passenv', 'env', 'cps', 'bind']) {
      const d = defaults.get(k);
      if (!d) continue;
      const own = a.get(k);
      if (!own) a.set(k, d);
      else if (own.op === '+=') a.set(k, { ...own, values: [...d.values, ...own.values] });
    }
    const one = (k: string) => a.get(k)?.values.join(' ');
    const note = (what: string, reason: string, k?: string) => notes.push({ where: (k && a.get(k)?.where) || b.where, what, reason });
    const label = `service ${b.name}`;
    // Every reason the service cannot be converted, listed together at the end.
    const refused: Note[] = [];
    const refuse = (what: string, reason: string, k?: string) => refused.push({ where: (k && a.get(k)?.where) || b.where, what, reason: reason.includes('not converted') ? reason : `${reason}; not converted` });
    for (const [k, v] of a) if (!KNOWN.has(k)) note(`${k} = ${v.values.join(' ')}`, `${k} is not translated`, k);
    if (one('disable') === 'yes') { note(label, 'disabled: not converted'); continue; }
    const internal = /\bINTERNAL\b/.test(one('type') ?? '');
    if (/\bRPC\b/.test(one('type') ?? '')) refuse(label, 'RPC services are not converted');
    for (const k of UNSUPPORTED) if (a.has(k)) note(`${k} = ${one(k)}`, `${k} is not translated`, k);
    if (a.has('redirect')) refuse(label, 'redirect: tcpsvd does not forward connections');
    if (a.has('access_times')) refuse(label, 'access_times: no time-of-day rules in peers entries');
    const socktype = one('socket_type'), wait = one('wait'), server = one('server');
    const proto = one('protocol') ?? (socktype === 'dgram' ? 'udp' : 'tcp');
    let kind: 'tcp' | 'udp' | undefined;
    if (socktype === 'stream' && /^tcp6?$/.test(proto)) {
      if (wait === 'yes' && !internal) refuse(label, 'stream with wait = yes: the program accepts connections itself');
      kind = 'tcp';
    } else if (socktype === 'dgram' && proto === 'udp') {
      kind = 'udp';
    } else refuse(label, `${socktype}/${proto}: not converted`);
    for (const k of ['log_type', 'log_on_success', 'log_on_failure']) {
      if (a.has(k)) note(`${k} = ${one(k)}`, internal ? 'our inetd logs to syslog' : 'tcpsvd -v logs every connection to the log service instead', k);
    }
    if (a.has('flags')) note(`flags = ${one('flags')}`, 'socket and logging flags are not translated', 'flags');
    if (a.has('passenv') && !internal) note(`passenv = ${one('passenv')}`, 'xinetd passes only the listed variables; tcpsvd passes its whole environment', 'passenv');
    const num = (k: string): number | undefined => {
      const v = one(k);
      if (v === undefined || v === 'UNLIMITED') return undefined;
      if (!/^\d+$/.test(v)) { note(`${k} = ${v}`, 'not a number; not translated', k); return undefined; }
      return Number(v);
    };
    if (internal) {
      // Our inetd serves it, by its official name on its own port, without access control.
      const name = b.name;
      if (!Object.hasOwn(INTERNAL, name)) refuse(label, `internal service ${name}: our inetd serves only ${Object.keys(INTERNAL).join(', ')}`);
      const port = one('port');
      if (port !== undefined && Object.hasOwn(INTERNAL, name) && port !== String(INTERNAL[name])) refuse(`port = ${port}`, `our inetd serves ${name} on its own port, ${INTERNAL[name]}`, 'port');
      for (const k of ['only_from', 'no_access']) if (a.has(k)) refuse(`${k} = ${one(k)}`, 'our inetd has no access control for internal services', k);
      for (const k of ['instances', 'per_source', 'cps', 'env', 'passenv']) if (a.has(k)) note(`${k} = ${one(k)}`, 'an internal service of our inetd takes no such limit or setting; not translated', k);
      if (refused.length > 0 || kind === undefined) { notes.push(...refused); continue; }
      const bind = one('bind') ?? one('interface');
      const field0 = bind === undefined ? name : `${bind.includes(':') ? `[${bind}]` : bind}:${name}`;
      // As inetd.conf has them: a datagram internal service waits, a stream one does not.
      const waitWord = kind === 'udp' ? 'wait' : 'nowait';
      const user = one('user') ?? 'root';
      internals.push({ where: b.where, service: name, line: [field0, socktype, proto, waitWord, one('group') ? `${user}:${one('group')}` : user, 'internal'].join('\t'),
        daemon: one('libwrap') ?? one('id') ?? name });
      continue;
    }
    if (!server) refuse(label, 'no server');
    const addrs = (k: string): Prefix[] | undefined => {
      const v = a.get(k);
      if (!v) return undefined;
      const ps: Prefix[] = [];
      for (const w of v.values) {
        const p = xAddr(w);
        if (p) ps.push(p); else refused.push({ where: v.where, what: `${k} = ${w}`, reason: 'host names, domains and factorised addresses are not translated; service not converted' });
      }
      return ps;
    };
    const access = { onlyFrom: addrs('only_from'), noAccess: addrs('no_access') };
    if (refused.length > 0 || kind === undefined || !server) { notes.push(...refused); continue; }
    if (kind === 'udp' && wait === 'no') note(label, 'dgram with wait = no: udpsvd runs one program at a time');
    let rate: Service['rate'];
    const cps = a.get('cps');
    if (cps) {
      const [r, w] = cps.values;
      if (kind === 'udp') note(`cps = ${one('cps')}`, 'a connection rate: udpsvd has none; not translated', 'cps');
      else if (!/^\d{1,9}$/.test(r ?? '') || Number(r) < 1) note(`cps = ${one('cps')}`, 'not a rate tcpsvd --rate can take; not translated', 'cps');
      else {
        rate = { count: Number(r), seconds: 1 };
        note(`cps = ${one('cps')}`, `tcpsvd --rate=${r}/1, a rate per client address: each may connect ${r} times a second, and only it is refused past that; xinetd counted the service's connections and then stopped the service${w ? ` for ${w} seconds` : ''}`, 'cps');
      }
    }
    const argv = [server.replace(/^.*\//, ''), ...(one('server_args') ?? '').split(/\s+/).filter((x) => x !== '')];
    const uw = unwrap(server, argv.slice(1));
    const bind = one('bind') ?? one('interface') ?? (kind === 'udp' || proto === 'tcp' ? (kind === 'udp' ? '0.0.0.0' : '0') : '::');
    const env: Array<[string, string]> = [];
    for (const e of a.get('env')?.values ?? []) {
      const eq = e.indexOf('=');
      if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(e.slice(0, eq))) env.push([e.slice(0, eq), e.slice(eq + 1)]);
      else note(`env = ${e}`, 'not NAME=value; left out', 'env');
    }
    out.push({
      where: b.where, service: b.name, kind, host: bind, port: one('port') ?? b.name,
      user: one('user'), group: one('group'),
      program: uw ? uw.program : server, argv: uw ? uw.argv : argv,
      daemon: one('libwrap') ?? (uw ? uw.argv[0].replace(/^.*\//, '') : one('id') ?? b.name),
      concurrency: num('instances'), perHost: kind === 'tcp' ? num('per_source') : undefined,
      env, access, rate,
    });
  }
  return out;
}
