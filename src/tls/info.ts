// What the handshake established, in the forms the SSL_* variables take:
// key sizes from the cipher's name, the session ID out of OpenSSL's
// serialized session, OpenSSL's verify codes from Node's words for them.

/** Bits of the bulk cipher named (OpenSSL or IANA name); 0 when not known. */
export function cipherBits(name: string): number {
  const n = name.toUpperCase();
  if (n.includes('CHACHA20')) return 256;
  const m = /AES[_-]?(128|256)/.exec(n) ?? /CAMELLIA[_-]?(128|256)/.exec(n) ?? /ARIA[_-]?(128|256)/.exec(n);
  if (m) return Number(m[1]);
  if (n.includes('3DES') || n.includes('DES-CBC3')) return 168;
  return 0;
}

/** One DER element at off: [tag, start of contents, end of contents], or null when cut short. */
function der(b: Buffer, off: number): [number, number, number] | null {
  if (off + 2 > b.length) return null;
  const tag = b[off];
  let len = b[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const k = len & 0x7f;
    if (k === 0 || k > 3 || p + k > b.length) return null;
    len = 0;
    for (let i = 0; i < k; i++) len = len * 256 + b[p + i];
    p += k;
  }
  if (p + len > b.length) return null;
  return [tag, p, p + len];
}

/**
 * The session ID, upper-case hex ('' when none), from i2d_SSL_SESSION's
 * SEQUENCE { version, ssl version, cipher, session id, ... }. Only the ID is
 * taken; the serialized session (it holds the master secret) is not kept.
 */
export function sessionIdOf(sess: Buffer | undefined): string {
  if (!sess) return '';
  const top = der(sess, 0);
  if (!top || top[0] !== 0x30) return '';
  let p = top[1];
  for (let i = 0; i < 4; i++) {
    const e = der(sess, p);
    if (!e) return '';
    if (i === 3) return e[0] === 0x04 ? sess.subarray(e[1], e[2]).toString('hex').toUpperCase() : '';
    p = e[2];
  }
  return '';
}

// OpenSSL's X509_V_ERR_* numbers for the words Node reports.
const VERIFY: Record<string, number> = {
  UNABLE_TO_GET_ISSUER_CERT: 2,
  UNABLE_TO_GET_CRL: 3,
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 4,
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 6,
  CERT_SIGNATURE_FAILURE: 7,
  CERT_NOT_YET_VALID: 9,
  CERT_HAS_EXPIRED: 10,
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 13,
  ERROR_IN_CERT_NOT_AFTER_FIELD: 14,
  OUT_OF_MEM: 17,
  DEPTH_ZERO_SELF_SIGNED_CERT: 18,
  SELF_SIGNED_CERT_IN_CHAIN: 19,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21,
  CERT_CHAIN_TOO_LONG: 22,
  CERT_REVOKED: 23,
  INVALID_CA: 24,
  PATH_LENGTH_EXCEEDED: 25,
  INVALID_PURPOSE: 26,
  CERT_UNTRUSTED: 27,
  CERT_REJECTED: 28,
};

/** OpenSSL's verify code for Node's authorizationError word; 1 (unspecified) when not known. */
export function verifyCode(word: string): number {
  return VERIFY[word] ?? 1;
}
