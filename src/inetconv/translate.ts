// hosts_access's first-match rules as a peers directory, whose lookup is
// most-specific-first. The address prefixes named anywhere in the rules are
// nested or disjoint, so they cut the address space into regions: a prefix
// less the listed prefixes inside it. Every address of a region matches the
// same patterns, so one evaluation of the rules, in their order, gives the
// region's decision, and the entry named by the prefix (tcpsvd finds the
// longest listed prefix first) carries it. Host names work the same way over
// domain suffixes, but tcpsvd tries them only after every address entry:
// a decision that depends on the name for an address that also has an entry
// cannot be expressed and is refused, as are regions whose decision differs
// between a name and its subdomains.
import { contains, entryName, key, show, type Prefix } from './prefix';
import type { ClientPat, List, Rule, Where } from './hosts';

export type Decision =
  | { a: 'deny'; by?: Where }
  | { a: 'allow'; env: Array<[string, string]>; by?: Where }
  | { a: 'twist'; cmd: string; env: Array<[string, string]>; by?: Where };

/** xinetd's only_from / no_access: the more specific match wins; len 0 matches every address. */
export interface XAccess { onlyFrom?: Prefix[]; noAccess?: Prefix[] }

export interface PeerEntry { mode: number; content: string }

export interface Translation {
  entries: Map<string, PeerEntry>;
  /** Some entry is a host name: the server must look names up (-p). */
  needHost: boolean;
  /** Why the rules cannot be expressed; empty when they can. */
  refused: string[];
  /** Where the translation is wider than the rules (a host name's entry also covers names under it). */
  caveats: string[];
}

interface Scenario { addr: Prefix | null; name: string | null }

function clientMatch(l: List<ClientPat>, s: Scenario): boolean {
  const one = (p: ClientPat): boolean => {
    switch (p.k) {
      case 'all': return true;
      case 'none': case 'bad': return false;
      case 'addr': return s.addr !== null && contains(p.p, s.addr);
      case 'domain': return s.name !== null && s.name.endsWith('.' + p.d);
      case 'host': return s.name === p.h;
      case 'local': return s.name !== null && !s.name.includes('.');
    }
  };
  if (!l.pats.some(one)) return false;
  return !(l.except && clientMatch(l.except, s));
}

function decideRules(rules: Rule[], s: Scenario): Decision {
  for (const r of rules) {
    if (!clientMatch(r.clients, s)) continue;
    let action: 'allow' | 'deny' = r.table;
    const env: Array<[string, string]> = [];
    for (const o of r.options) {
      if (o.k === 'allow' || o.k === 'deny') action = o.k;
      else if (o.k === 'setenv') env.push([o.name, o.value]);
      else if (o.k === 'twist') return { a: 'twist', cmd: o.cmd, env, by: r.where };
    }
    return action === 'deny' ? { a: 'deny', by: r.where } : { a: 'allow', env, by: r.where };
  }
  return { a: 'allow', env: [] };
}

function decideAccess(x: XAccess | undefined, s: Scenario): boolean {
  if (!x || (x.onlyFrom === undefined && x.noAccess === undefined)) return true;
  const best = (list: Prefix[] | undefined) => {
    let n = -1;
    for (const p of list ?? []) if (p.len === 0 || (s.addr !== null && contains(p, s.addr))) n = Math.max(n, p.len);
    return n;
  };
  const allow = best(x.onlyFrom), deny = best(x.noAccess);
  if (deny >= 0 && deny >= allow) return false;
  if (allow >= 0) return true;
  return x.onlyFrom === undefined;
}

