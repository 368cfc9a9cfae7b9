// svscan's view of one service directory: the service and, when it has a
// log/ subdirectory, its log service, joined by a pipe that we hold open
// ourselves: neither side's restart loses what the other wrote (it waits in
// the pipe), as with daemontools' svscan. Each side has its own supervise/
// files and answers x as daemontools' supervise would: it leaves its
// directory once down, and is taken up again at the next scan.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { Flavor, Handed, Service, ServiceHooks, ServiceIO } from './service';
import { runsv } from './voice';
import { closeOnExec, pipe } from './sys';

/** runsv waits for the log service's lock: how often we look. */
const LOCK_POLL_MS = 100;
/** How long a log service may take to drain the pipe after its service is gone. */
const LOG_DRAIN_MS = 5000;

/** Descriptors held for one supervised directory (lock, control, ok): see Service.open(). */
export const FDS_PER_DIR = 3;

/** Whether dir has a log service: log/ a directory; an empty regular file log means none. */
export function logKind(dir: string): 'dir' | 'none' | 'bad' {
  let st: fs.Stats;
  try {
    st = fs.statSync(path.join(dir, 'log'));
  } catch {
    return 'none';
  }
  if (st.isDirectory()) return 'dir';
  return st.isFile() && st.size === 0 ? 'none' : 'bad';
}

/** A Unit as a scanner hands it to its keeper (keeper.ts); descriptors by their numbers there. */
export interface HandedUnit {
  name: string; dir: string; logged: boolean; pipe: number[];
  main: Handed | null; log: Handed | null; stopping: boolean; vanished: boolean;
}

export class Unit {
  main: Service | null = null;
  log: Service | null = null;
  private logged = false;
  private pipeFds: number[] = [];
  private mainIO: ServiceIO = { stdin: 'inherit', stdout: 'inherit' };
  private logIO: ServiceIO = { stdin: 'inherit', stdout: 'inherit' };
  private drain: NodeJS.Timeout | null = null;
  private stopping = false;
  private vanished = false;
  private done = false;

  /**
   * name is how messages call the directory; dir its absolute path.
   * gone() is called once both services are down after stop().
   */
  constructor(public name: string, public dir: string,
              private say: (line: string) => void, private gone: (u: Unit) => void,
              private flavor: Flavor = 'daemontools', errFd: 'inherit' | number = 'inherit') {
    this.mainIO.stderr = this.logIO.stderr = errFd;
  }

  /** Descriptors this unit will hold once open. */
  static need(dir: string): number {
    return logKind(dir) === 'dir' ? 2 * FDS_PER_DIR + 2 : FDS_PER_DIR;
  }

  /** Take both directories, the log first so that it is ready to read. */
  open(): boolean {
    let kind = logKind(this.dir);
    if (this.flavor === 'runit' && kind === 'bad') {
      // runsv reports anything but a directory, and runs without a log service.
      // An empty file is the scanners' way of saying "no log service": silent.
      this.say(`runsv ${this.name}: warning: ./log: not a directory.`);
      kind = 'none';
    }
    if (kind === 'bad') {
      this.say(`svscan: warning: unable to start ${this.name}/log: not a directory (an empty file means no log service)`);
      return false;
    }
    this.logged = kind === 'dir';
    if (this.logged) {
      try {
        const [r, w] = pipe(this.dir);
        this.pipeFds = r === w ? [r] : [r, w];
        this.mainIO.stdout = w;
        this.logIO.stdin = r;
      } catch (e) {
        this.say(`svscan: warning: unable to create pipe for ${this.name}: ${errstr(e)}`);
        return false;
      }
    }
    if (this.flavor === 'runit') return this.openRunit();
    if (this.logged) {
      if (!this.openLog()) {
        this.closePipe();
        return false;
      }
    }
    if (!this.openMain()) return this.abandon();
    return true;
  }

  /** Set when taking the directories failed after open() returned (runsv exits 111). */
  failed = false;
  private lockWait: NodeJS.Timeout | null = null;

  /**
   * runsv's order: the service's lock (taken at once, or fail), then the log
   * service's lock, waited for as long as another holds it, then the FIFOs
   * and the starts. true while waiting; a failure then ends the unit with
   * failed set.
   */
  private openRunit(): boolean {
    const main = this.newMain();
    const got = main.acquire();
    if (got === 'busy') {
      this.say(runsv(this.name, false).lockFailed({ code: 'EAGAIN' }));
      main.giveUp();
    }
    if (got !== 'ok') { this.closePipe(); return false; }
    if (!this.logged) return this.setUp(main, null);
    const log = this.newLog();
    const lg = log.acquire();
    if (lg === 'fail') { main.close(); this.closePipe(); return false; }
    if (lg === 'ok') return this.setUp(main, log);
    this.lockWait = setInterval(() => {
      if (!log.retryLock()) return;
      clearInterval(this.lockWait!);
      this.lockWait = null;
      if (this.setUp(main, log)) return;
      this.failed = this.done = true;
      this.gone(this);
    }, LOCK_POLL_MS);
    // Held while waiting, so that a stop() can let go of both.
    this.waiting = [main, log];
    return true;
  }

  private waiting: Service[] = [];

