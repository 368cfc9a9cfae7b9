// The addon's TLS engine (native/tls.cc) behind TlsBackend: handshakes and
// records run on the addon's threads, the event loop only hears of results.
// null without the addon, or with an addon built without TLS.
import { closeSync } from 'node:fs';
import { addonPart } from '../native';
import type { TlsBackend, TlsConnection, TlsServerConfig, TlsSessionInfo } from './backend';

/** The native backend's configuration: TlsServerConfig plus what only it can do. */
export interface NativeTlsConfig extends TlsServerConfig {
  /**
   * Kernel TLS, opt-in: after the handshake the keys go to the kernel when it
   * has the "tls" ULP, and the socket itself is the program's (kernelFd);
   * elsewhere the relay serves, as without it.
   *
   * Limits once the kernel has the record layer (Linux's kTLS, not ours):
   * AES-GCM (128, 256) and ChaCha20-Poly1305 only (another suite: the relay);
   * a record that is not application data (an alert, close_notify included,
   * a TLS 1.3 KeyUpdate or any post-handshake message) reaches a program that
   * read(2)s as EIO, since only recvmsg(2) with a control buffer sees its
   * type; the program cannot send close_notify, so its exit ends the stream
   * with a bare FIN (clients that insist on close_notify report a truncation);
   * a KeyUpdate from the client is not answered (kernels before 6.14 cannot
   * take the new key), so a client that rekeys is cut off; renegotiation is off
   * anyway. Bytes OpenSSL already read past the handshake (none without
   * read-ahead; checked) would be lost, so then the relay serves instead.
   */
  ktls?: boolean;
}

/** What setsockopt(SOL_TLS, TLS_TX / TLS_RX) gets: linux/tls.h's crypto_info structs, byte for byte. */
export interface KtlsParams {
  /** 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3). */
  version: number;
  /** TLS_CIPHER_AES_GCM_128 (51), _AES_GCM_256 (52), _CHACHA20_POLY1305 (54). */
  cipherType: number;
  tx: Buffer;
  rx: Buffer;
}

export interface NativeTlsSession extends TlsSessionInfo {
  /** With ktls: the socket's fd when the kernel took the keys, else -errno of the refusal. */
  kernel?: number;
  /** With ktls and a suite the kernel carries (AES-GCM, ChaCha20-Poly1305). */
  ktls?: KtlsParams;
}

export interface NativeTlsConnection extends TlsConnection {
  readonly info: NativeTlsSession;
  /**
   * The TLS socket itself, blocking, its record layer in the kernel, for the
   * program's fd 0 and 1 (no relay); the caller owns and closes it. null: relay.
   */
  readonly kernelFd: number | null;
}

const KIND_DONE = 0;
const KIND_FAILED = 1;

type Pending = { cb: (err: Error | null, conn?: TlsConnection) => void } | { onEnd: () => void } | null;

let backend: TlsBackend | null | undefined;

/** The native TLS backend (one per process), or null without it. */
export function nativeTlsBackend(): TlsBackend | null {
  if (backend !== undefined) return backend;
  const addon = addonPart('tls');
  if (!addon) return (backend = null);
  const { tlsSetup, tlsConfigure, tlsHandshake, tlsRelay, tlsDrop } = addon;
  // id -> who hears next: the handshake's callback, then the relay's onEnd.
  const waiting = new Map<number, Pending>();
  const threads = Number(process.env.UCSPI_TLS_THREADS) || 2;
  let started = false;

  function onEvent(id: number, kind: number, detail: unknown): void {
    const w = waiting.get(id);
    if (!w) return;
    if (kind === KIND_DONE || kind === KIND_FAILED) {
      if (!('cb' in w)) return;
      if (kind === KIND_FAILED) {
        waiting.delete(id);
        w.cb(new Error(String(detail)));
        return;
      }
      const info = detail as NativeTlsSession;
      const kernelFd = info.kernel !== undefined && info.kernel >= 0 ? info.kernel : null;
      if (kernelFd !== null) waiting.delete(id);
      else waiting.set(id, null);
      let used = false;
      const conn: NativeTlsConnection = {
        info,
        kernelFd,
        relay(fd: number, onEnd: () => void, idleMs = 0): void {
          if (used || kernelFd !== null) throw new Error('tls: relay: the connection is no longer waiting');
          used = true;
          waiting.set(id, { onEnd });
          tlsRelay(id, fd, idleMs);
        },
        drop(): void {
          if (kernelFd !== null) {
            if (!used) closeSync(kernelFd);
            used = true;
            return;
          }
          if (!waiting.has(id)) return;
          const p = waiting.get(id);
          // A relay ends with its onEnd; a connection not yet relayed ends here.
          if (!p) waiting.delete(id);
          used = true;
          tlsDrop(id);
        },
      };
      w.cb(null, conn);
      return;
    }
    // The relay ended.
    waiting.delete(id);
    if ('onEnd' in w) w.onEnd();
  }

  return (backend = {
    name: 'native',
    configure(cfg: TlsServerConfig): void {
      tlsConfigure(cfg);
    },
    handshake(fd, cb): void {
      if (!started) {
        tlsSetup(onEvent, threads);
        started = true;
      }
      let id: number;
      try {
        id = tlsHandshake(fd);
      } catch (e) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
        process.nextTick(cb, e as Error);
        return;
      }
      waiting.set(id, { cb });
    },
  });
}
