// The PROXY header stage of one accepted client (--proxy): before identify
// and decide, a client from a trusted source must send its header within the
// bounded wait; the header's addresses then stand for the client's. Waiting
// never blocks other clients: the addon's path polls the raw fd
// (native/proxy.cc) and peeks; the pure-Node path, which has neither poll
// nor peek for a paused net.Socket, reads exact lengths and looks again
// after the current turn of the event loop, then on a timer of 1 to 20 ms.
// A client waiting for its header holds its -c slot.
import { readSync } from 'node:fs';
import { constants } from 'node:os';
import { timerMs } from '../lib/timer';
import type { Proxy } from '../native';
import { addonError } from '../native';
import { HeaderReader, type HeaderSource, type ProxyHeader, type Step, type Trust, looksLikeHeader } from './proxy';

export interface ProxyOptions {
  trust: Trust;
  timeoutMs: number;
}

/** The client as the stage sees it: the accepted socket and the addresses it may replace. */
export interface ProxySubject {
  readonly fd: number;
  readonly socket?: import('node:net').Socket;
  remoteIp: string;
  remotePort: number;
}

/** Why the client is dropped: the log's words. */
export interface ProxyFailure {
  what: string;
  err: string | NodeJS.ErrnoException;
}

/** done(failure) or done(undefined, header): header undefined for an untrusted client, which goes on untouched. */
export type ProxyStage = (c: ProxySubject, done: (fail: ProxyFailure | undefined, h?: ProxyHeader) => void) => void;

const EAGAIN = constants.errno.EAGAIN;

/** Exact non-blocking reads of a net.Socket's fd (non-blocking already; never resumed, so libuv reads nothing). */
function nodeSource(fd: number): HeaderSource {
  return {
    read(buf, off, len) {
      try {
        return readSync(fd, buf, off, len, null);
      } catch (e) {
        const errno = (e as NodeJS.ErrnoException).errno;
        return typeof errno === 'number' ? (errno < 0 ? errno : -errno) : -EAGAIN;
      }
    },
  };
}

function errnoError(neg: number, syscall: string): NodeJS.ErrnoException {
  return addonError(neg, syscall);
}

export function createProxyStage(o: ProxyOptions, addon: Proxy | null): ProxyStage {
  const probe = Buffer.allocUnsafe(12);
  const label = (c: ProxySubject) => `proxy header: ${c.remoteIp}:${c.remotePort}`;

  return (c, done) => {
    if (!o.trust.has(c.remoteIp)) {
      // Never waited for (a server-speaks-first prog greets at once); a header
      // already there is refused. Without the addon there is no peek: nothing is checked.
      if (addon) {
        const r = addon.proxyPeek(c.fd, probe, 0, probe.length);
        if (r > 0 && looksLikeHeader(probe, r)) return done({ what: label(c), err: 'from an untrusted source' });
      }
      return done(undefined);
    }
    const fd = c.fd;
    const reader = new HeaderReader(addon ? {
      read: (b, off, len) => addon.proxyRecv(fd, b, off, len),
      peek: (b, off, len) => addon.proxyPeek(fd, b, off, len),
    } : nodeSource(fd), (neg) => errnoError(neg, 'read'));
    // The usual case: the whole header is there when the client is accepted.
    const first = reader.step();
    if ('header' in first) return done(undefined, first.header);
    if ('error' in first) return done({ what: label(c), err: first.error });
    waitFor(c, reader, done);
  };

  /** The header has not (fully) arrived: wait for more, never past the timeout. */
  function waitFor(c: ProxySubject, reader: HeaderReader, done: Parameters<ProxyStage>[1]): void {
    const fd = c.fd;
    let waitId = 0;
    let retry: NodeJS.Timeout | undefined;
    let soon: NodeJS.Immediate | undefined;
    let delay = 0;
    const timer = setTimeout(() => {
      if (waitId) addon!.proxyCancel(waitId);
      if (retry) clearTimeout(retry);
      if (soon) clearImmediate(soon);
      done({ what: label(c), err: 'timed out' });
    }, timerMs(o.timeoutMs));
    const settle = (st: Step): boolean => {
      if ('wait' in st) return false;
      clearTimeout(timer);
      if ('error' in st) done({ what: label(c), err: st.error });
      else done(undefined, st.header);
      return true;
    };
    const again = () => {
      if (addon) {
        try {
          waitId = addon.proxyWait(fd, (status) => {
            waitId = 0;
            if (status < 0) {
              clearTimeout(timer);
              return done({ what: label(c), err: errnoError(status, 'poll') });
            }
            if (!settle(reader.step())) again();
          });
        } catch (e) {
          // The poll could not be set up (out of memory): this client is dropped, the server goes on.
          clearTimeout(timer);
          done({ what: label(c), err: e as NodeJS.ErrnoException });
        }
      } else if (delay === 0) {
        // The header usually follows the connection within microseconds: look again after this turn of the loop.
        delay = 1;
        soon = setImmediate(() => {
          soon = undefined;
          if (!settle(reader.step())) again();
        });
      } else {
        retry = setTimeout(() => {
          retry = undefined;
          delay = Math.min(delay * 2, 20);
          if (!settle(reader.step())) again();
        }, delay);
      }
    };
    again();
  }
}
