// The native launcher: posix_spawn on the addon's own threads, reaped through
// pid by a thread of their own (native/launch.cc): no descriptor per child.
// The accept path (native/accept.cc) reaps too, before it hands clients to
// the engine, so exits arrive here in the originals' order: an exit that
// happened before an accept comes before that client.
// JavaScript keeps only the two callbacks per child.
import { type Addon, addonError, loadNative } from '../native';
import { type EnvBase, type ExitStatus, type Launcher, type LaunchSpec, TCP_STDIO } from './launch';

interface NativeBase extends EnvBase {
  /** launchTemplate's handle, or -1 when the addon refused it (a stray NUL). */
  handle: number;
}

type Started = (err: NodeJS.ErrnoException | null, pid: number) => void;
type Exited = (status: ExitStatus) => void;

// Event layout of native/launch.cc: 4 int32 per event.
const STARTED = 0;
// Its SPAWN_* flags, and the room SPAWN_PIDVAR fills with the pid.
const SPAWN_FD2 = 1;
const SPAWN_SESSION = 2;
const SPAWN_PIDVAR = 4;
const SPAWN_IGN_HPA = 8;
const SPAWN_FD1_STDERR = 16;
const PID_ROOM = '0000000000';

interface Pending {
  argv0: string;
  started: Started;
  exited: Exited;
  pid: number;
}

let shared: Launcher | undefined;

/**
 * The native launcher on the addon chosen at start (servers pass it; a test
 * or the launch benchmark, running a launcher alone, may leave it to
 * loadNative()); null without an addon. Throws when the addon cannot start
 * its threads.
 */
export function createNativeLauncher(addon: Addon | null = loadNative()): Launcher | null {
  if (shared !== undefined) return shared;
  if (!addon) return null;
  const spawn = addon.launchSpawn;
  const template = addon.launchTemplate;
  // The argv of most children is the server's prog: joined once.
  let lastArgv: string[] | undefined;
  let lastJoined = '';
  const pending = new Map<number, Pending>();
  let nextId = 0;

  function onEvents(ev: Int32Array): void {
    for (let i = 0; i < ev.length; i += 4) {
      const id = ev[i + 1];
      const p = pending.get(id);
      if (!p) continue;
      if (ev[i] === STARTED) {
        const r = ev[i + 2];
        if (r < 0) {
          pending.delete(id);
          p.started(spawnError(r, p.argv0), 0);
        } else {
          p.pid = r;
          p.started(null, r);
        }
      } else {
        pending.delete(id);
        const code = ev[i + 2];
        const signal = ev[i + 3];
        p.exited({ pid: p.pid, code: code >= 0 ? code : null, signal: signal > 0 ? signal : null });
      }
    }
  }

  // The addon is set up once per process; a second caller shares this launcher.
  if (addon.launchSetup(onEvents) !== true) throw new Error('launchSetup: the addon did not start its threads');

  return (shared = {
    name: 'native',
    envBase(vars: string[]): NativeBase {
      return { vars, handle: vars.length ? template(vars.join('\0') + '\0', vars.length) : -1 };
    },
    launch(spec: LaunchSpec, started: Started, exited: Exited): void {
      const id = nextId;
      nextId = (nextId + 1) | 0;
      pending.set(id, { argv0: spec.argv[0], started, exited, pid: 0 });
      let vars = spec.env;
      let handle = -1;
      if (spec.base) {
        handle = (spec.base as NativeBase).handle ?? -1;
        if (handle < 0 && spec.base.vars.length) vars = [...spec.base.vars, ...vars];
      }
      if (spec.argv !== lastArgv) {
        lastArgv = spec.argv;
        lastJoined = spec.argv.join('\0') + '\0';
      }
      // unixserver: room for the child's own pid, which native/launch.cc writes in the child.
      const pidAt = spec.pidVar === undefined ? -1 : spec.pidVar + vars.length - spec.env.length;
      if (pidAt >= 0) {
        if (vars === spec.env) vars = [...vars];
        vars[pidAt] += PID_ROOM;
      }
      const env = vars.length ? vars.join('\0') + '\0' : '';
      const stdio = spec.stdio;
      if (pidAt < 0 && spec.path === undefined && (stdio === undefined || stdio === TCP_STDIO) && !spec.session &&
          spec.uid === undefined && spec.gids === undefined) {
        spawn(lastJoined, spec.argv.length, env, vars.length, spec.fd, id, spec.owned, spec.lazyStart === true, handle);
        return;
      }
      const flags = (stdio?.[2] === 'socket' ? SPAWN_FD2 : 0) | (spec.session ? SPAWN_SESSION : 0) |
        (stdio?.[1] === 'stderr' ? SPAWN_FD1_STDERR : 0) |
        (pidAt >= 0 ? SPAWN_PIDVAR : 0) | (spec.ignoreHupPipeAlrm ? SPAWN_IGN_HPA : 0);
      if (pidAt >= 0) {
        spawn(lastJoined, spec.argv.length, env, vars.length, spec.fd, id, spec.owned, spec.lazyStart === true, handle,
          spec.path ?? '', flags, spec.uid ?? -1, spec.gids ? [...spec.gids] : [], pidAt);
        return;
      }
      spawn(lastJoined, spec.argv.length, env, vars.length, spec.fd, id, spec.owned, spec.lazyStart === true, handle,
        spec.path ?? '', flags, spec.uid ?? -1, spec.gids ? [...spec.gids] : []);
    },
  });
}

// The shape child_process gives its spawn errors, so callers treat both alike.
function spawnError(negErrno: number, argv0: string): NodeJS.ErrnoException {
  const err = addonError(negErrno, `spawn ${argv0}`);
  err.path = argv0;
  return err;
}
