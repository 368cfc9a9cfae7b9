// unixserver after its options: the socket file, the privilege drop, then
// the engine every UCSPI server shares (src/engine/engine.ts): -c, the
// banner, the launch, the log and the counters of --status and --metrics.
import { chooseBackend } from '../engine/backend';
import { Engine } from '../engine/engine';
import { engineParts, startStatus } from '../admission/options';
import { strerror } from '../lib/errstr';
import { writeLine } from '../lib/strerr';
import type { Listener } from '../listen/listen';
import { type UnixServerOptions, KEEP_ID } from './options';
import { UNIX_VARS, pushUnixEnv } from './environ';
import { type UnixAccepted, listenUnixNative, listenUnixNet } from './listener';
import { BoundFile, clearStale } from './socket';
import { unixJsonLog, unixLog } from './log';

/** perror(3)'s line, then exit 1 (ucspi-unix's die(), which also removes the socket file unless -d). */
function die(what: string, e: unknown, bound?: BoundFile): never {
  writeLine(`${what}: ${strerror(e)}`);
  bound?.remove();
  process.exit(1);
}

export async function runUnixServer(o: UnixServerOptions): Promise<Engine> {
  const log = o.front.logJson ? unixJsonLog() : unixLog(o.verbose);
  const backend = chooseBackend((what, e) => log.warn(what, e));
  // The file this server bound, once it has (the signals may come before).
  const held: { file?: BoundFile } = {};
  // INT, TERM, QUIT: the socket file is removed (unless -d) and the server
  // exits 0; running children keep their connections. HUP and ALRM are ignored.
  const stop = () => {
    if (o.remove) held.file?.remove();
    process.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const) process.on(sig, stop);
  for (const sig of ['SIGHUP', 'SIGALRM'] as const) process.on(sig, () => {});

  const why = clearStale(o.socket);
  const b = { path: o.socket, backlog: o.backlog, mask: o.mask & 0o777, uid: o.socketUid, gid: o.socketGid, mode: o.perms };
  let listener: Listener;
  try {
    listener = backend.addon ? listenUnixNative(backend.addon, b) : await listenUnixNet(b);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const syscall = err.syscall ?? 'bind';
    writeLine(`${syscall}: ${strerror(err)}`);
    if (why !== undefined && syscall === 'bind') writeLine(`unixserver: ${why}`);
    // Bound before the failure (chown, chmod, listen): the file is this server's.
    if (syscall !== 'bind' && syscall !== 'socket' && o.remove) new BoundFile(o.socket).remove();
    process.exit(1);
  }
  held.file = new BoundFile(o.socket);
  const file = o.remove ? held.file : undefined;
  if (o.gid !== KEEP_ID) {
    try {
      // Only this group, no supplementary groups kept from root's (ucspi-unix keeps them).
      if (process.getuid!() === 0) process.setgroups!([o.gid]);
      process.setgid!(o.gid);
    } catch (e) {
      die('setgid', e, file);
    }
  }
  if (o.uid !== KEEP_ID) {
    try {
      if (o.gid === KEEP_ID && process.getuid!() === 0) process.setgroups!([process.getgid!()]);
      process.setuid!(o.uid);
    } catch (e) {
      die('setuid', e, file);
    }
  }
  if (o.limit === 0) {
    // ucspi-unix waits for a child before its first accept, and has none.
    writeLine('wait: No child processes');
    if (file) file.remove();
    process.exit(1);
  }
  log.status(0, o.limit);
  const uid = process.getuid!(), gid = process.getgid!();
  const parts = engineParts(o.front);
  const engine = new Engine({
    max: o.limit,
    ...parts,
    prog: o.prog,
    ucspiEnv: true,
    remoteHost: false,
    paranoid: false,
    banner: o.banner ? Buffer.from(o.banner) : undefined,
    noDelay: false,
    identify: null,
    launcher: backend.launcher,
    log,
    env: process.env,
    connEnv: {
      names: UNIX_VARS,
      ignoreHupPipeAlrm: true,
      push: (out, a) => pushUnixEnv(out, o.socket, (a as UnixAccepted).peer, uid, gid),
    },
  });
  engine.serve(listener);
  await startStatus(o.front, {
    prog: 'unixserver', listening: o.socket, max: o.limit, stats: parts.stats, engine,
    fatal: (msg) => {
      writeLine(`unixserver: fatal: ${msg}`);
      if (file) file.remove();
      process.exit(111);
    },
    warn: (what, e) => log.warn(what, e),
  });
  return engine;
}

