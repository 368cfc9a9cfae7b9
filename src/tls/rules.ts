// The client's certificate in the rules (sslserver -x): after the handshake,
// a second lookup in the same rules cdb, by exact keys that no address or
// host name can be (tcprules keys end at the first ':', so none holds one):
//   %sha256=HEX          the certificate's SHA-256 fingerprint (DER), lower-case hex
//   %subject=/C=../CN=x  its subject, in the one-line form of SSL_CLIENT_S_DN
//                        (only for a certificate that verified)
// The first present decides: deny drops the connection (logged as a deny),
// allow adds its variables over the address rule's. Absent, or no
// certificate: the address rule alone decides, as before.
import { X509Certificate, createHash } from 'node:crypto';
import type { Decision } from '../decide/decision';
import { toBytes } from '../lib/bytes';
import { oneline } from './env';

export interface CertRuleSource {
  decideKeys(keys: readonly string[]): Decision | undefined;
}

/**
 * The keys tried for a certificate (DER), in order. The subject only for a
 * certificate that verified: anyone can make one with any subject, while the
 * fingerprint names that one certificate, whose key the handshake proved the
 * client holds.
 */
export function certKeys(der: Buffer, verified: boolean): string[] {
  const keys = ['%sha256=' + createHash('sha256').update(der).digest('hex')];
  if (!verified) return keys;
  try {
    const dn = oneline(new X509Certificate(der).subject);
    // A subject holding a ':' could never be a key: not looked up.
    if (!dn.includes(':')) keys.push('%subject=' + toBytes(dn));
  } catch {
    // not a certificate X509Certificate reads: the fingerprint alone
  }
  return keys;
}

/** The address rule's decision with the certificate rule's over it. */
export function withCertRule(d: Decision, c: Decision): Decision {
  if (c.action === 'deny') return { ...c, set: [], unset: [] };
  const names = new Set(c.set.map(([k]) => k));
  return {
    ...d,
    set: [...d.set.filter(([k]) => !names.has(k)), ...c.set],
    unset: [...d.unset.filter((k) => !names.has(k)), ...c.unset],
    matched: d.matched === undefined ? c.matched : `${d.matched} ${c.matched}`,
  };
}
