// unixclient: connect to a UNIX-domain socket and run prog with the
// connection on descriptors 6 (read) and 7 (write), as ucspi-unix 1.0's:
// no options, errors in perror(3)'s words, exit 1. With the addon the
// connection is made on 6 and 7 and prog replaces unixclient (same pid,
// UNIXLOCALPID its own); without it Node has no descriptor of a connected
// socket to give: prog runs as unixclient's child with the socket on 6 and
// 7, the UNIXREMOTE* variables unset (as ucspi-unix where SO_PEERCRED is
// missing), and unixclient ends as prog ends.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { addonPart, loadNative } from '../native';
import { strerror } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import { keepIgnored } from '../lib/ignored';
import { type UnixPeer, pushUnixEnv } from './environ';

function die(what: string, e: unknown): never {
  writeLine(`${what}: ${strerror(e)}`);
  process.exit(1);
}

/**
 * The environment as ucspi-unix's setenv(3) calls leave it: a variable the
 * caller already has keeps its place with the new value, the others follow
 * in order; a UNIXREMOTE* variable the caller has stays when the peer is unknown.
 */
export function clientEnv(env: NodeJS.ProcessEnv, path: string, peer: UnixPeer | undefined, pid: number): string[] {
  const mine: string[] = [];
  pushUnixEnv(mine, path, peer, process.getuid!(), process.getgid!(), pid);
  const byName = new Map(mine.map((kv) => [kv.slice(0, kv.indexOf('=')), kv]));
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    const set = byName.get(k);
    out.push(set ?? `${k}=${v}`);
    byName.delete(k);
  }
  for (const kv of byName.values()) out.push(kv);
  return out;
}

export function runUnixClient(argv: readonly string[], argv0: string): void {
  if (argv.length < 2) {
    writeLine(`usage: ${argv0} socket program`);
    process.exit(1);
  }
  const [path, ...prog] = argv;
  const addon = addonPart('accept') && addonPart('exec') ? loadNative() : null;
  if (addon) {
    let cred: [number, number, number];
    try {
      cred = addon.connectUnix(path, [6, 7]);
    } catch (e) {
      die((e as NodeJS.ErrnoException).syscall ?? 'connect', e);
    }
    const peer = cred[0] >= 0 ? { pid: cred[0], uid: cred[1], gid: cred[2] } : undefined;
    try {
      // 6 and 7 are no longer close-on-exec: the exec hands them on as they
      // are (kept descriptors would be moved to the lowest free numbers).
      // Whatever of Node's sat at 6 or 7 is gone: nothing runs between here and the exec.
      addon.execvpe(prog[0], prog, clientEnv(process.env, path, peer, process.pid), []);
    } catch (e) {
      die('execvp', e);
    }
    return;
  }
  const s = net.connect({ path });
  s.once('error', (e) => die('connect', e));
  s.once('connect', () => {
    s.pause();
    const env: Record<string, string> = {};
    for (const kv of clientEnv(process.env, path, undefined, process.pid)) {
      const i = kv.indexOf('=');
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    // libuv leaves the socket non-blocking, except on a child's fd 0 to 2:
    // it goes in as fd 0 (standard input as 3), and a shell moves it to 6
    // and 7, blocking, and standard input back to 0, then execs prog.
    const [file, args] = keepIgnored('/bin/sh', ['-c', 'exec 6<&0 7<&0 0<&3 3<&-; exec "$@"', 'sh', ...prog]);
    const child = spawn(file, args, { env, stdio: [s, 'inherit', 'inherit', 0] });
    child.once('error', (e) => die('execvp', e));
    for (const sig of ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR2', 'SIGALRM'] as const) {
      process.on(sig, () => child.kill(sig));
    }
    child.once('spawn', () => s.destroy());
    child.once('exit', (code, signal) => {
      if (signal) {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      }
      process.exit(code ?? 1);
    });
  });
}
