// The TLS backend on Node's own tls: handshakes and records on the event
// loop thread (the addon's backend, native.ts, keeps them off it). Runs
// everywhere Node runs. One secure context per certificate pair, built when
// configure() is called; the pair for a handshake is chosen by the client's
// SNI name (sni.ts). Renegotiation is refused (SSL_OP_NO_RENEGOTIATION).
import { constants as cc } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { CertPair, TlsBackend, TlsConnection, TlsServerConfig, TlsSessionInfo } from './backend';
import { pickPair } from './sni';
import { cipherBits, sessionIdOf, verifyCode } from './info';

/** How long a finishing connection may go without writing anything before it is closed. */
const LINGER_MS = 30_000;
/** The same once the client has sent its close_notify. */
const LINGER_AFTER_EOF_MS = 2_000;

type Done = (err: Error | null, conn?: TlsConnection) => void;

interface Built {
  cfg: TlsServerConfig;
  /** Contexts in the order of cfg.pairs. */
  ctx: tls.SecureContext[];
}

export interface NodeTlsConnection extends TlsConnection {
  /** relay() to a stream this process already has open (the pure-Node socket pair). */
  relayStream(s: net.Socket, onEnd: () => void): void;
  /** Ends the relay now (program timeout, the program gone): close_notify, then close. */
  finish(): void;
}

export interface NodeTlsBackend extends TlsBackend {
  readonly name: 'node';
  /** handshake() on the net.Server path's accepted socket (its fd is libuv's already). */
  handshakeSocket(s: net.Socket, cb: Done): void;
}

function contextFor(cfg: TlsServerConfig, p: CertPair): tls.SecureContext {
  return tls.createSecureContext({
    cert: p.cert,
    key: p.key,
    ca: cfg.ca,
    ciphers: cfg.ciphers,
    // (Node takes the TLS 1.3 suites; its typings do not list them.)
    ...(cfg.ciphersuites ? { ciphersuites: cfg.ciphersuites } as tls.SecureContextOptions : {}),
    minVersion: cfg.minVersion,
    maxVersion: 'TLSv1.3',
    dhparam: cfg.dhparam,
    honorCipherOrder: true,
    // eslint-disable-next-line no-bitwise
    secureOptions: cc.SSL_OP_NO_RENEGOTIATION | cc.SSL_OP_NO_COMPRESSION,
  });
}

function build(cfg: TlsServerConfig): Built {
  if (cfg.pairs.length === 0) throw new Error('no certificate');
  return { cfg, ctx: cfg.pairs.map((p) => contextFor(cfg, p)) };
}

export function nodeTlsBackend(): NodeTlsBackend {
  let cur: Built | undefined;

  function start(raw: net.Socket, cb: Done): void {
    const b = cur;
    if (!b) {
      raw.destroy();
      return cb(new Error('not configured'));
    }
    const cfg = b.cfg;
    const def = pickPair(cfg.pairs, '');
    let settled = false;
    // The client's end of file is the program's, not ours: what it still writes goes out.
    raw.allowHalfOpen = true;
    const s = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: b.ctx[def < 0 ? 0 : def],
      SNICallback(name, sniCb) {
        const i = pickPair(cfg.pairs, name);
        sniCb(null, i < 0 ? undefined : b.ctx[i]);
      },
      requestCert: cfg.verify !== 'none',
      rejectUnauthorized: cfg.verify === 'require',
      ALPNProtocols: cfg.alpn.length ? cfg.alpn : undefined,
    });
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      raw.destroy();
      cb(e);
    };
    const timer = setTimeout(() => fail(Object.assign(new Error('handshake timed out'), { code: 'ETIMEDOUT' })),
      cfg.handshakeTimeoutMs);
    s.on('error', fail);
    s.once('close', () => fail(new Error('connection closed during the handshake')));
    s.once('secure', () => {
      if (settled) return;
      // A TLSSocket made by hand never checks the client's certificate (tls.Server
      // does, on 'secure', with what OpenSSL's verification left): checked here
      // the same way. Whatever cannot be asked counts as a failure.
      const verr = cfg.verify === 'none' ? null : verifyError(s);
      if (verr && cfg.verify === 'require') {
        // Closed without an alert: the TLS library took the certificate (Node's
        // verify callback accepts every one) and no alert can be sent from
        // here; a reset (resetAndDestroy) under the TLS layer crashes Node.
        return fail(Object.assign(new Error(verr), { code: verr }));
      }
      settled = true;
      clearTimeout(timer);
      s.removeListener('error', fail);
      cb(null, connection(s, raw, cfg, verr));
    });
    // (raw is never resumed: the TLS layer reads its descriptor; raw reading
    // as well would take records away from it.)
  }

  return {
    name: 'node',
    configure(cfg) {
      cur = build(cfg);
    },
    handshake(fd, cb) {
      let raw: net.Socket;
      try {
        // Paused as net.Server's pauseOnConnect makes it (pauseOnCreate, which
        // the typings do not list): read, it would take the records away from the TLS layer.
        raw = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true, pauseOnCreate: true } as net.SocketConstructorOpts);
      } catch (e) {
        return cb(e as Error);
      }
      start(raw, cb);
    },
    handshakeSocket(s, cb) {
      start(s, cb);
    },
  };
}

