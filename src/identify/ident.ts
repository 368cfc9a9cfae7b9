// RFC 1413 client: ask the client's identd which user owns the connection.
// The reply is cleaned as ucspi-tcp 0.88 cleans it (remoteinfo.c): blanks,
// tabs and CRs dropped wherever they are, every other byte after the third
// colon kept (latin1, one char per byte), up to the newline or 257 bytes; no
// check of the ports or of USERID (an ERROR reply gives its error word); a
// NUL ends the value, as it ends the C string the original puts in the
// environment. No newline before the identd hangs up, or no answer by the
// deadline: unknown.
import * as net from 'node:net';
import { timerMs } from '../lib/timer';

/** ucspi-tcp stops reading once it keeps more than 256 bytes. */
export const MAX_INFO = 257;

/** The reply, fed as it arrives; done once the value is known. */
export class IdentReply {
  private colons = 0;
  private out = '';
  done = false;

  /** Feeds latin1 bytes; returns the value once complete (newline, or MAX_INFO bytes kept), else undefined. */
  feed(chunk: string): string | undefined {
    if (this.done) return this.value();
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      if (ch === 0x20 || ch === 0x09 || ch === 0x0d) continue;
      if (ch === 0x0a) return this.finish();
      if (this.colons < 3) {
        if (ch === 0x3a) this.colons++;
      } else {
        this.out += chunk[i];
        if (this.out.length >= MAX_INFO) return this.finish();
      }
    }
    return undefined;
  }

  private finish(): string {
    this.done = true;
    return this.value();
  }

  private value(): string {
    const nul = this.out.indexOf('\0');
    return nul < 0 ? this.out : this.out.slice(0, nul);
  }
}

/** A whole reply → TCPREMOTEINFO, or undefined when it has no newline and is short. */
export function parseIdent(reply: string): string | undefined {
  return new IdentReply().feed(reply);
}

export function identLookup(local: { ip: string; port: number }, remote: { ip: string; port: number },
                            timeoutMs: number, identPort = 113): Promise<string | undefined> {
  return new Promise((resolve) => {
    const reply = new IdentReply();
    let done = false;
    const finish = (v: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), timerMs(timeoutMs));
    // From the address the client connected to, so its identd sees the pair it knows.
    const sock = net.connect({ host: remote.ip, port: identPort, localAddress: local.ip });
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(`${remote.port} , ${local.port}\r\n`));
    sock.on('data', (d: string) => {
      const v = reply.feed(d);
      if (reply.done) finish(v);
    });
    // Hung up before the newline: remoteinfo.c's read gives 0, a failure.
    sock.on('end', () => finish(undefined));
    sock.on('error', () => finish(undefined));
  });
}
