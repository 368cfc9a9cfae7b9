// runsvchdir's switch of /etc/runit/runsvdir/current (the directory runit's
// runsvdir watches, through /etc/service) to another directory beside it,
// as runit 2.1.2's: a symlink current.new -> dir, the old current kept as
// previous, current.new renamed over current. When current is a symlink,
// as runsvchdir leaves it, previous is made a copy of it first and
// current.new then replaces current in one rename(2), so that there is no
// moment without a current (the original renames current away first, and a
// runsvdir scanning then finds no directory); a current that is a real
// directory is moved to previous as the original moves it.
import * as fs from 'node:fs';

/** A step that failed: the words after "fatal: ", and the system error when there is one. */
export class SwitchError extends Error {
  constructor(readonly what: string, readonly cause?: unknown) {
    super(what);
  }
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function unlinkIfThere(name: string): void {
  try {
    fs.unlinkSync(name);
  } catch (e) {
    if (code(e) !== 'ENOENT') throw new SwitchError(`unable to unlink: ${name}`, e);
  }
}

/**
 * In the current directory (the runsvdir directory): makes dir current.
 * 'current' when it already was (nothing changed), 'now' when switched,
 * 'failed' when current.new could not replace current (said through onWarn,
 * the original's warning; current is then as it was); else throws SwitchError.
 */
export function switchCurrent(dir: string, onWarn: (e: SwitchError) => void): 'current' | 'now' | 'failed' {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if (code(e) === 'ENOENT') throw new SwitchError(dir, e);
    throw new SwitchError(`unable to stat: ${dir}`, e);
  }
  // The original's words, without a separator.
  if (!st.isDirectory()) throw new SwitchError(`${dir}not a directory.`);
  let cur: fs.Stats;
  try {
    cur = fs.statSync('current');
  } catch (e) {
    throw new SwitchError('unable to stat: current', e);
  }
  if (cur.ino === st.ino && cur.dev === st.dev) return 'current';

  unlinkIfThere('current.new');
  try {
    fs.symlinkSync(dir, 'current.new');
  } catch (e) {
    throw new SwitchError(`unable to create: current.new -> ${dir}`, e);
  }
  unlinkIfThere('previous');
  let target: string | undefined;
  try {
    if (fs.lstatSync('current').isSymbolicLink()) target = fs.readlinkSync('current');
  } catch {
    target = undefined;
  }
  if (target !== undefined) {
    try {
      fs.symlinkSync(target, 'previous');
    } catch (e) {
      throw new SwitchError('unable to copy: current to previous', e);
    }
    try {
      fs.renameSync('current.new', 'current');
    } catch (e) {
      // current is as it was; the original ends with previous moved back to it.
      onWarn(new SwitchError('unable to move: current.new to current', e));
      try { fs.unlinkSync('previous'); } catch { /* as good as moved back */ }
      return 'failed';
    }
    return 'now';
  }
  try {
    fs.renameSync('current', 'previous');
  } catch (e) {
    throw new SwitchError('unable to copy: current to previous', e);
  }
  try {
    fs.renameSync('current.new', 'current');
  } catch (e) {
    onWarn(new SwitchError('unable to move: current.new to current', e));
    try {
      fs.renameSync('previous', 'current');
    } catch (e2) {
      throw new SwitchError('unable to move previous back to current', e2);
    }
    return 'failed';
  }
  return 'now';
}
