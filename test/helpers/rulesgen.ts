// Deterministic random tcprules input in the classic (ucspi-tcp 0.88)
// language, for differential tests against /usr/bin/tcprules and
// /usr/bin/tcprulescheck. Addresses come from a small space so that random
// clients (peer()) hit exact rules, prefixes, ranges, hosts and infos alike.

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

const HOSTS = ['a.example.org', 'b.example.org', 'mail.example.com', 'x.y.z', 'localhost', 'example.org'];
const INFOS = ['joe', 'root', 'x'];
const QUOTES = ['"', "'", '/', 'x', ':', ','];

function ip(r: Rng): string {
  return `10.${r(3)}.${r(4)}.${r(12)}`;
}

function address(r: Rng): string {
  switch (r(12)) {
    case 0: return ip(r);
    case 1: return `10.${r(3)}.${r(4)}.`;
    case 2: return `10.${r(3)}.`;
    case 3: return `10.${r(3)}.${r(2)}-${r(5)}.`;            // range of a middle field
    case 4: return `10.${r(3)}.${r(4)}.${r(6)}-${r(14)}`;    // range at the end
    case 5: return `=${HOSTS[r(HOSTS.length)]}`;
    case 6: return `=.${HOSTS[r(HOSTS.length)].split('.').slice(-1 - r(2)).join('.')}`;
    case 7: return r(2) ? '=' : '';
    case 8: return `${INFOS[r(INFOS.length)]}@${ip(r)}`;
    case 9: return `${INFOS[r(INFOS.length)]}@=${HOSTS[r(HOSTS.length)]}`;
    case 10: return `1${r(3)}.`;
    default: return ip(r);
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
export function classicRules(r: Rng, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = r(20);
    if (k === 0) out.push('# comment: ' + address(r));
    else if (k === 1) out.push('');
    else if (k === 2) out.push('no colon here');
    else out.push(`${address(r)}:${instructions(r)}${['', ' ', '\t', ' \t '][r(4)]}`);
  }
  return out.join('\n') + (r(2) ? '\n' : '');
}

export interface GenPeer { ip: string; host?: string; info?: string }

export function peer(r: Rng): GenPeer {
  const p: GenPeer = { ip: r(10) === 0 ? `1${r(3)}.${r(3)}.0.1` : ip(r) };
  if (r(2)) p.host = HOSTS[r(HOSTS.length)];
  if (r(3) === 0) p.info = INFOS[r(INFOS.length)];
  return p;
}
