// Is the client to be blocked? rblsmtpd's decision, as ucspi-tcp 0.88's
// (Debian's, without the old default RBL): $RBLSMTPD first (empty: let it
// through; "-text": 553 text; "text": 451 text), else each -r (RBL: a TXT
// record under the reversed $TCPREMOTEIP lists it) and -a (anti-RBL: an A
// record lets it through) in the order given, until one decides. A lookup
// that fails for a while (no answer, SERVFAIL...) is fail-open unless -c was
// given before it, and makes any block of this client a 451.
//
// Texts and names are kept as byte strings (one char per byte, latin1), as
// the original handles bytes: a UTF-8 environment value becomes its bytes
// first. The questions go out as djb's library sends them (identify/query.ts).
import { answers, ask, fromDot, QueryError, TYPE_A, TYPE_TXT } from '../identify/query';

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
export function txtText(records: Buffer[]): string {
  let out = '';
  for (const r of records) {
    let left = 0;
    for (const b of r) {
      if (left === 0) { left = b; continue; }
      left--;
      out += b < 32 || b > 126 ? '?' : String.fromCharCode(b);
    }
  }
  return out;
}

/** The two questions, as djb's dns_txt and dns_ip4 ask them: each throws QueryError for a temporary failure. */
export interface Asker {
  txt(name: string): Promise<string>;
  a(name: string): Promise<boolean>;
}

export const asker: Asker = {
  async txt(name) {
    const q = fromDot(name);
    if (!q) throw new QueryError('bad name');
    return txtText(answers(await ask(q, TYPE_TXT), TYPE_TXT));
  },
  async a(name) {
    const q = fromDot(name);
    if (!q) throw new QueryError('bad name');
    return answers(await ask(q, TYPE_A), TYPE_A).some((r) => r.length === 4);
  },
};

export async function decide(rblsmtpd: string | undefined, remoteIp: string, lookups: readonly Lookup[],
                             dns: Asker = asker): Promise<Verdict> {
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
  const rev = reversed(bytesOf(remoteIp));
  for (const l of lookups) {
    if (decision !== 0) break;
    const name = rev + l.base;
    if (l.kind === 'rbl') {
      try {
        text = await dns.txt(name);
      } catch {
        mustNotBounce = true;
        if (l.failClosed) { text = 'temporary RBL lookup error'; decision = 2; }
        continue;
      }
      if (text !== '') decision = l.bounce ? 3 : 2;
    } else {
      let listed = literalAddress(name);
      if (listed === undefined) {
        try {
          listed = await dns.a(name);
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
