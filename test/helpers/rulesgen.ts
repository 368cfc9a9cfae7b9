// Deterministic random tcprules input in the classic (ucspi-tcp 0.88)
// language, for differential tests against /usr/bin/tcprules and
// /usr/bin/tcprulescheck. Addresses come from a small space so that random
// clients (peer()) hit exact rules, prefixes, ranges, hosts and infos alike:
// 10/8 by default, or LOOPBACK, addresses a test can connect from to a
// server on 127.0.0.1. peersTree() makes ipsvd peers entries the same way.

export type Rng = (n: number) => number;

export function rng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    // xorshift32: cheap and reproducible
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s % n;
  };
}

export const HOSTS = ['a.example.org', 'b.example.org', 'mail.example.com', 'x.y.z', 'localhost', 'example.org'];
const INFOS = ['joe', 'root', 'x'];
const QUOTES = ['"', "'", '/', 'x', ':', ','];

/** Where the addresses of rules and clients come from. */
export interface Space {
  first: string;
  /** A client address. */
  ip(r: Rng): string;
  /** A one-field prefix rule ("10.", ...). */
  net(r: Rng): string;
}

export const TEN: Space = {
  first: '10',
  ip: (r) => `10.${r(3)}.${r(4)}.${r(12)}`,
  net: (r) => `1${r(3)}.`,
};

/** 127.0-2.0-3.1-12: sources a test can bind on loopback (never x.y.z.0). */
export const LOOPBACK: Space = {
  first: '127',
  ip: (r) => `127.${r(3)}.${r(4)}.${1 + r(12)}`,
  net: (r) => `12${5 + r(3)}.`,
};

export interface RulesOptions {
  /** Also CIDR rules (ucspi-tcp6's, not in the classic language). */
  cidr?: boolean;
}

function address(r: Rng, space: Space, o: RulesOptions): string {
  const f = space.first;
  if (o.cidr && r(5) === 0) return `${f}.${r(3)}.${r(4)}.${r(12)}/${20 + r(13)}`;
  switch (r(12)) {
    case 0: return space.ip(r);
    case 1: return `${f}.${r(3)}.${r(4)}.`;
    case 2: return `${f}.${r(3)}.`;
    case 3: return `${f}.${r(3)}.${r(2)}-${r(5)}.`;            // range of a middle field
    case 4: return `${f}.${r(3)}.${r(4)}.${r(6)}-${r(14)}`;    // range at the end
    case 5: return `=${HOSTS[r(HOSTS.length)]}`;
    case 6: return `=.${HOSTS[r(HOSTS.length)].split('.').slice(-1 - r(2)).join('.')}`;
    case 7: return r(2) ? '=' : '';
    case 8: return `${INFOS[r(INFOS.length)]}@${space.ip(r)}`;
    case 9: return `${INFOS[r(INFOS.length)]}@=${HOSTS[r(HOSTS.length)]}`;
    case 10: return space.net(r);
    default: return space.ip(r);
  }
}

function instructions(r: Rng): string {
  let s = r(3) === 0 ? 'deny' : 'allow';
  const n = r(4);
  for (let i = 0; i < n; i++) {
    const q = QUOTES[r(QUOTES.length)];
    const val = ['', 'yes', 'a b', 'x=y', '12'][r(5)].split(q).join('');
    s += `,V${r(5)}=${q}${val}${q}`;
  }
  return s;
}

/** n lines of rules with comments, blank lines and trailing blanks mixed in. */
export function classicRules(r: Rng, n: number, space: Space = TEN, o: RulesOptions = {}): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = r(20);
    if (k === 0) out.push('# comment: ' + address(r, space, o));
    else if (k === 1) out.push('');
    else if (k === 2) out.push('no colon here');
    else out.push(`${address(r, space, o)}:${instructions(r)}${['', ' ', '\t', ' \t '][r(4)]}`);
  }
  return out.join('\n') + (r(2) ? '\n' : '');
}

