// A connected pair of UNIX stream sockets between the server and one
// program: the program's end becomes its fd 0 and 1, the server relays TLS
// records to and from the other. Node has no socketpair(2): each pair is
// one connection to a listening socket of this process, in Linux's abstract
// namespace (no file to plant or remove), whose name holds 128 random bits.
// Anyone on the machine can see the name and connect, so the connecting end
// (ours) first sends a 16-byte token, random per pair, and an accepted
// connection that does not send a token we are waiting for, within the
// bound, is closed: a stranger can never become a program's stdin.
import { randomBytes } from 'node:crypto';
import { readSync } from 'node:fs';
import * as net from 'node:net';

const TOKEN = 16;
/** How long an accepted connection may take to send its token. */
const TOKEN_MS = 5000;

export interface Pair {
  /** The program's end (its fd goes to the launcher; destroyed once the program has it). */
  prog: net.Socket;
  /** The server's end, for the relay. */
  mine: net.Socket;
}

type Waiter = (s: net.Socket) => void;

let server: net.Server | undefined;
let name = '';
let ready: Promise<void> | undefined;
const waiting = new Map<string, Waiter>();

/** A net.Socket's descriptor (the pair's program end goes to the launcher as one). */
export function fdOf(s: net.Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * The accepted end is never read by this process (accepted paused): what
 * comes on it is the program's. Its token is taken with exact non-blocking
 * reads of the descriptor, looked for again on a short timer until it is
 * there or TOKEN_MS has passed.
 */
function onAccepted(s: net.Socket): void {
  s.on('error', () => s.destroy());
  const fd = fdOf(s);
  if (fd < 0) return void s.destroy();
  const got = Buffer.alloc(TOKEN);
  let n = 0;
  const t0 = Date.now();
  let delay = 0;
  const look = () => {
    if (s.destroyed) return;
    try {
      const r = readSync(fd, got, n, TOKEN - n, null);
      if (r === 0) return void s.destroy();
      n += r;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return void s.destroy();
    }
    if (n < TOKEN) {
      if (Date.now() - t0 > TOKEN_MS) return void s.destroy();
      delay = Math.min(delay * 2 || 1, 50);
      setTimeout(look, delay).unref();
      return;
    }
    const key = got.toString('hex');
    const w = waiting.get(key);
    if (!w) return void s.destroy();
    waiting.delete(key);
    w(s);
  };
  look();
}

function listening(): Promise<void> {
  if (ready) return ready;
  name = '\0ucspi-node-tls/' + process.pid + '/' + randomBytes(16).toString('hex');
  const srv = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, onAccepted);
  srv.unref();
  ready = new Promise((resolve, reject) => {
    srv.once('error', (e) => {
      ready = undefined;
      reject(e);
    });
    srv.listen({ path: name, backlog: 511 }, () => {
      server = srv;
      resolve();
    });
  });
  return ready;
}

/** A new pair, or the error (EMFILE ...). Both ends half-close (allowHalfOpen). */
export function socketPair(cb: (err: Error | null, p?: Pair) => void): void {
  listening().then(() => {
    const token = randomBytes(TOKEN);
    const key = token.toString('hex');
    let done = false;
    const mine = net.connect({ path: name, allowHalfOpen: true });
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      waiting.delete(key);
      mine.destroy();
      cb(e);
    };
    const timer = setTimeout(() => fail(new Error('socket pair timed out')), TOKEN_MS);
    waiting.set(key, (prog) => {
      if (done) return void prog.destroy();
      done = true;
      clearTimeout(timer);
      mine.removeListener('error', fail);
      cb(null, { prog, mine });
    });
    mine.once('error', fail);
    mine.write(token);
  }, (e: Error) => cb(e));
}

/** The listening socket's name (tests). */
export function pairServerName(): string {
  return server ? name : '';
}
