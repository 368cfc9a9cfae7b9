// sslclient's connection: TCP to the server, the TLS handshake (the server's
// certificate verified against -a/-A, or the system's CAs, and its name
// matched against the host argument, unless -X / -N), then the program
// started with descriptor 6 reading what the server sends and 7 writing to
// it, in plaintext; the relay runs here until both directions have ended.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { keepIgnored } from '../lib/ignored';
import { timerMs } from '../lib/timer';
import type { TlsSessionInfo } from './backend';
import { cipherBits } from './info';

export interface ClientOptions {
  host: string;
  /** The address to connect to (host resolved). */
  ip: string;
  port: number;
  localIp?: string;
  localPort?: number;
  /** -T: connect and handshake, ms. */
  timeoutMs: number;
  /** -x (default) / -X. */
  verify: boolean;
  /** -n (default) / -N: the certificate's names matched against host. */
  checkName: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  ciphers?: string;
  noDelay: boolean;
  /** --servername (SNI): default host, unless host is an address. */
  servername?: string;
  alpn: string[];
}

export interface Connected {
  socket: tls.TLSSocket;
  info: TlsSessionInfo;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

/** Connects and shakes hands; rejects with the words of the failure. */
export function connectTls(o: ClientOptions): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const raw = net.connect({ host: o.ip, port: o.port, localAddress: o.localIp, localPort: o.localPort, noDelay: o.noDelay, allowHalfOpen: true });
    raw.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    const s = tls.connect({
      socket: raw,
      servername: o.servername ?? (net.isIP(o.host) ? undefined : o.host),
      ca: o.ca, cert: o.cert, key: o.key, ciphers: o.ciphers,
      minVersion: 'TLSv1.2',
      rejectUnauthorized: o.verify,
      checkServerIdentity: o.verify && o.checkName ? (_h, cert) => tls.checkServerIdentity(o.host, cert) : () => undefined,
      ALPNProtocols: o.alpn.length ? o.alpn : undefined,
    });
    const timer = setTimeout(() => {
      s.destroy();
      raw.destroy();
      reject(new Error('timed out'));
    }, timerMs(o.timeoutMs));
    s.once('error', (e: Error & { reason?: string; code?: string }) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('secureConnect', () => {
      clearTimeout(timer);
      const c = s.getCipher();
      const peer = s.getPeerX509Certificate();
      resolve({
        socket: s,
        info: {
          protocol: s.getProtocol() ?? '', cipher: c.name, cipherBits: cipherBits(c.name), cipherAlgBits: cipherBits(c.name),
          sessionId: '', servername: '', alpn: typeof s.alpnProtocol === 'string' ? s.alpnProtocol : '',
          peerCert: peer ? peer.raw : null, verifyResult: s.authorized ? 0 : 1,
        },
        localIp: s.localAddress ?? '', localPort: s.localPort ?? 0,
        remoteIp: s.remoteAddress ?? o.ip, remotePort: s.remotePort ?? o.port,
      });
    });
  });
}

/**
 * Runs argv with fds 6 (from the server) and 7 (to the server), relaying;
 * resolves with its exit code (128+n for signal n) once it has exited and
 * the relay has ended. progTimeoutMs: nothing moving either way that long ends the relay.
 */
export function runWith(c: Connected, argv: string[], env: Record<string, string>, progTimeoutMs: number,
                        onError: (what: string, e: Error) => void): Promise<number> {
  return new Promise((resolve) => {
    const [file, args] = keepIgnored(argv[0], argv.slice(1));
    const child = spawn(file, args, { env, stdio: ['inherit', 'inherit', 'inherit', 'ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    const stdio = child.stdio as unknown as Array<net.Socket | null | undefined>;
    const toProg = stdio[6];
    const fromProg = stdio[7];
    const s = c.socket;
    let code: number | undefined;
    let relayDone = false;
    const settle = () => {
      if (code !== undefined && relayDone) resolve(code);
    };
    const endRelay = () => {
      if (relayDone) return;
      relayDone = true;
      s.destroy();
      toProg?.destroy();
      fromProg?.destroy();
      settle();
    };
    child.on('error', (e) => {
      onError(`unable to run ${argv[0]}`, e);
      code = 111;
      endRelay();
    });
    child.on('exit', (c2, sig) => {
      code = c2 ?? 128 + (sig ? require('node:os').constants.signals[sig] as number : 0);
      settle();
    });
    if (!toProg || !fromProg) return endRelay();
    s.on('error', (e) => { onError('unable to speak SSL', e); endRelay(); });
    s.on('close', endRelay);
    toProg.on('error', () => {});
    fromProg.on('error', () => {});
    // Not pipe(): a program gone would unpipe and pause the connection, and
    // with nothing read any more the process would end before the server's end.
    s.on('data', (d: Buffer) => {
      if (toProg.destroyed || toProg.writableEnded) return;
      if (!toProg.write(d)) {
        s.pause();
        const go = () => s.resume();
        toProg.once('drain', go);
        toProg.once('close', go);
      }
    });
    s.on('end', () => toProg.end());
    fromProg.on('data', (d: Buffer) => {
      if (!s.write(d)) {
        fromProg.pause();
        s.once('drain', () => fromProg.resume());
      }
    });
    // The program's end of file: close_notify, and once the server has ended too, the end.
    fromProg.on('end', () => s.end());
    if (progTimeoutMs > 0) s.setTimeout(timerMs(progTimeoutMs), endRelay);
  });
}
