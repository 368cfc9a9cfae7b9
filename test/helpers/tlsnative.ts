// The native TLS backend's tests share: certificates made with openssl(1)
// (ECDSA P-256, a CA and what it signs), a loopback server that hands each
// accepted socket to the backend (the addon's accept path, as the servers
// use it), and the program's side of a relay as a net.Socket.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadNative, type Addon } from '../../src/native';
import type { TlsBackend, TlsConnection } from '../../src/tls/backend';
import { nativeTlsBackend } from '../../src/tls/native';

export const addon: Addon | null = loadNative();
export const backend: TlsBackend | null = nativeTlsBackend();
export const skipNative: string | false = backend ? false : 'the addon (with TLS) is not built';

export interface Pem {
  cert: Buffer;
  key: Buffer;
  /** The certificate, DER. */
  der: Buffer;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Certificates in dir: 'ca', and for each name a pair signed by the CA ('self:' prefix: self-signed). */
export function makeCerts(dir: string, names: string[]): Record<string, Pem> {
  const out: Record<string, Pem> = {};
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=Test CA', '-days', '2'], dir);
  const read = (base: string): Pem => {
    const cert = fs.readFileSync(path.join(dir, `${base}.pem`));
    const der = Buffer.from(cert.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64');
    return { cert, key: fs.readFileSync(path.join(dir, `${base}.key`)), der };
  };
  out.ca = read('ca');
  names.forEach((n, i) => {
    const self = n.startsWith('self:');
    const cn = self ? n.slice(5) : n;
    const base = `c${i}`;
    if (self) {
      openssl(['req', '-x509', ...ec, '-keyout', `${base}.key`, '-out', `${base}.pem`, '-subj', `/CN=${cn}`, '-days', '2'], dir);
    } else {
      openssl(['req', '-new', ...ec, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`], dir);
      fs.writeFileSync(path.join(dir, `${base}.ext`), `subjectAltName=DNS:${cn}\n`);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', `${base}.pem`, '-days', '2', '-extfile', `${base}.ext`], dir);
    }
    out[n] = read(base);
  });
  return out;
}

/** The CN of a certificate (DER or a peer certificate object's subject). */
export function cnOf(der: Buffer): string {
  return new (require('node:crypto').X509Certificate)(der).subject.replace(/^.*CN=/s, '').split('\n')[0];
}

export interface Server {
  port: number;
  close(): void;
}

/** A loopback listener whose accepted sockets go to backend.handshake, then to onConn. */
export function serve(onConn: (err: Error | null, conn?: TlsConnection) => void): Server {
  if (!addon || !backend) throw new Error('no addon');
  const [fd, port] = addon.listenTcp('127.0.0.1', 0, 4096);
  const handle = addon.acceptOpen(fd, 1 << 30, false, (words, n) => {
    for (let i = 0; i < n; i++) {
      const c = words[i * 12];
      if (c >= 0) backend!.handshake(c, onConn);
    }
  });
  return {
    port,
    close() {
      addon!.acceptClose(handle);
      fs.closeSync(fd);
    },
  };
}

/** Relays conn with a socket pair: the program's end as a net.Socket; done() when the relay has ended. */
export function program(conn: TlsConnection): { sock: net.Socket; ended: Promise<void> } {
  const [mine, theirs] = addon!.socketPair!();
  let done!: () => void;
  const ended = new Promise<void>((r) => (done = r));
  conn.relay(mine, done);
  const sock = new net.Socket({ fd: theirs, readable: true, writable: true, allowHalfOpen: true });
  return { sock, ended };
}

/** How many descriptors this process holds. */
export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}
