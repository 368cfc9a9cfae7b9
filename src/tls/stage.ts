// The TLS stage of one connection (sslserver): after the IP rules have let
// the client in and before its program starts. The handshake, bounded by -T
// (a client that stalls it holds its -c slot no longer); the client's
// certificate checked as -z/-m ask; then a socket pair, whose one end the
// program gets as fd 0 and 1 while the backend relays records to and from
// the other, and the SSL* variables. The connection is over (the engine's
// end, its slot freed) when both the program has exited and the relay has
// ended; -w bounds a relay with nothing moving either way.
import { X509Certificate } from 'node:crypto';
import { writeSync } from 'node:fs';
import type * as net from 'node:net';
import { timerMs } from '../lib/timer';
import type { TlsBackend, TlsConnection } from './backend';
import type { NodeTlsBackend, NodeTlsConnection } from './node';
import type { TlsSource } from './config';
import { type SslConn, pushSslConn, pushSslSession } from './env';
import { fdOf, socketPair } from './pair';
import type { Decision } from '../decide/decision';
import { type CertRuleSource, certKeys, withCertRule } from './rules';

export interface TlsSubject extends SslConn {
  readonly fd: number;
  readonly socket?: net.Socket;
}

/** Why the client is dropped: the log's words. */
export interface TlsFailure {
  what: string;
  err: string | NodeJS.ErrnoException;
}

export interface TlsReady {
  /** The program's end of the pair: the fd it gets as 0 and 1 ... */
  fd: number;
  /** ... and the socket that fd belongs to, when this process holds it as one (destroyed once the program has it). */
  socket?: net.Socket;
  /** The variables the program gets from this stage. */
  env: string[];
  /** -x: the decision with the client certificate's rule over the address rule's (src/tls/rules.ts). */
  decide?: (d: Decision) => Decision;
  /** cb once the relay has ended (at once when it has). */
  whenEnded(cb: () => void): void;
}

export type TlsStage = (c: TlsSubject, done: (fail: TlsFailure | undefined, r?: TlsReady) => void) => void;

export interface TlsStageOptions {
  backend: TlsBackend;
  source: TlsSource;
  /** -z: a client certificate required and verified, its names matched against TCPREMOTEHOST when there is one; -m: without the name check. */
  clientCert: 'none' | 'verify' | 'match';
  /** -e: the engine sets TCP* and PROTO; this stage then leaves PROTO alone. */
  tcpEnv: boolean;
  /** -s: the SSL_* session and certificate variables. */
  sslEnv: boolean;
  /** tcpsvd -E: no connection variables at all, SSL* ones neither. */
  noEnv?: boolean;
  /** -w: a relay idle this long (ms) ends. */
  progTimeoutMs: number;
  /** -B: written to the client over TLS before anything the program writes. */
  banner?: Buffer;
  /** -x: the rules, asked again by the client's certificate. */
  certRules?: CertRuleSource;
  /** SSL_VERSION_INTERFACE. */
  version: string;
}

/** The raw fds of the addon's socketpair(2), when it has one. */
type RawPair = () => [prog: number, mine: number];

