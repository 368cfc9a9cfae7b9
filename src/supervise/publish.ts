// Publishing one service's state: the files of its supervise/ that readers
// (svstat, svok, sv, srv, svc --wait) take it from, each written whole.
import { closeSync, constants, existsSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { State, Status, encodeStatus, statText } from './status';
import { Info, encodeInfo, statusLabel } from './extra';
import type { Voice } from './voice';

const C = constants;

/** What one announce() writes beside the status. */
export interface Published {
  status: Status;
  exiting: boolean;
  /** supervise/restarts' count (null: not written, as runsv). */
  restarts: number | null;
  /** supervise/info (null: not written, as runsv's supervise/ unless the directory asks). */
  info: Info | null;
  /** respawn-max left the service down: said in supervise/stat. */
  stayDown: boolean;
}

/** The writer of one service directory's supervise/ files. */
export class Board {
  /** The directory is gone: no more warnings about files we cannot write. */
  vanished = false;
  /** A state not written because the directory was renamed or removed under us. */
  unpublished = false;

  constructor(private readonly dir: () => string, private readonly say: (line: string) => void,
              private readonly voice: Voice) {}

  file(f: string): string {
    return join(this.dir(), 'supervise', f);
  }

  /**
   * Publish the state: restarts and info (ours), which carry the label of the
   * status they go with, then status (both originals), stat and pid (runit).
   * Ours come first, so that a reader who sees the new status (svc --wait,
   * sv -w) never takes a stale info for "not ours, nothing to wait for".
   */
  announce(p: Published): void {
    const s = p.status;
    const b = encodeStatus(s);
    if (p.restarts !== null) this.put('restarts', restartsText(p.restarts, b));
    if (p.info) this.put('info', encodeInfo(p.info, b));
    this.put('status', b);
    let stat = statText(s, p.exiting);
    if (s.state === State.Down && p.stayDown) stat = stat.replace(/\n$/, ', respawn-max reached\n');
    this.put('stat', stat);
    this.put('pid', s.pid ? `${s.pid}\n` : '');
  }

  /**
   * Write name.new then rename, so that readers never see half a file. The
   * originals write from inside the service directory; we write by path, so
   * a directory renamed or removed under us (ENOENT) is no failure to report:
   * the scanner learns of it at its next scan and either moves us (moveTo
   * writes the state again) or stops us.
   */
  put(name: string, data: Buffer | string): void {
    const tmp = this.file(`${name}.new`);
    try {
      // A fresh file each time: whatever was left under the name (a FIFO
      // would block the open for ever, a symbolic link lead elsewhere) goes.
      try { unlinkSync(tmp); } catch { /* none, or the open below says why */ }
      const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK, 0o644);
      try { writeFileSync(fd, data); } finally { closeSync(fd); }
    } catch (e) {
      if (!this.gone(e)) this.say(this.voice.writeFailed(`${name}.new`, e));
      return;
    }
    try {
      renameSync(tmp, this.file(name));
      this.unpublished = false;
    } catch (e) {
      if (!this.gone(e)) this.say(this.voice.renameFailed(name, e));
    }
  }

  private gone(e: unknown): boolean {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(this.dir())) return this.vanished;
    this.unpublished = true;
    return true;
  }
}

/** supervise/restarts: the count, then the hex TAI64N label of the status written with it. */
export function restartsText(n: number, status: Buffer): string {
  return `${n} ${statusLabel(status)}\n`;
}

/**
 * The count in supervise/restarts if it goes with this status (same label):
 * a file left by an earlier supervisor, or not updated by the supervisor that
 * wrote the status, gives null.
 */
export function readRestarts(status: Buffer, read: () => string): number | null {
  let t: string;
  try { t = read(); } catch { return null; }
  const m = /^(\d+) ([0-9a-f]{24})\n$/.exec(t);
  if (!m || status.length < 12 || m[2] !== statusLabel(status)) return null;
  return Number(m[1]);
}