export interface GenPeer { ip: string; host?: string; info?: string }

export function peer(r: Rng, space: Space = TEN): GenPeer {
  const p: GenPeer = { ip: r(10) === 0 ? `${space.net(r)}${r(3)}.0.1` : space.ip(r) };
  if (r(2)) p.host = HOSTS[r(HOSTS.length)];
  if (r(3) === 0) p.info = INFOS[r(INFOS.length)];
  return p;
}

/** One file of an ipsvd peers directory: its name, mode and contents. */
export interface PeerEntry { name: string; mode: number; text: string }

export interface PeersOptions {
  /** Also CIDR entries ("net_len", ours only). */
  cidr?: boolean;
  /** Names the =host lines may check (the test's DNS gives them addresses). */
  checkNames?: string[];
}

/** An executable entry's command, naming the entry: it prints EXEC=name, then the environment. */
export function execCommand(name: string): string {
  return `echo EXEC=${name}; exec /usr/bin/env`;
}

function entryName(r: Rng, space: Space, o: PeersOptions): string {
  const f = space.first;
  if (o.cidr && r(5) === 0) {
    const len = 20 + r(12);
    const a = ((Number(f) << 24) | (r(3) << 16) | (r(4) << 8) | r(13)) >>> 0;
    const m = (a & ~(0xffffffff >>> len)) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}_${len}`;
  }
  // Prefixes from a wider space than the clients' (and never the first
  // field alone, which every client has), so that some clients get past
  // them to the entries named by host and domain.
  switch (r(10)) {
    case 0: return `${f}.${r(3)}.${r(8)}`;
    case 1: return `${f}.${r(12)}`;
    case 2:
    case 3: return HOSTS[r(HOSTS.length)];
    case 4: return HOSTS[r(HOSTS.length)].split('.').slice(-1 - r(2)).join('.');
    case 5: return `fwd${r(3)}`;
    default: return space.ip(r);
  }
}

function entryLine(r: Rng, space: Space, o: PeersOptions): string {
  const names = o.checkNames ?? [];
  switch (r(12)) {
    case 0: return `+FOO`;
    case 1: return `C${1 + r(2)}`;
    case 2: return `C${1 + r(2)}:busy${r(3)}\\r\\n`;
    case 3: return '=0';
    case 4: return `=${space.ip(r)}`;
    case 5: return names.length ? `=${names[r(names.length)]}` : '=0';
    case 6: return `=${r(2) ? '0' : names.length ? names[r(names.length)] : space.ip(r)}:fwd${r(3)}`;
    case 7: return r(2) ? '# a comment' : '';
    case 8: return 'bogus line';
    default: return `+V${r(5)}=${['', 'yes', 'a b', 'x=y', '12'][r(5)]}`;
  }
}

/**
 * n peers entries (names unique, the first drawn wins): deny (mode 0),
 * executable (execCommand), or instruction lines of every kind: variables
 * set and unset, limits with and without message, =host checks (any client,
 * an address, a name, with forward entries fwd0..fwd2), comments, a bad line.
 */
export function peersTree(r: Rng, n: number, space: Space = TEN, o: PeersOptions = {}): PeerEntry[] {
  const out = new Map<string, PeerEntry>();
  for (let i = 0; i < n; i++) {
    const name = entryName(r, space, o);
    const k = r(8);
    let e: PeerEntry;
    if (k === 0) e = { name, mode: 0, text: '' };
    else if (k === 1) e = { name, mode: 0o755, text: execCommand(name) + '\n' };
    else {
      const lines: string[] = [];
      for (let j = 1 + r(5); j > 0; j--) lines.push(entryLine(r, space, o));
      e = { name, mode: 0o644, text: lines.join('\n') + (r(4) ? '\n' : '') };
    }
    if (!out.has(name)) out.set(name, e);
  }
  return [...out.values()];
}