export function createTlsStage(o: TlsStageOptions, rawPair?: RawPair): TlsStage {
  const node = o.backend.name === 'node' ? o.backend as NodeTlsBackend : undefined;
  return (c, done) => {
    o.source.refresh();
    const cb = (err: Error | null, conn?: TlsConnection) => {
      if (err || !conn) return done({ what: 'unable to accept SSL', err: err ? sslWords(err) : 'no connection' });
      const bad = checkClient(conn, c, o.clientCert);
      if (bad) {
        conn.drop();
        return done(bad);
      }
      let certRule: Decision | undefined;
      if (o.certRules && conn.info.peerCert) {
        try {
          certRule = o.certRules.decideKeys(certKeys(conn.info.peerCert, conn.info.verifyResult === 0));
        } catch (e) {
          conn.drop();
          return done({ what: 'unable to read rules', err: e as NodeJS.ErrnoException });
        }
      }
      const env: string[] = [];
      if (!o.noEnv) {
        pushSslConn(env, c, !o.tcpEnv);
        if (o.sslEnv) pushSslSession(env, conn.info, o.version);
      }
      if (certRule?.action === 'deny') {
        // Denied by its certificate: no program; the engine logs the deny.
        conn.drop();
        return done(undefined, { fd: -1, env, decide: (d) => withCertRule(d, certRule!), whenEnded: (w) => w() });
      }
      relayThrough(conn, env, certRule && ((d) => withCertRule(d, certRule!)), done);
    };
    // The net.Server path's socket is libuv's: the Node backend takes it as it is.
    if (c.socket && node) node.handshakeSocket(c.socket, cb);
    else o.backend.handshake(c.fd, cb);
  };

  /** -B: written into the program's end, as if the program had written it first (the relay sends it). */
  function banner(fd: number): boolean {
    if (!o.banner) return true;
    try {
      return writeSync(fd, o.banner) === o.banner.length;
    } catch {
      return false;
    }
  }

  function relayThrough(conn: TlsConnection, env: string[], decide: TlsReady['decide'], done: Parameters<TlsStage>[1]): void {
    let ended = false;
    const waiters: Array<() => void> = [];
    const onEnd = () => {
      if (ended) return;
      ended = true;
      for (const w of waiters.splice(0)) w();
    };
    const whenEnded = (w: () => void) => {
      if (ended) w();
      else waiters.push(w);
    };
    if (rawPair) {
      let fds: [number, number];
      try {
        fds = rawPair();
      } catch (e) {
        conn.drop();
        return done({ what: 'unable to create socketpair', err: e as NodeJS.ErrnoException });
      }
      if (!banner(fds[0])) {
        conn.drop();
        return done({ what: 'unable to write banner', err: 'socket pair full' });
      }
      conn.relay(fds[1], onEnd, o.progTimeoutMs);
      return done(undefined, { fd: fds[0], env, decide, whenEnded });
    }
    socketPair((err, p) => {
      if (err || !p) {
        conn.drop();
        return done({ what: 'unable to create socketpair', err: err as NodeJS.ErrnoException });
      }
      const fd = fdOf(p.prog);
      if (fd < 0) {
        p.prog.destroy();
        p.mine.destroy();
        conn.drop();
        return done({ what: 'unable to create socketpair', err: 'no descriptor' });
      }
      if (!banner(fd)) {
        p.prog.destroy();
        p.mine.destroy();
        conn.drop();
        return done({ what: 'unable to write banner', err: 'socket pair full' });
      }
      const nc = conn as NodeTlsConnection;
      if (o.progTimeoutMs > 0) {
        p.mine.setTimeout(timerMs(o.progTimeoutMs), () => nc.drop());
      }
      if (typeof nc.relayStream === 'function') {
        nc.relayStream(p.mine, onEnd);
      } else {
        p.mine.destroy();
        conn.drop();
        return done({ what: 'unable to relay', err: 'the TLS backend takes descriptors only' });
      }
      done(undefined, { fd, socket: p.prog, env, decide, whenEnded });
    });
  }
}

/** -z/-m: the client's certificate given, valid, and (-z, with a remote host name) naming the client. */
function checkClient(conn: TlsConnection, c: TlsSubject, mode: TlsStageOptions['clientCert']): TlsFailure | undefined {
  if (mode === 'none') return undefined;
  const i = conn.info;
  if (!i.peerCert) return { what: 'no client certificate', err: 'none sent' };
  if (i.verifyResult !== 0) return { what: 'unable to verify client certificate', err: `verify error ${i.verifyResult}` };
  if (mode === 'match' && c.remoteHost !== undefined && c.remoteHost !== '') {
    let ok: string | undefined;
    try {
      ok = new X509Certificate(i.peerCert).checkHost(c.remoteHost);
    } catch {
      ok = undefined;
    }
    if (ok === undefined) return { what: 'client name does not match certificate', err: c.remoteHost };
  }
  return undefined;
}

/** An OpenSSL error in a few words: its reason ("peer did not return a certificate"), else its code or message. */
function sslWords(e: Error & { reason?: unknown; code?: unknown }): string {
  if (typeof e.reason === 'string' && e.reason !== '') return e.reason;
  return e.message.split('\n')[0];
}
