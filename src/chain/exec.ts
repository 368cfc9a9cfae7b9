// The last step of every chain-loading tool: become prog. With the native
// addon the tool execs in place (same pid, so that the supervisor that
// started it tracks and signals prog itself); without it, Node cannot exec,
// and the tool says so once, runs prog as a child, forwards the signals a
// supervisor sends and exits as prog did.
import { spawn } from 'node:child_process';
import { loadNative } from '../native';
import { warn } from '../lib/strerr';

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
  /** Without the addon: start prog in a new session (pgrphack, chpst -P). */
  newSession?: boolean;
  /** Exec failed: words it in the tool's manner; must not return. */
  fail: (e: unknown) => never;
}

/** true when the addon can exec: the tools' effects that need it say so otherwise. */
export function canExec(): boolean {
  const n = loadNative();
  return !!n && typeof n.execvpe === 'function';
}

const FORWARD: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2',
  'SIGALRM', 'SIGCONT', 'SIGWINCH'];

export function execProg(x: Exec): never {
  const native = loadNative();
  if (native && typeof native.execvpe === 'function') {
    try {
      native.execvpe(x.file, x.argv, envArray(x.env), x.keep ?? []);
    } catch (e) {
      return x.fail(e);
    }
  }
  warn(x.tool, `cannot exec without the native addon: running ${x.file} as a child process`);
  const stdio: (number | 'inherit')[] = ['inherit', 'inherit', 'inherit'];
  for (const fd of x.keep ?? []) stdio[fd] = fd;
  const child = spawn(x.file, x.argv.slice(1), {
    argv0: x.argv[0], env: x.env, stdio: stdio.map((s) => s ?? 'ignore'), detached: !!x.newSession,
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
      process.kill(process.pid, signal);
      setTimeout(() => process.exit(128), 1000).unref();
      return;
    }
    process.exit(code ?? 111);
  });
  // The loop keeps running until the child ends; never reached in the exec case.
  return undefined as never;
}
