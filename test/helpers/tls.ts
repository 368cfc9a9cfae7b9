// TLS test material made at test time (ECDSA P-256 with openssl: a CA,
// server certificates for names, client certificates), and clients: Node's
// tls (quick, exact) and the installed tools (openssl s_client, gnutls-cli,
// curl), every one bounded.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { spawn, which } from './common';

export const OPENSSL = which('openssl');
export const GNUTLS = which('gnutls-cli');
export const CURL = which('curl');
export const STUNNEL = which('stunnel4') ?? which('stunnel');

function ossl(args: string[], cwd: string): void {
  execFileSync(OPENSSL ?? 'openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

export interface Ca {
  dir: string;
  cert: string;
  key: string;
}

/** A CA (self-signed, P-256) in dir. */
export function makeCa(dir: string, cn = 'Test CA'): Ca {
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${cn}`, '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  return { dir, cert: path.join(dir, 'ca.pem'), key: path.join(dir, 'ca.key') };
}

let serial = 0;

/**
 * A certificate for subject (e.g. "/C=DE/O=Example/CN=a.example") signed by
 * ca, with dns names as subjectAltName; files <base>.pem and <base>.key in ca.dir.
 */
export function makeCert(ca: Ca, base: string, subject: string, dns: string[] = [], client = false): { cert: string; key: string } {
  const dir = ca.dir;
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject,
    '-keyout', `${base}.key`, '-out', `${base}.csr`], dir);
  const ext = path.join(dir, `${base}.ext`);
  writeFileSync(ext, (dns.length ? `subjectAltName=${dns.map((d) => 'DNS:' + d).join(',')}\n` : '') +
    `extendedKeyUsage=${client ? 'clientAuth' : 'serverAuth'}\n`);
  ossl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(1000 + ++serial),
    '-days', '2', '-extfile', ext, '-out', `${base}.pem`], dir);
  return { cert: path.join(dir, `${base}.pem`), key: path.join(dir, `${base}.key`) };
}

export interface TlsTalk {
  /** What the server sent, to its end. */
  data: string;
  protocol: string;
  /** The server certificate's subject CN. */
  cn: string;
  alpn: string;
  /** Why the connection failed, '' when it did not. */
  error: string;
}

/** A TLS client (Node's): connect, send, half-close, read to the end; bounded. */
export function tlsTalk(port: number, o: tls.ConnectionOptions & { send?: string; keepOpen?: boolean; ms?: number } = {}): Promise<TlsTalk> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let protocol = '', cn = '', alpn = '', error = '';
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...o });
    const t = setTimeout(() => {
      error ||= 'timed out';
      s.destroy();
    }, o.ms ?? 10_000);
    s.on('secureConnect', () => {
      protocol = s.getProtocol() ?? '';
      cn = String(s.getPeerCertificate()?.subject?.CN ?? '');
      alpn = typeof s.alpnProtocol === 'string' ? s.alpnProtocol : '';
      if (o.send !== undefined) s.write(o.send);
      if (!o.keepOpen) s.end();
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => { error ||= e.code ?? e.message; });
    s.on('close', () => {
      clearTimeout(t);
      resolve({ data: Buffer.concat(chunks).toString(), protocol, cn, alpn, error });
    });
  });
}

/** A tool run with input, bounded: its exit code, stdout and stderr. */
export function runTool(cmd: string, args: string[], input: string, ms = 15_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.stderr!.on('data', (d) => { err += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
    p.stdin!.on('error', () => {});
    p.stdin!.end(input);
  });
}

/** openssl s_client -brief: stdout is the data, stderr the session (Protocol version, Peer certificate). */
export function sClient(port: number, extra: string[] = [], input = ''): Promise<{ code: number | null; out: string; err: string }> {
  return runTool(OPENSSL ?? 'openssl', ['s_client', '-brief', '-connect', `127.0.0.1:${port}`, ...extra], input);
}
