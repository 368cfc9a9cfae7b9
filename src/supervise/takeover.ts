// Taking a service directory: supervise/ (runsv: through a supervise
// symbolic link), its lock, and its FIFOs. What is held is three
// descriptors: the lock, supervise/control opened read-write (so that it
// never reads end of file; the service reads it) and supervise/ok.
import { closeSync, constants, mkdirSync, openSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Unlock, lock, mkfifo } from './sys';
import type { Voice } from './voice';

const C = constants;

export class Takeover {
  lockFd = -1;
  okFd = -1;
  private unlock: Unlock | null = null;

  /** runit: runsv's words, and its supervise symbolic link followed. */
  constructor(private readonly dir: () => string, private readonly runit: boolean,
              private readonly say: (line: string) => void, private readonly voice: Voice) {}

  private file(f: string): string {
    return join(this.dir(), 'supervise', f);
  }

  /**
   * supervise/ (runsv: following a supervise symlink, whose target it
   * creates) and its lock. busy: another supervisor holds the lock; the lock
   * file stays open for retryLock(). fail: said why, nothing held.
   */
  acquire(): 'ok' | 'busy' | 'fail' {
    try {
      mkdirSync(join(this.dir(), 'supervise'), { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        this.say(this.voice.mkdirFailed(e));
        return 'fail';
      }
      if (this.runit && !this.followLink()) return 'fail';
    }
    try {
      this.lockFd = openSync(this.file('lock'), C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NONBLOCK, 0o600);
    } catch (e) {
      // runsv's words for it: "unable to open"; supervise's: "unable to acquire".
      this.say(this.runit ? this.voice.mkdirFailed(e) : this.voice.lockFailed(e));
      return 'fail';
    }
    return this.retryLock() ? 'ok' : 'busy';
  }

  /** Try the lock again (the lock file is open): whether it is ours now. */
  retryLock(): boolean {
    try {
      this.unlock = lock(this.lockFd, this.file('ok'), (m) => this.say(this.voice.warning(m)));
    } catch {
      this.unlock = null;
    }
    return this.unlock !== null;
  }

  /**
   * runsv: supervise/ exists already; when it is a symbolic link, make the
   * directory it names (relative to the service directory), as runsv does
   * before opening supervise/lock through it.
   */
  private followLink(): boolean {
    let target: string;
    try {
      target = readlinkSync(join(this.dir(), 'supervise'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EINVAL') return true;
      this.say(this.voice.readlinkFailed(e));
      return false;
    }
    try { mkdirSync(resolve(this.dir(), target), { mode: 0o700 }); } catch { /* as runsv: the lock's open says */ }
    return true;
  }

  /** The FIFOs, once the lock is ours: supervise/control handed to listen, supervise/ok held. Throws. */
  fifos(listen: (ctlFd: number) => void): void {
    mkfifo(this.file('control'));
    mkfifo(this.file('ok'));
    listen(openSync(this.file('control'), C.O_RDWR | C.O_NONBLOCK));
    // svok and svstat open supervise/ok for writing: that succeeds only while we read it.
    this.okFd = openSync(this.file('ok'), C.O_RDONLY | C.O_NONBLOCK);
  }

  /** The keeper's side of a hand-over: the lock and supervise/ok as the scanner held them. */
  takeUp(lockFd: number, okFd: number): void {
    this.lockFd = lockFd;
    this.unlock = () => {};
    this.okFd = okFd;
  }

  /** Give back the lock and supervise/ok (the control FIFO is the service's to close). */
  close(): void {
    for (const fd of [this.okFd, this.lockFd]) if (fd >= 0) closeSync(fd);
    this.okFd = this.lockFd = -1;
    this.unlock?.();
    this.unlock = null;
  }
}
