// Launcher on child_process.spawn: portable fallback when the native addon is
// absent. The socket is dup'ed onto the child's fd 0 (and 1, and 2, as the
// description's stdio says); libuv marks every other descriptor
// close-on-exec, so the child inherits nothing else. A user's supplementary
// groups cannot be set on this path (LaunchSpec.gids).
import { spawn } from 'node:child_process';
import { keepIgnoredAs } from '../lib/ignored';
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
      let child;
      const io = spec.stdio;
      try {
        // A signal ignored at start stays so (lib/ignored.ts); a path apart
        // from argv[0] is executed as it is, not searched.
        let argv = spec.argv;
        let vars = spec.env;
        if (spec.pidVar !== undefined) {
          // unixserver's UNIXLOCALPID, prog's own pid: a shell sets it to $$ and execs prog.
          const kv = vars[spec.pidVar];
          vars = vars.filter((_, i) => i !== spec.pidVar);
          const name = kv.slice(0, kv.indexOf('='));
          // (sh exports a PWD of its own: not when the server had none.)
          const pwd = (spec.base?.vars ?? []).concat(vars).some((v) => v.startsWith('PWD=')) ? '' : 'unset PWD; ';
          const ign = spec.ignoreHupPipeAlrm ? 'trap \'\' HUP PIPE ALRM; ' : '';
          argv = ['/bin/sh', '-c', `${pwd}${ign}${name}=$$; export ${name}; exec "$@"`, 'sh', ...argv];
        }
        const env = envObject(spec.base ? [spec.base.vars, vars] : [vars]);
        // (A name without '/' would be searched: it is the file of that name here.)
        const k = spec.path === undefined ? keepIgnoredAs(argv[0], argv.slice(1), undefined, env)
          : keepIgnoredAs(spec.path.includes('/') ? spec.path : './' + spec.path, argv.slice(1), argv[0], env);
        // fd -1: only the socket is known (UNIX-domain clients of net.Server).
        const sock = spec.fd < 0 && spec.socket ? spec.socket : spec.fd;
        child = spawn(k.file, k.args, {
          argv0: k.argv0,
          stdio: [sock, io?.[1] === 'stderr' ? 2 : sock, io?.[2] === 'socket' ? sock : 2],
          env,
          detached: spec.session === true,
          // (Node sets no supplementary group with these: gids[0] only.)
          uid: spec.uid,
          gid: spec.gids?.[0],
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
      child.on('error', () => {}); // (only kill(2) could fail now; nobody signals it)
      child.once('exit', (code, sig) => {
        const st: ExitStatus = { pid, code, signal: sig ? signals[sig] ?? 0 : null };
        exited(st);
      });
      started(null, pid);
    },
  };
}