const same = (a: Decision, b: Decision) => sig(a) === sig(b);
function sig(d: Decision): string {
  return d.a === 'deny' ? 'D' : JSON.stringify([d.a, d.a === 'twist' ? d.cmd : '', d.env]);
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function entryFor(d: Decision): PeerEntry {
  if (d.a === 'deny') return { mode: 0o000, content: '' };
  if (d.a === 'allow') return { mode: 0o644, content: d.env.map(([k, v]) => `+${k}=${v}\n`).join('') };
  // tcpd's twist gives the command the client as stdin, stdout and stderr.
  const envLines = d.env.map(([k, v]) => `${k}=${shq(v)}; export ${k}\n`).join('');
  return { mode: 0o755, content: `exec 2>&1\n${envLines}${d.cmd}\n` };
}

const where = (d: Decision) => (d.by ? `${d.by.file}:${d.by.line}` : 'the default (allow)');

/** rules: the allow table's rules for this daemon, then the deny table's, in file order. */
export function translate(rules: Rule[], access?: XAccess): Translation {
  const refused: string[] = [];
  const caveats: string[] = [];
  const prefixes = new Map<string, Prefix>();
  const nodes = new Set<string>();
  const exactNodes = new Set<string>();
  const domainNodes = new Set<string>();
  const walk = (l: List<ClientPat> | undefined) => {
    if (!l) return;
    for (const p of l.pats) {
      if (p.k === 'addr') prefixes.set(key(p.p), p.p);
      else if (p.k === 'domain') { nodes.add(p.d); domainNodes.add(p.d); }
      else if (p.k === 'host') { nodes.add(p.h); exactNodes.add(p.h); }
    }
    walk(l.except);
  };
  for (const r of rules) walk(r.clients);
  for (const p of [...(access?.onlyFrom ?? []), ...(access?.noAccess ?? [])]) if (p.len > 0) prefixes.set(key(p), p);

  const decide = (s: Scenario): Decision => (decideAccess(access, s) ? decideRules(rules, s) : { a: 'deny' });
  // Names that stand for every name a lookup can end with: none, one without
  // a dot (LOCAL), an unrelated one; and per node the node itself and a name under it.
  const loose: Array<string | null> = [null, 'inetconv-no-such-host', 'no-such-host.inetconv.invalid'];
  const nodeReps = (n: string) => [n, `inetconv-sub.${n}`];
  const allNames = [...loose, ...[...nodes].flatMap(nodeReps)];

  const entries = new Map<string, PeerEntry>();
  for (const p of prefixes.values()) {
    const name = entryName(p);
    if (name === undefined) { refused.push(`${show(p)} has no peers entry name`); continue; }
    const ds = allNames.map((n) => decide({ addr: p, name: n }));
    const diff = ds.find((d) => !same(d, ds[0]));
    if (diff) {
      refused.push(`for clients in ${show(p)} the decision depends on the host name (${where(ds[0])} or ${where(diff)}), but tcpsvd looks up address entries before names`);
      continue;
    }
    entries.set(name, entryFor(ds[0]));
  }

  const root = loose.map((n) => decide({ addr: null, name: n }));
  const rootDiff = root.find((d) => !same(d, root[0]));
  if (rootDiff) refused.push(`the decision depends on whether the client has a name, or one with a dot (${where(root[0])} or ${where(rootDiff)}): LOCAL and the like cannot be expressed`);
  const rootD = root[0];
  if (!same(rootD, { a: 'allow', env: [] })) entries.set('0', entryFor(rootD));

  // Domain entries, parents first: one is written only when it differs from
  // what its names would get without it (the nearest written parent, or 0).
  let needHost = false;
  const written = new Map<string, Decision>();
  const depth = (n: string) => n.split('.').length;
  for (const n of [...nodes].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1))) {
    const [selfD, sub] = nodeReps(n).map((x) => decide({ addr: null, name: x }));
    // A peers entry for a name covers the names under it too. With only
    // ".n" patterns, n itself is taken as one of them (a client named exactly
    // like a domain is rare; see inetconv(8)); with only "n", the names under
    // it get n's decision, and this is listed; with both, it is refused.
    let self = selfD;
    if (!same(selfD, sub)) {
      if (exactNodes.has(n) && domainNodes.has(n)) {
        refused.push(`${n} and names under it get different decisions (${where(selfD)} or ${where(sub)}); a peers entry for a name covers both`);
        continue;
      }
      if (domainNodes.has(n)) self = sub;
      else caveats.push(`the entry for ${n} also covers the names under it, which the rules decide otherwise (${where(sub)})`);
    }
    let parent = rootD;
    for (let h = n.indexOf('.') >= 0 ? n.slice(n.indexOf('.') + 1) : ''; h !== ''; h = h.indexOf('.') >= 0 ? h.slice(h.indexOf('.') + 1) : '') {
      const w = written.get(h);
      if (w) { parent = w; break; }
    }
    if (same(self, parent)) continue;
    if (/^[0-9.]+$/.test(n)) { refused.push(`${n} looks like an address; tcpsvd never looks such a name up`); continue; }
    written.set(n, self);
    entries.set(n, entryFor(self));
    needHost = true;
  }
  return { entries, needHost, refused, caveats };
}
