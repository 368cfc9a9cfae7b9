// The last step of every chain-loading tool: become prog. With the native
// addon the tool execs in place (same pid, so that the supervisor that
// started it tracks and signals prog itself). Without it Node cannot exec
// (process.execve is Node 23's), and the tool says so once and relays:
// prog runs as its child with the same standard descriptors, every signal a
// supervisor sends (daemontools' svc, runit's sv) is passed on, and the
// tool ends as prog ended, with its exit code or dead of the same signal.
// prog is started through setpriv(1) --pdeathsig KILL (util-linux, when
// installed) so that a SIGKILL to the tool, which cannot be passed on, still
// ends prog; and through prlimit(1) when limits are to be set (chain/limits.ts).
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import { addonPart } from '../native';
import { warn } from '../lib/strerr';
import { limitsToSet, pendingLimits } from './limits';
import { keepIgnoredAs } from '../lib/ignored';

/** The environment as execve wants it. */
export function envArray(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out.push(`${k}=${v}`);
  return out;
}

export interface Exec {
  /** The tool's name, for the one warning without the addon. */
  tool: string;
  /** The file to run (PATH-searched when it has no slash). */
  file: string;
  /** argv, argv[0] included (chpst -b changes it). */
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Descriptors the tool opened for prog (setlock's lock). */
  keep?: number[];
  /** [from, to]: prog gets descriptor from as its to (tcpclient's socket as 6 and 7). */
  moves?: Array<[from: number, to: number]>;
  /** Without the addon, no warning that prog runs as a child (tcpclient: its man page says so). */
  quiet?: boolean;
  /** Without the addon: start prog in a new session (pgrphack, chpst -P). */
  newSession?: boolean;
  /** Exec failed: words it in the tool's manner; must not return. */
  fail: (e: unknown) => never;
}

/** true when the addon can exec: the tools' effects that need it say so otherwise. */
export function canExec(): boolean {
  return addonPart('exec') !== null;
}

/** Every signal a supervisor sends that a process can catch: passed on to prog. */
const FORWARD: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2',
  'SIGALRM', 'SIGCONT', 'SIGWINCH', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGPWR'];

/** The executable file name is found as in PATH (as execvp finds it), or undefined. */
function findInPath(file: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = file.includes('/') ? [''] : (env.PATH ?? '/bin:/usr/bin').split(':');
  for (const dir of dirs) {
    const p = dir === '' && !file.includes('/') ? file : path.join(dir, file);
    try {
      accessSync(p, fsConstants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Ends this process as a signal ended prog: the signal's default action, which Node changes for some. */
export function dieOf(signal: NodeJS.Signals): void {
  try {
    // No listener left, and one added and removed leaves the default action (Node ignores
    // SIGPIPE and SIGXFSZ, and SIGUSR1 would start its inspector).
    process.removeAllListeners(signal);
    const noop = () => {};
    process.on(signal, noop);
    process.removeListener(signal, noop);
  } catch {
    // SIGKILL, SIGSTOP: no listener, and no need
  }
  process.kill(process.pid, signal);
  // Not reached unless the signal could not end this process: the shell's way of saying it.
  setTimeout(() => process.exit(128 + ((constants.signals as Record<string, number>)[signal] ?? 0)), 1000);
}

export function execProg(x: Exec): never {
  const native = addonPart('exec');
  if (native) {
    try {
      native.execvpe(x.file, x.argv, envArray(x.env), x.keep ?? [], limitsToSet(), x.moves ?? []);
    } catch (e) {
      return x.fail(e);
    }
  }
  if (!x.quiet) warn(x.tool, `cannot exec without the native addon: running ${x.file} as a child process`);
  // prog through the helpers, each of which execs the next: the helpers find prog as
  // execvp does, so a missing prog is said here, in the tool's words.
  const limits = pendingLimits();
  const prlimit = limits.length > 0 ? findInPath('prlimit', process.env) : undefined;
  if (limits.length > 0 && !prlimit) {
    return x.fail('prlimit(1) not found (without the native addon it sets the limits)');
  }
  // The helpers cannot set argv[0] (chpst -b): then prog is started directly.
  const setpriv = x.argv[0] === x.file ? findInPath('setpriv', process.env) : undefined;
  if ((prlimit || setpriv) && !findInPath(x.file, x.env)) {
    return x.fail(Object.assign(new Error(`${x.file}: not found`), { code: 'ENOENT', errno: -2 }));
  }
  let argv = [...x.argv];
  if (prlimit) argv = [prlimit, ...limits, '--', x.file, ...argv.slice(1)];
  if (setpriv) argv = [setpriv, '--pdeathsig', 'KILL', '--', ...(prlimit ? argv : [x.file, ...argv.slice(1)])];
  const file = setpriv ?? prlimit ?? x.file;
  const stdio: (number | 'inherit' | 'ignore')[] = ['inherit', 'inherit', 'inherit'];
  for (const fd of x.keep ?? []) stdio[fd] = fd;
  for (const [from, to] of x.moves ?? []) stdio[to] = from;
  const k = keepIgnoredAs(file, argv.slice(1), argv[0]); // (lib/ignored.ts)
  const child = spawn(k.file, k.args, {
    argv0: k.argv0, env: x.env, stdio: Array.from(stdio, (s) => s ?? 'ignore'), detached: !!x.newSession,
  });
  child.on('error', (e) => x.fail(e));
  const handlers = FORWARD.map((sig) => {
    const h = () => { child.kill(sig); };
    process.on(sig, h);
    return [sig, h] as const;
  });
  child.on('exit', (code, signal) => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
    if (signal !== null) {
      dieOf(signal);
      return;
    }
    process.exit(code ?? 111);
  });
  // The loop keeps running until the child ends; never reached in the exec case.
  return undefined as never;
}
