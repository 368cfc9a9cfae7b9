// The program's environment under sslserver: ucspi-ssl's SSL* connection
// variables, and with -s the mod_ssl-style SSL_* set (the session and the
// client's certificate), plus s6-tlsserver's SSL_TLS_SNI_SERVERNAME and
// SSL_PEER_CERT_HASH, and our SSL_ALPN_PROTOCOL.
//
// Distinguished names are written as ucspi-ssl writes them (OpenSSL's
// X509_NAME_oneline): "/C=DE/O=Example/CN=host", fields in the certificate's
// order, a '/' before each; a field's value as it is, a '/' in it included.
import type { ConnEnv } from '../engine/environ';
import { X509Certificate, createHash } from 'node:crypto';
import { decimal } from '../decimal';
import { toBytes } from '../lib/bytes';
import type { TlsSessionInfo } from './backend';

/** Every name sslserver sets per connection: never taken from the server's own environment. */
export const SSL_CONN_VARS = [
  'PROTO', 'SSLLOCALIP', 'SSLLOCALPORT', 'SSLLOCALHOST', 'SSLREMOTEIP', 'SSLREMOTEPORT', 'SSLREMOTEHOST',
  'SSLREMOTEINFO',
];

/** Whether name is one the -s set may define (so the server's own copy is dropped). */
export function isSslSessionVar(name: string): boolean {
  return name.startsWith('SSL_') && !['SSL_UID', 'SSL_GID', 'SSL_CHROOT'].includes(name);
}

/** The connection as the TCP* variables say it, less the family. */
export type SslConn = Omit<ConnEnv, 'v6'>;

/** ucspi-ssl's connection variables (PROTO=SSL unless -e, whose TCP* and PROTO the engine sets). */
export function pushSslConn(out: string[], c: SslConn, proto: boolean): void {
  if (proto) out.push('PROTO=SSL');
  out.push('SSLLOCALIP=' + c.localIp, 'SSLLOCALPORT=' + decimal(c.localPort));
  if (c.localHost !== undefined) out.push('SSLLOCALHOST=' + toBytes(c.localHost));
  out.push('SSLREMOTEIP=' + c.remoteIp, 'SSLREMOTEPORT=' + decimal(c.remotePort));
  if (c.remoteHost !== undefined) out.push('SSLREMOTEHOST=' + c.remoteHost);
  if (c.remoteInfo !== undefined) out.push('SSLREMOTEINFO=' + c.remoteInfo);
}

/** Node's subject/issuer text ("C=DE\nO=x\nCN=y") as pairs. */
function fields(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return out;
}

/** "/C=DE/O=x/CN=y". */
export function oneline(text: string): string {
  return fields(text).map(([k, v]) => `/${k}=${v}`).join('');
}

// mod_ssl's field names for the attributes OpenSSL prints.
const FIELD: Record<string, string> = {
  C: 'C', ST: 'ST', L: 'L', O: 'O', OU: 'OU', CN: 'CN', emailAddress: 'Email', title: 'T', initials: 'I',
  GN: 'G', SN: 'S', description: 'D', UID: 'UID', serialNumber: 'SerialNumber', DC: 'DC',
};

function pushDn(out: string[], prefix: string, text: string): void {
  out.push(`${prefix}=${toBytes(oneline(text))}`);
  const seen = new Map<string, number>();
  for (const [k, v] of fields(text)) {
    const f = FIELD[k];
    if (!f) continue;
    // mod_ssl: the first value as NAME, further ones as NAME_1, NAME_2 ...
    const n = seen.get(f) ?? 0;
    seen.set(f, n + 1);
    out.push(`${prefix}_${f}${n ? '_' + n : ''}=${toBytes(v)}`);
  }
}

/** "sha256:" and the lower-case hex SHA-256 of the certificate's DER (s6's SSL_PEER_CERT_HASH). */
export function certHash(der: Buffer): string {
  return 'sha256:' + createHash('sha256').update(der).digest('hex');
}

/** The -s set, from what the handshake established; peer: whose certificate it is (sslclient: the server's). */
export function pushSslSession(out: string[], i: TlsSessionInfo, version: string, peer: 'CLIENT' | 'SERVER' = 'CLIENT'): void {
  out.push('SSL_PROTOCOL=' + i.protocol, 'SSL_CIPHER=' + i.cipher,
    'SSL_CIPHER_USEKEYSIZE=' + decimal(i.cipherBits), 'SSL_CIPHER_ALGKEYSIZE=' + decimal(i.cipherAlgBits));
  if (i.sessionId !== '') out.push('SSL_SESSION_ID=' + i.sessionId);
  out.push('SSL_VERSION_INTERFACE=' + version, 'SSL_VERSION_LIBRARY=OpenSSL/' + process.versions.openssl);
  if (i.servername !== '') out.push('SSL_TLS_SNI_SERVERNAME=' + i.servername, 'SSL_TLS_SNI=' + i.servername);
  if (i.alpn !== '') out.push('SSL_ALPN_PROTOCOL=' + i.alpn);
  if (!i.peerCert) return;
  let x: X509Certificate;
  try {
    x = new X509Certificate(i.peerCert);
  } catch {
    return;
  }
  const P = 'SSL_' + peer;
  out.push(`${P}_M_SERIAL=` + x.serialNumber.toUpperCase());
  pushDn(out, `${P}_S_DN`, x.subject);
  pushDn(out, `${P}_I_DN`, x.issuer);
  out.push(`${P}_V_START=` + x.validFrom, `${P}_V_END=` + x.validTo);
  if (peer === 'CLIENT') out.push('SSL_CLIENT_VERIFY=' + (i.verifyResult === 0 ? 'SUCCESS' : 'FAILED:' + decimal(i.verifyResult)));
  out.push(`${P}_CERT=` + x.toString().trimEnd(), 'SSL_PEER_CERT_HASH=' + certHash(i.peerCert));
}
