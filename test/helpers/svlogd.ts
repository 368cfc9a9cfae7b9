// Running svlogd, ours and runit's, on the same input and config, and
// describing the log directory it leaves so that two runs compare.
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, tmp, within } from './svdir';

export const OURS = path.join(BIN, 'svlogd');
export const REF = '/usr/bin/svlogd';
export const refMissing: string | false = fs.existsSync(REF) ? false : `${REF} not installed (runit)`;
export const IMPLS: Array<[string, string, string | false]> = [
  ['ours', OURS, false],
  ['runit', REF, refMissing],
];

interface T { teardown(fn: () => unknown): void }

export interface Outcome { code: number | null; stderr: string; dirs: string[] }

/** A started svlogd whose stderr is collected; killed (group and all) at teardown. */
export function start(t: T, cmd: string, args: string[], cwd: string): { proc: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const proc = spawn(cmd, args, { cwd, argv0: 'svlogd', stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  let err = '';
  proc.stderr!.setEncoding('latin1');
  proc.stderr!.on('data', (d: string) => { err += d; });
  proc.stdin!.on('error', () => { /* it may exit before reading everything */ });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  t.teardown(() => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* gone */ }
  });
  return { proc, stderr: () => err, exited };
}

/** Runs cmd args... in a fresh directory holding one log directory per entry of configs
 * (null: no config file), feeds input and waits (bounded) for the exit. */
export async function runOnce(t: T, cmd: string, args: string[], configs: Array<string | null>, input: Buffer | string,
    prepare: (root: string) => void = () => {}, ms = 60_000): Promise<Outcome & { root: string }> {
  const root = tmp(t);
  const names = configs.map((c, k) => {
    const d = path.join(root, `log${k}`);
    fs.mkdirSync(d);
    if (c !== null) fs.writeFileSync(path.join(d, 'config'), c);
    return `log${k}`;
  });
  prepare(root);
  const p = start(t, cmd, [...args, ...names], root);
  p.proc.stdin!.end(input);
  const code = await within(`${cmd} to exit`, p.exited, ms);
  return { code, stderr: p.stderr(), dirs: names.map((n) => describe(path.join(root, n))), root };
}

const STAMPS = [
  /@[0-9a-f]{24}(?=[ .])/g, // -t, and old files' names in messages
  /\d{4}-\d\d-\d\d[_T]\d\d:\d\d:\d\d\.\d{5} /g, // -tt, -ttt
];

/** Time stamps in log text replaced by their shape. */
export function unstamp(s: string): string {
  return s.replace(STAMPS[0], '@T').replace(STAMPS[1], (m) => (m[10] === 'T' ? 'ISO ' : 'PTIME '));
}

/** One line per file: name (labels as @L), mode, size, and the content with stamps normalized. */
export function describe(dir: string): string {
  const lines: string[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, f);
    const st = fs.statSync(p);
    const name = f.replace(/^@[0-9a-f]{24}\./, '@L.');
    const body = f === 'lock' ? '' : JSON.stringify(unstamp(fs.readFileSync(p, 'latin1')));
    lines.push(`${name} ${(st.mode & 0o777).toString(8)} ${st.size} ${body}`);
  }
  return lines.join('\n');
}

/** Old files' names, sorted (oldest first). */
export function oldFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => /^@[0-9a-f]{24}\.[sut]$/.test(n)).sort();
}
