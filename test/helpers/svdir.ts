// Helpers for the supervision tests: temporary service directories, bounded
// waits, and a teardown that kills everything a test started, even on failure
// (supervisors it spawned, then any process whose cwd is inside its temp dir:
// every run, finish and log/run starts in its service directory).
import { ChildProcess, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BIN, ours, running, spawn, waitFor, watchDir } from './common';

export { BIN, ours, waitFor };

interface T { teardown(fn: () => unknown): void }

/** A fresh directory removed (with its processes killed) at the end of the test. */
export function tmp(t: T): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'supE-')));
  watchDir(dir);
  t.teardown(() => {
    killUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** SIGKILL to every process whose current directory is dir or below it. */
export function killUnder(dir: string): void {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let cwd: string;
    try { cwd = fs.readlinkSync(`/proc/${p}/cwd`); } catch { continue; }
    if (cwd === dir || cwd.startsWith(dir + '/')) {
      try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

export interface ServiceSpec { run?: string; finish?: string; down?: boolean; log?: string }

/** Writes dir/name with an executable run (and finish, down, log/run). */
export function service(dir: string, name: string, spec: ServiceSpec): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  if (spec.run !== undefined) fs.writeFileSync(path.join(d, 'run'), spec.run, { mode: 0o755 });
  if (spec.finish !== undefined) fs.writeFileSync(path.join(d, 'finish'), spec.finish, { mode: 0o755 });
  if (spec.down) fs.writeFileSync(path.join(d, 'down'), '');
  if (spec.log !== undefined) service(d, 'log', { run: spec.log });
  return d;
}

/**
 * How daemon() starts its process: `stdin` gives it a pipe on fd 0 (a
 * logger's input), `argv0` the name it is called by, `group` its own process
 * group, killed whole (SIGKILL) at teardown instead of a TERM to the process.
 */
export interface DaemonOptions { stdin?: boolean; argv0?: string; group?: boolean }

/** A supervisor process (ours or a reference one) killed at teardown. */
export function daemon(t: T, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, o: DaemonOptions = {}):
    { proc: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const proc = spawn(cmd, args, {
    cwd, env: { ...process.env, ...env }, stdio: [o.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
    argv0: o.argv0, detached: o.group === true,
  });
  let err = '';
  proc.stderr!.setEncoding('latin1');
  proc.stderr!.on('data', (d: string) => { err += d; });
  proc.stdin?.on('error', () => { /* it may exit before reading everything */ });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  t.teardown(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    if (o.group) {
      try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* gone */ }
      return;
    }
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  return { proc, stderr: () => err, exited };
}

export interface Result { code: number | null; stdout: string; stderr: string }

/** Runs a command to completion (10 s at most). */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((res) => {
    execFile(cmd, args, { cwd, timeout: 10_000, encoding: 'latin1', env: { ...process.env, ...env } }, (e, stdout, stderr) => {
      const code = e ? (typeof (e as any).code === 'number' ? (e as any).code : null) : 0;
      res({ code, stdout, stderr });
    });
  });
}


/** pid in dir/supervise/status (0 when down or unreadable). */
export function pidOf(dir: string): number {
  try {
    const b = fs.readFileSync(path.join(dir, 'supervise', 'status'));
    return b.length >= 18 ? b.readUInt32LE(12) : 0;
  } catch {
    return 0;
  }
}

/** Whether a supervisor reads dir/supervise/ok (what svok tests). */
export function supervised(dir: string): boolean {
  try {
    fs.closeSync(fs.openSync(path.join(dir, 'supervise', 'ok'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}

/** Writes control letters straight into dir/supervise/control. */
export function control(dir: string, letters: string): void {
  const fd = fs.openSync(path.join(dir, 'supervise', 'control'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  try { fs.writeSync(fd, letters); } finally { fs.closeSync(fd); }
}

/** Output with pids and ages replaced, so two supervisors' reports compare. */
export function normalize(s: string): string {
  return s.replace(/\(pid \d+\)/g, '(pid N)').replace(/\d+ seconds/g, 'S seconds').replace(/\) \d+s/g, ') Ss')
    .replace(/: \d+s/g, ': Ss');
}

/** Whether pid exists and is not a zombie (common.ts's running). */
export const alive = running;

/** Resolves with p, or rejects after ms naming what it waited for. */
export function within<V>(what: string, p: Promise<V>, ms = 15_000): Promise<V> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<V>((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms); }),
  ]);
}

/** The command line of pid, words joined by spaces ('' when gone). */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Byte 16 of dir/supervise/status: the paused flag. */
export function pausedOf(dir: string): boolean {
  try {
    return fs.readFileSync(path.join(dir, 'supervise', 'status'))[16] === 1;
  } catch {
    return false;
  }
}
