// runsv's control scripts (its man page: "customize control"): control/<letter>
// in a main service's directory, run instead of (or before) what a control
// letter does.
import { type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { ChildProcess, spawn } from 'node:child_process';
import { underAdminLimit } from './sys';
import { FORK_ERRORS } from './child';
import { keepIgnoredAs } from '../lib/ignored';
import type { Voice } from './voice';

/** The control letter of each signal command, for runsv's control/<letter>. */
export const LETTER: Partial<Record<NodeJS.Signals, string>> = {
  SIGHUP: 'h', SIGALRM: 'a', SIGINT: 'i', SIGQUIT: 'q', SIGUSR1: '1', SIGUSR2: '2',
  SIGWINCH: 'w', SIGTERM: 't', SIGKILL: 'k',
};

/** Where a control script writes: run's stdout, and the errors' place. */
export interface ScriptIO {
  stdout: 'inherit' | number;
  stderr?: 'inherit' | number;
}

/**
 * When dir has an executable control/<letter>, run it (its output into the
 * log pipe) and wait for it; true when it exited 0 (or was killed), and the
 * command's own action is then left out. false at once when there is no script.
 */
export function runScript(dir: string, letter: string, io: ScriptIO, say: (line: string) => void, voice: Voice): false | Promise<boolean> {
  const rel = `control/${letter}`;
  let st: Stats;
  try {
    st = statSync(join(dir, rel));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') say(voice.customFailed(`unable to stat ${rel}`, e));
    return false;
  }
  if (!(st.mode & 0o100)) return false;
  // With the administrator's descriptor limit, as run and finish (see underAdminLimit).
  const [file, args] = underAdminLimit(rel, [], dir);
  const failed = (e: unknown): false => {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    say(voice.customFailed(FORK_ERRORS.has(code) ? `unable to fork for ${rel}` : 'run', e));
    return false;
  };
  let cp: ChildProcess;
  try {
    const k = keepIgnoredAs(file, args, file === rel ? rel : undefined);
    cp = spawn(k.file, k.args, { cwd: dir, argv0: k.argv0, stdio: ['inherit', io.stdout, io.stderr ?? 'inherit'] });
  } catch (e) {
    return failed(e);
  }
  return new Promise((done) => {
    let settled = false;
    cp.once('error', (e) => { if (!settled) { settled = true; done(failed(e)); } });
    // A script killed by a signal has exit code 0 to runsv's wait_exitcode().
    cp.once('exit', (code) => { if (!settled) { settled = true; done((code ?? 0) === 0); } });
  });
}
