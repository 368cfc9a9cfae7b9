// Is the client to be blocked? rblsmtpd's decision, as ucspi-tcp 0.88's
// (Debian's, without the old default RBL): $RBLSMTPD first (empty: let it
// through; "-text": 553 text; "text": 451 text), else each -r (RBL: a TXT
// record under the reversed $TCPREMOTEIP lists it) and -a (anti-RBL: an A
// record lets it through) in the order given, until one decides. A lookup
// that fails for a while (no answer, SERVFAIL...) is fail-open unless -c was
// given before it, and makes any block of this client a 451.
//
// Texts are kept as byte strings (one char per byte, latin1), as the
// original handles bytes: a UTF-8 $RBLSMTPD becomes its bytes first.
import type { Dns } from '../identify/dns';

/** One -r or -a, with the -b/-B and -c/-C in force where it stood. */
export interface Lookup {
  kind: 'rbl' | 'anti';
  base: string;
  bounce: boolean;
  failClosed: boolean;
}

export type Verdict =
  | { block: false }
  | { block: true; code: '451' | '553'; text: string };

/** Bytes of an environment value, one char per byte. */
export function bytesOf(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

/** "1.2.3.4" → "4.3.2.1." (the original's loop: any text, split at dots, reversed; "" → ""). */
export function reversed(ip: string): string {
  let out = '';
  let i = ip.length;
  while (i > 0) {
    const j = ip.lastIndexOf('.', i - 1) + 1;
    out += ip.slice(j, i) + '.';
    if (j === 0) break;
    i = j - 1;
  }
  return out;
}

/**
 * The name djb's dns_domain_fromdot makes of a dotted name: empty labels
 * dropped; undefined (the lookup fails) for a label over 63 bytes or a name
 * over 255. A name with backslash escapes goes to the resolver as written.
 */
export function queryName(name: string): string | undefined {
  if (name.includes('\\')) return name;
  const labels = name.split('.').filter((l) => l !== '');
  let len = 1;
  for (const l of labels) {
    const n = Buffer.byteLength(l, 'utf8');
    if (n > 63) return undefined;
    len += n + 1;
  }
  if (len > 255) return undefined;
  return labels.length === 0 ? '.' : labels.join('.');
}

/**
 * dns_ip4 takes a name of digits, dots and brackets as an address list
 * without asking: undefined when it asks, else whether that list holds an address.
 */
export function literalAddress(name: string): boolean | undefined {
  if (!/^[0-9.[\]]*$/.test(name)) return undefined;
  let dots = 0;
  for (const c of name) if (c === '.') dots++;
  return dots + 1 >= 4;
}

/** A TXT answer as dns_txt gives it: every string of every record, bytes below 32 or above 126 as '?'. */
export function txtText(records: string[][]): string {
  return records.map((r) => r.join('')).join('').replace(/[^\x20-\x7e]/g, '?');
}

export async function decide(rblsmtpd: string | undefined, remoteIp: string, lookups: readonly Lookup[],
                             dns: Pick<Dns, 'records'>): Promise<Verdict> {
  // 0 undecided, 1 let through, 2 block with 451, 3 block with 553.
  let decision = 0;
  let text = '';
  let mustNotBounce = false;
  if (rblsmtpd !== undefined) {
    const x = bytesOf(rblsmtpd);
    if (x === '') decision = 1;
    else if (x[0] === '-') { decision = 3; text = x.slice(1); }
    else { decision = 2; text = x; }
  }
  const rev = reversed(remoteIp);
  for (const l of lookups) {
    if (decision !== 0) break;
    const name = rev + l.base;
    if (l.kind === 'rbl') {
      let records: string[][];
      try {
        const q = queryName(name);
        if (q === undefined) throw new Error('bad name');
        records = await dns.records('TXT', q);
      } catch {
        mustNotBounce = true;
        if (l.failClosed) { text = 'temporary RBL lookup error'; decision = 2; }
        continue;
      }
      text = txtText(records);
      if (text !== '') decision = l.bounce ? 3 : 2;
    } else {
      let listed = literalAddress(name);
      if (listed === undefined) {
        try {
          const q = queryName(name);
          if (q === undefined) throw new Error('bad name');
          listed = (await dns.records('A', q)).length > 0;
        } catch {
          mustNotBounce = true;
          if (!l.failClosed) decision = 1;
          continue;
        }
      }
      if (listed) decision = 1;
    }
  }
  if (decision < 2) return { block: false };
  return { block: true, code: mustNotBounce || decision === 2 ? '451' : '553', text };
}
