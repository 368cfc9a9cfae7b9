// Launcher on child_process.spawn: portable fallback when the native addon is
// absent. The socket is dup'ed onto the child's fd 0 and 1; libuv marks every
// other descriptor close-on-exec, so the child inherits nothing else.
import { spawn } from 'node:child_process';
import { keepIgnored } from '../lib/ignored';
import { closeSync, readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import type { ExitStatus, Launcher, LaunchSpec } from './launch';

const signals = constants.signals as Record<string, number>;

function envObject(lists: ReadonlyArray<readonly string[]>): Record<string, string> {
  const o: Record<string, string> = {};
  for (const env of lists) {
    for (const kv of env) {
      const i = kv.indexOf('=');
      // Byte strings back to text: child_process encodes values as UTF-8, so
      // bytes that are not UTF-8 cannot reach the child on this path.
      if (i > 0) o[kv.slice(0, i)] = Buffer.from(kv.slice(i + 1), 'latin1').toString('utf8');
    }
  }
  return o;
}

/**
 * child_process passes on every descriptor the server itself inherited
 * without close-on-exec (libuv marks only its own). A server on this path
 * calls this once at start: it closes those (fd 3 and up), which it never
 * uses, so a service gets fds 0, 1 and 2 only, as with the native launcher.
 */
export function closeInherited(): number[] {
  const closed: number[] = [];
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return closed; // no /proc: nothing known to close
  }
  for (const f of fds) {
    const fd = Number(f);
    if (!(fd >= 3)) continue;
    try {
      const flags = parseInt(/flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
      if ((flags & 0o2000000) === 0) {
        closeSync(fd);
        closed.push(fd);
      }
    } catch {
      // gone meanwhile (the directory's own fd)
    }
  }
  return closed;
}

export function createSpawnLauncher(): Launcher {
  return {
    name: 'spawn',
    envBase: (vars) => ({ vars }),
    launch(spec: LaunchSpec, started, exited) {
      if (spec.path !== undefined || spec.socketOn2 || spec.session || spec.uid !== undefined || spec.gids !== undefined) {
        // inetd's programs take this path through src/inetd/launch.ts, never a launcher.
        if (spec.owned) closeSync(spec.fd);
        started(Object.assign(new Error('spawn: path, fd 2, session and ids need the native launcher'),
          { code: 'ENOTSUP', errno: -95, syscall: 'spawn' }), 0);
        return;
      }
      let child;
      try {
        // A signal ignored at start stays so (lib/ignored.ts).
        let argv = spec.argv;
        let env = spec.env;
        if (spec.pidVar !== undefined) {
          // unixserver's UNIXLOCALPID, prog's own pid: a shell sets it to $$ and execs prog.
          const kv = env[spec.pidVar];
          env = env.filter((_, i) => i !== spec.pidVar);
          const name = kv.slice(0, kv.indexOf('='));
          // (sh exports a PWD of its own: not when the server had none.)
          const pwd = (spec.base?.vars ?? []).concat(env).some((v) => v.startsWith('PWD=')) ? '' : 'unset PWD; ';
          const ign = spec.ignoreHupPipeAlrm ? 'trap \'\' HUP PIPE ALRM; ' : '';
          argv = ['/bin/sh', '-c', `${pwd}${ign}${name}=$$; export ${name}; exec "$@"`, 'sh', ...argv];
        }
        const [file, args] = keepIgnored(argv[0], argv.slice(1));
        // fd -1: only the socket is known (UNIX-domain clients of net.Server).
        const io = spec.fd < 0 && spec.socket ? spec.socket : spec.fd;
        child = spawn(file, args, {
          stdio: [io, io, 'inherit'],
          env: envObject(spec.base ? [spec.base.vars, env] : [env]),
        });
      } catch (e) {
        if (spec.owned) closeSync(spec.fd);
        started(e as NodeJS.ErrnoException, 0);
        return;
      }
      // libuv's spawn returns once the child has exec'd (or failed): it holds its copies.
      if (spec.owned) closeSync(spec.fd);
      const pid = child.pid;
      if (pid === undefined) {
        // exec failed (ENOENT, EACCES): libuv reports it through 'error', no process is left.
        child.once('error', (err) => started(err as NodeJS.ErrnoException, 0));
        return;
      }
      child.once('exit', (code, sig) => {
        const st: ExitStatus = { pid, code, signal: sig ? signals[sig] ?? 0 : null };
        exited(st);
      });
      started(null, pid);
    },
  };
}
