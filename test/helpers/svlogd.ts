// Running svlogd, ours and runit's, on the same input and config, and
// describing the log directory it leaves so that two runs compare.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, daemon, tmp, within } from './svdir';

export const OURS = path.join(BIN, 'svlogd');
export const REF = '/usr/bin/svlogd';
export const refMissing: string | false = fs.existsSync(REF) ? false : `${REF} not installed (runit)`;
export const IMPLS: Array<[string, string, string | false]> = [
  ['ours', OURS, false],
  ['runit', REF, refMissing],
];

interface T { teardown(fn: () => unknown): void }

export interface Outcome { code: number | null; stderr: string; dirs: string[] }

/** A started svlogd with a pipe on stdin and its stderr collected; its group is killed at teardown. */
export function start(t: T, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof daemon> {
  return daemon(t, cmd, args, cwd, env, { stdin: true, argv0: 'svlogd', group: true });
}

/** Runs cmd args... in a fresh directory holding one log directory per entry of configs
 * (null: no config file), feeds input and waits (bounded) for the exit. */
export async function runOnce(t: T, cmd: string, args: string[], configs: Array<string | null>, input: Buffer | string,
    prepare: (root: string) => void = () => {}, ms = 60_000, env: NodeJS.ProcessEnv = {}): Promise<Outcome & { root: string }> {
  const root = tmp(t);
  const names = configs.map((c, k) => {
    const d = path.join(root, `log${k}`);
    fs.mkdirSync(d);
    if (c !== null) fs.writeFileSync(path.join(d, 'config'), c);
    return `log${k}`;
  });
  prepare(root);
  const p = start(t, cmd, [...args, ...names], root, env);
  // Its stderr is whole once the pipe is closed, which can come after the exit.
  const closed = new Promise<void>((res) => p.proc.once('close', () => res()));
  p.proc.stdin!.end(input);
  const code = await within(`${cmd} to exit`, p.exited, ms);
  await within(`${cmd}'s stderr to close`, closed, ms);
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
    const body = f === 'lock' ? '' : st.isDirectory() ? '(directory)' : JSON.stringify(unstamp(fs.readFileSync(p, 'latin1')));
    lines.push(`${name} ${(st.mode & 0o777).toString(8)} ${st.size} ${body}`);
  }
  return lines.join('\n');
}

/** Old files' names, sorted (oldest first). */
export function oldFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => /^@[0-9a-f]{24}\.[sut]$/.test(n)).sort();
}
