// One supervised directory: its supervise/ files, its run and finish
// children, pacing and control. A Unit (unit.ts) pairs it with its log/.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, command } from './commands';
import { errstr } from '../lib/errstr';
import { State, Status, Want, decodeStatus, encodeStatus, statText } from './status';
import { Unlock, lock, mkfifo, sameProcess } from './sys';
import { Tai, taiNow } from '../lib/tai64';

const C = fs.constants;
/** daemontools' and runit's rule: never start the same service twice within a second. */
const PACE_MS = 1000;
const FORK_RETRY_MS = 60_000;
const ADOPT_POLL_MS = 250;
/** Control signals whose aim is to end the run (see control()). */
const STOPPING = new Set<NodeJS.Signals>(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT']);
/** spawn() failures that mean "no process could be made", not "run is broken". */
const FORK_ERRORS = new Set(['EAGAIN', 'ENOMEM', 'EMFILE', 'ENFILE']);

export interface ServiceIO {
  stdin: 'inherit' | number;
  stdout: 'inherit' | number;
}

export interface ServiceHooks {
  /** A complete diagnostic line, supervise's style, without the newline. */
  say(line: string): void;
  /** The service ended down after an exit request; the owner releases it. */
  exited(s: Service): void;
}

export class Service {
  private lockFd = -1;
  private unlock: Unlock | null = null;
  private okFd = -1;
  private ctlW = -1;
  private ctl: net.Socket | null = null;
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;

  pid = 0;
  state: State = State.Down;
  want: Want = 'u';
  paused = false;
  term = false;
  exiting = false;
  /** Restarts after the run ended by itself or on a signal command (OpenRC's respawn count). */
  restarts = 0;
  /** Taken back from a previous supervisor rather than started by us. */
  adopted = false;
  private since: Tai = taiNow();
  private runStartedMs = -Infinity;
  /** The current run's death was asked for (t, k, ...): restart it without pacing. */
  private requested = false;
  /** The directory is gone: no more warnings about files we cannot write. */
  private vanished = false;

  // io is shared with the owner, which may change its fds before a start.
  constructor(readonly name: string, readonly dir: string, private io: ServiceIO,
              private hooks: ServiceHooks, readonly isLog = false) {}

  private file(f: string): string {
    return path.join(this.dir, 'supervise', f);
  }

  /** Take the directory: lock, FIFOs, and any run still alive from a previous supervisor. */
  open(): boolean {
    try {
      fs.mkdirSync(path.join(this.dir, 'supervise'), { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        this.hooks.say(`supervise: fatal: unable to create ${this.name}/supervise: ${errstr(e)}`);
        return false;
      }
    }
    try {
      this.lockFd = fs.openSync(this.file('lock'), C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_NONBLOCK, 0o600);
      this.unlock = lock(this.lockFd, this.file('ok'), (m) => this.hooks.say(`supervise: warning: ${m}`));
      if (!this.unlock) throw Object.assign(new Error('locked'), { code: 'EAGAIN' });
    } catch (e) {
      this.hooks.say(`supervise: fatal: unable to acquire ${this.name}/supervise/lock: ${errstr(e)}`);
      this.closeFds();
      return false;
    }
    try {
      mkfifo(this.file('control'));
      mkfifo(this.file('ok'));
      const r = fs.openSync(this.file('control'), C.O_RDONLY | C.O_NONBLOCK);
      // Our own writer keeps the FIFO from ever reading end of file.
      this.ctlW = fs.openSync(this.file('control'), C.O_WRONLY | C.O_NONBLOCK);
      this.ctl = new net.Socket({ fd: r, readable: true, writable: false });
      this.ctl.on('data', (b: Buffer) => { for (const ch of b.toString('latin1')) this.control(ch); });
      this.ctl.on('error', (e) => this.hooks.say(`supervise: warning: unable to read ${this.name}/supervise/control: ${errstr(e)}`));
      // svok and svstat open supervise/ok for writing: that succeeds only while we read it.
      this.okFd = fs.openSync(this.file('ok'), C.O_RDONLY | C.O_NONBLOCK);
    } catch (e) {
      this.hooks.say(`supervise: fatal: unable to set up ${this.name}/supervise: ${errstr(e)}`);
      this.close();
      return false;
    }
    this.want = fs.existsSync(path.join(this.dir, 'down')) ? 'd' : 'u';
    if (!this.adopt()) {
      this.announce();
      if (this.want === 'u') this.start();
    }
    return true;
  }

  /**
   * A supervisor killed hard leaves its children running and the lock free.
   * Its status file names the child: take it back instead of starting a second.
   */
  private adopt(): boolean {
    let old: Status | null = null;
    try {
      old = decodeStatus(fs.readFileSync(this.file('status')));
    } catch { /* nothing to take back */ }
    if (!old || !old.pid || old.state === State.Down || !sameProcess(old.pid, old.when.sec)) return false;
    try {
      this.restarts = Number(fs.readFileSync(this.file('restarts'), 'latin1')) || 0;
    } catch { /* count from zero */ }
    this.adopted = true;
    Object.assign(this, { pid: old.pid, state: old.state, want: old.want, paused: old.paused, term: old.term, since: old.when });
    this.runStartedMs = performance.now();
    this.poll = setInterval(() => {
      if (!sameProcess(this.pid, this.since.sec)) this.ended(null, null);
    }, ADOPT_POLL_MS);
    this.announce();
    return true;
  }

  /** Whether a start is due: not down by request, and not already running or paced. */
  private startable(): boolean {
    return this.state === State.Down && this.want !== 'd' && !this.exiting && !this.timer;
  }

  private start(prog = 'run', args: string[] = []): void {
    let cp: ChildProcess;
    try {
      // Own session and process group, so that a signal meant for the
      // supervisor's group (a terminal's ^C) does not hit the services.
      cp = spawn(`./${prog}`, args, { cwd: this.dir, detached: true, stdio: [this.io.stdin, this.io.stdout, 'inherit'] });
    } catch (e) {
      this.forkFailed(prog, args, e);
      return;
    }
    this.child = cp;
    this.state = prog === 'run' ? State.Run : State.Finish;
    this.pid = cp.pid ?? 0;
    this.paused = false;
    this.since = taiNow();
    if (prog === 'run') this.runStartedMs = performance.now();
    if (cp.pid === undefined) {
      // Like the originals' forked child that failed to exec: a line, then exit 111.
      cp.once('error', (e) => {
        if (this.child !== cp) return;
        if (FORK_ERRORS.has((e as NodeJS.ErrnoException).code ?? '')) {
          this.child = null;
          this.state = State.Down;
          this.forkFailed(prog, args, e);
          return;
        }
        this.hooks.say(`supervise: fatal: unable to start ${this.name}/${prog}: ${errstr(e)}`);
        this.ended(111, null);
      });
      return;
    }
    cp.on('error', () => { /* kill() failures are handled where we signal */ });
    cp.once('exit', (code, sig) => { if (this.child === cp) this.ended(code, sig); });
    this.announce();
  }

  /** Out of processes or memory: the original's long pause, then try again. */
  private forkFailed(prog: string, args: string[], e: unknown): void {
    this.hooks.say(`supervise: warning: unable to fork for ${this.name}, sleeping 60 seconds: ${errstr(e)}`);
    this.timer = setTimeout(() => { this.timer = null; this.resume(prog, args); }, FORK_RETRY_MS);
  }

  /** After a fork failure: try again what was due, if it still is. */
  private resume(prog: string, args: string[]): void {
    if (prog === 'finish') this.start(prog, args);
    else if (this.startable()) this.start();
  }

  private ended(code: number | null, sig: NodeJS.Signals | null): void {
    const was = this.state;
    this.child = null;
    this.pid = 0;
    this.term = false;
    this.paused = false;
    if (this.poll) { clearInterval(this.poll); this.poll = null; }
    if (was === State.Run && this.hasFinish()) {
      // runit's ./finish: exit code (-1 when killed) and signal number (0 when exited).
      const signo = sig ? os.constants.signals[sig] : 0;
      this.start('finish', [String(code ?? -1), String(signo)]);
      return;
    }
    this.state = State.Down;
    this.since = taiNow();
    this.announce();
    if (this.exiting) { this.hooks.exited(this); return; }
    if (this.want !== 'u') return;
    const wait = this.requested ? 0 : Math.max(0, this.runStartedMs + PACE_MS - performance.now());
    this.requested = false;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.startable()) return;
      this.restarts++;
      this.start();
    }, wait);
  }

  private hasFinish(): boolean {
    try {
      return fs.statSync(path.join(this.dir, 'finish')).isFile();
    } catch {
      return false;
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (!this.pid) return;
    try {
      process.kill(this.pid, sig);
    } catch { /* already gone: its exit is on its way */ }
  }

  private stopRun(): void {
    if (this.state !== State.Run) return;
    this.term = true;
    this.paused = false;
    this.signal('SIGTERM');
    this.signal('SIGCONT');
  }

  control(ch: string): void {
    const c: Command | undefined = command(ch);
    if (!c) return;
    switch (c.kind) {
      case 'up':
      case 'once':
        this.want = c.kind === 'up' ? 'u' : 'o';
        this.announce();
        if (this.startable()) this.start();
        return;
      case 'down':
        this.want = 'd';
        this.cancelStart();
        this.stopRun();
        this.announce();
        return;
      case 'exit':
        // runit ignores x for a log service: its main service decides.
        if (!this.isLog) this.exit();
        return;
      case 'pause':
      case 'cont':
        this.paused = c.kind === 'pause' && this.pid !== 0;
        this.signal(c.kind === 'pause' ? 'SIGSTOP' : 'SIGCONT');
        this.announce();
        return;
      case 'signal':
        // Only the stopping signals make a deliberate restart; a HUP that
        // happens to kill is no more deliberate than a crash.
        if (this.pid && this.state === State.Run && STOPPING.has(c.signal)) this.requested = true;
        if (c.signal === 'SIGTERM' && this.state === State.Run) this.term = true;
        this.signal(c.signal);
        this.announce();
        return;
    }
  }

  /** Bring the service down for good; hooks.exited() follows once it is down. */
  exit(): void {
    this.exiting = true;
    this.want = 'd';
    this.cancelStart();
    this.stopRun();
    this.announce();
    if (this.state === State.Down) this.hooks.exited(this);
  }

  /**
   * A log service whose service is gone: no restart, no signal. It ends on
   * the end of file of its pipe, after logging everything still in it.
   */
  retire(): void {
    this.exiting = true;
    this.want = 'd';
    this.cancelStart();
    this.announce();
    if (this.state === State.Down) this.hooks.exited(this);
  }

  /** Signal a log service that was asked to exit but did not end on end of file. */
  terminate(): void {
    this.signal('SIGTERM');
    this.signal('SIGCONT');
  }

  /** The directory was removed: stop quietly. */
  vanish(): void {
    this.vanished = true;
    if (this.isLog) this.retire();
    else this.exit();
  }

  private cancelStart(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }

  /** Give the directory back: FIFOs closed, lock released. */
  close(): void {
    this.cancelStart();
    if (this.poll) { clearInterval(this.poll); this.poll = null; }
    this.ctl?.destroy();
    this.ctl = null;
    this.closeFds();
  }

  private closeFds(): void {
    for (const fd of [this.okFd, this.ctlW, this.lockFd]) if (fd >= 0) fs.closeSync(fd);
    this.okFd = this.ctlW = this.lockFd = -1;
    this.unlock?.();
    this.unlock = null;
  }

  get status(): Status {
    return { when: this.since, pid: this.pid, paused: this.paused, want: this.want, term: this.term, state: this.state };
  }

  /** Publish the state: status (both originals), stat and pid (runit), restarts (ours). */
  private announce(): void {
    const s = this.status;
    this.put('status', encodeStatus(s));
    this.put('stat', statText(s, this.exiting));
    this.put('pid', this.pid ? `${this.pid}\n` : '');
    this.put('restarts', `${this.restarts}\n`);
  }

  /** Write name.new then rename, so that readers never see half a file. */
  private put(name: string, data: Buffer | string): void {
    const tmp = this.file(`${name}.new`);
    try {
      fs.writeFileSync(tmp, data, { mode: 0o644 });
    } catch (e) {
      if (!this.vanished) this.hooks.say(`supervise: warning: unable to write ${this.name}/supervise/${name}.new: ${errstr(e)}`);
      return;
    }
    try {
      fs.renameSync(tmp, this.file(name));
    } catch (e) {
      if (!this.vanished) this.hooks.say(`supervise: warning: unable to rename ${this.name}/supervise/${name}.new to ${name}: ${errstr(e)}`);
    }
  }
}