/**
 * OpenSSL's verdict on the client's certificate, as tls.Server reads it (the
 * TLS handle's verifyError): null when it verified, else its code word
 * ('NO_PEER_CERTIFICATE' without one).
 */
function verifyError(s: tls.TLSSocket): string | null {
  if (!s.getPeerX509Certificate()) return 'NO_PEER_CERTIFICATE';
  const h = (s as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (!h || typeof h.verifyError !== 'function') return 'UNABLE_TO_CHECK';
  const e = h.verifyError();
  return e ? (e.code ?? e.message) : null;
}

function infoOf(s: tls.TLSSocket, cfg: TlsServerConfig, verr: string | null): TlsSessionInfo {
  const c = s.getCipher();
  const bits = cipherBits(c.name);
  const peer = cfg.verify === 'none' ? undefined : s.getPeerX509Certificate();
  return {
    protocol: s.getProtocol() ?? '',
    cipher: c.name,
    cipherBits: bits,
    cipherAlgBits: bits,
    sessionId: sessionIdOf(s.getSession()),
    servername: typeof s.servername === 'string' ? s.servername : '',
    alpn: typeof s.alpnProtocol === 'string' ? s.alpnProtocol : '',
    peerCert: peer ? peer.raw : null,
    verifyResult: peer === undefined || verr === null ? 0 : verifyCode(verr),
  };
}

function connection(s: tls.TLSSocket, raw: net.Socket, cfg: TlsServerConfig, verr: string | null): NodeTlsConnection {
  const info = infoOf(s, cfg, verr);
  let prog: net.Socket | undefined;
  let ended = false;
  let finishing = false;
  let onEndCb: (() => void) | undefined;
  const noop = () => {};
  s.on('error', noop);
  raw.on('error', noop);
  // The client's end of file may come before the relay starts (the socket
  // pair is made in between): kept, and handed on when it does.
  let clientEnded = false;
  s.once('end', () => { clientEnded = true; });
  const end = () => {
    if (ended) return;
    ended = true;
    s.destroy();
    raw.destroy();
    prog?.destroy();
    onEndCb?.();
  };
  const conn: NodeTlsConnection = {
    info,
    relay(fd, onEnd) {
      let p: net.Socket;
      try {
        p = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
      } catch {
        onEndCb = onEnd;
        return end();
      }
      conn.relayStream(p, onEnd);
    },
    relayStream(p, onEnd) {
      prog = p;
      onEndCb = onEnd;
      // The client gone or broken: everything ends at once.
      s.on('error', end);
      s.on('close', end);
      // The program gone (its end of file, its socket closed, a write to it
      // failed): what it wrote is still sent, then close_notify.
      p.on('error', () => conn.finish());
      p.on('close', () => conn.finish());
      // Client → program: its close_notify (or FIN) is the program's end of file.
      s.on('data', (d: Buffer) => {
        if (!p.write(d)) {
          s.pause();
          p.once('drain', () => s.resume());
        }
      });
      if (clientEnded) p.end();
      else s.on('end', () => p.end());
      // Program → client: its end of file is close_notify, then the connection closes.
      p.on('data', (d: Buffer) => {
        if (!s.write(d)) {
          p.pause();
          s.once('drain', () => p.resume());
        }
      });
      p.on('end', () => conn.finish());
    },
    finish() {
      if (ended || finishing) return;
      finishing = true;
      prog?.destroy();
      // close_notify and FIN once everything written has gone; a client that
      // stops reading is let go after LINGER_MS without progress. After the
      // client's own close_notify, Node's TLS never completes a write to a
      // client that has then closed its socket (no callback, no error, seen
      // with openssl s_time): such a connection is let go after
      // LINGER_AFTER_EOF_MS without progress.
      s.setTimeout(clientEnded ? LINGER_AFTER_EOF_MS : LINGER_MS, end);
      s.end(() => end());
    },
    drop() {
      end();
    },
  };
  return conn;
}