  /** The service could not be taken up: give its log service and the pipe back. */
  private abandon(): false {
    this.log?.close();
    this.log = null;
    this.closePipe();
    return false;
  }

  private setUp(main: Service, log: Service | null): boolean {
    this.waiting = [];
    if (log) {
      if (!log.setup()) { main.close(); this.closePipe(); return false; }
      this.log = log;
    }
    if (!main.setup()) return this.abandon();
    this.main = main;
    return true;
  }

  private newMain(): Service {
    const hooks: ServiceHooks = { say: this.say, exited: () => this.mainDown() };
    return new Service(this.name, this.dir, this.mainIO, hooks, this.flavor === 'runit'
      ? { flavor: 'runit', voice: runsv(this.name, false) } : {});
  }

  private newLog(): Service {
    const hooks: ServiceHooks = { say: this.say, exited: () => this.logDown() };
    return new Service(`${this.name}/log`, path.join(this.dir, 'log'), this.logIO, hooks, this.flavor === 'runit'
      ? { isLog: true, flavor: 'runit', voice: runsv(this.name, true) } : { isLog: true });
  }

  private openMain(): boolean {
    const s = this.newMain();
    if (!s.open()) return false;
    this.main = s;
    return true;
  }

  private openLog(): boolean {
    const s = this.newLog();
    if (!s.open()) return false;
    this.log = s;
    return true;
  }

  /** A side that left after x is taken up again, as svscan starts supervise again. */
  revive(): void {
    if (this.stopping) return;
    if (this.logged && !this.log) this.openLog();
    if (!this.main) this.openMain();
  }

  /** The directory was renamed: same service, new name. */
  moveTo(name: string, dir: string): void {
    this.name = name;
    this.dir = dir;
    this.main?.moveTo(name, dir);
    this.log?.moveTo(`${name}/log`, path.join(dir, 'log'));
  }

  /**
   * Hand both services over (see Service.handOff); null when there is
   * nothing to hand: still waiting for the log service's lock, or left.
   */
  handOff(pass: (fd: number) => number): HandedUnit | null {
    // Still waiting for the log service's lock: nothing runs; let go of both,
    // lest the lock come while the scanner hands over and a run start unseen.
    if (this.lockWait) this.stop();
    if (this.done) return null;
    const main = this.main?.handOff(pass) ?? null;
    const log = this.log?.handOff(pass) ?? null;
    if (!main && !log) return null;
    return { name: this.name, dir: this.dir, logged: this.logged, pipe: this.pipeFds.map(pass), main, log, stopping: this.stopping, vanished: this.vanished };
  }

  /** The hand-over failed: both services go on. */
  thaw(): void {
    this.main?.thaw();
    this.log?.thaw();
  }

  /** The keeper's side: a Unit as handed, its descriptors already ours. */
  static resume(h: HandedUnit, say: (line: string) => void, gone: (u: Unit) => void, flavor: Flavor): Unit {
    const u = new Unit(h.name, h.dir, say, gone, flavor);
    u.logged = h.logged;
    u.stopping = h.stopping;
    u.vanished = h.vanished;
    u.pipeFds = h.pipe;
    for (const fd of h.pipe) closeOnExec(fd);
    if (h.pipe.length) {
      u.logIO.stdin = h.pipe[0];
      u.mainIO.stdout = h.pipe[h.pipe.length - 1];
    }
    if (h.log) {
      u.log = u.newLog();
      u.log.resume(h.log);
    }
    if (h.main) {
      u.main = u.newMain();
      u.main.resume(h.main);
    } else if (u.stopping && u.log) {
      const log = u.log;
      u.drain = setTimeout(() => log.terminate(), LOG_DRAIN_MS);
    }
    return u;
  }

  /** Bring the service down, then its log service, then release both. */
  stop(vanished = false): void {
    if (this.stopping) return;
    this.stopping = true;
    this.vanished = vanished;
    if (this.lockWait) {
      // Still waiting for the log service's lock: nothing runs yet.
      clearInterval(this.lockWait);
      this.lockWait = null;
      for (const s of this.waiting) s.close();
      this.waiting = [];
      this.closePipe();
      this.done = true;
      return this.gone(this);
    }
    if (!this.main) return this.mainDown();
    if (vanished) this.main.vanish();
    else this.main.shutdown();
  }

  private mainDown(): void {
    this.main?.close();
    this.main = null;
    // runsv: x brought the service down; now its log service, then leave.
    if (this.flavor === 'runit') this.stopping = true;
    if (!this.stopping) return;
    const log = this.log;
    if (!log) return this.check();
    // Our write end is the last one now: closing it gives the log service end of file.
    if (this.pipeFds.length === 2) { fs.closeSync(this.pipeFds[1]); this.pipeFds.pop(); }
    this.drain = setTimeout(() => log.terminate(), LOG_DRAIN_MS);
    if (this.vanished) log.vanish();
    else log.retire();
  }

  private logDown(): void {
    this.log?.close();
    this.log = null;
    this.check();
  }

  private check(): void {
    if (this.done || !this.stopping || this.main || this.log) return;
    this.done = true;
    if (this.drain) clearTimeout(this.drain);
    this.closePipe();
    this.gone(this);
  }

  private closePipe(): void {
    for (const fd of this.pipeFds) fs.closeSync(fd);
    this.pipeFds = [];
  }
}
