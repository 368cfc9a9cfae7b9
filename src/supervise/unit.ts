// A service directory and, when it has a log/ subdirectory, its log service,
// joined by a pipe that we hold open ourselves: neither side's restart loses
// what the other wrote (it waits in the pipe), as with svscan and runsv.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Service, ServiceHooks, ServiceIO } from './service';
import { State } from './status';
import { pipe, reopenPipe } from './sys';

/** How long a log service may take to drain the pipe after its service is gone. */
const LOG_DRAIN_MS = 5000;

export class Unit {
  readonly main: Service;
  readonly log: Service | null = null;
  private pipeFds: number[] = [];
  private mainIO: ServiceIO = { stdin: 'inherit', stdout: 'inherit' };
  private logIO: ServiceIO = { stdin: 'inherit', stdout: 'inherit' };
  private drain: NodeJS.Timeout | null = null;
  private done = false;
  private vanished = false;

  /**
   * name is how messages call the directory; dir its absolute path.
   * gone() is called once both services are down after stop() or an x command.
   */
  constructor(readonly name: string, readonly dir: string,
              say: (line: string) => void, private gone: (u: Unit) => void) {
    let logged = false;
    try {
      logged = fs.statSync(path.join(dir, 'log')).isDirectory();
    } catch { /* not a logged service */ }
    if (logged) {
      const [r, w] = pipe(dir);
      this.pipeFds = r === w ? [r] : [r, w];
      this.mainIO.stdout = w;
      this.logIO.stdin = r;
      this.log = new Service(`${name}/log`, path.join(dir, 'log'), this.logIO, { say, exited: () => this.check() }, true);
    }
    const hooks: ServiceHooks = { say, exited: () => this.mainDown() };
    this.main = new Service(name, dir, this.mainIO, hooks);
  }

  /**
   * A log service taken back still reads the pipe of the supervisor that
   * died: use that pipe, not ours, or its service's next output would go
   * where nobody reads.
   */
  private rejoin(): void {
    if (!this.log?.adopted) return;
    const fds = reopenPipe(this.log.pid, 0);
    if (!fds) return;
    this.closePipe();
    this.pipeFds = fds;
    [this.logIO.stdin, this.mainIO.stdout] = fds;
  }

  /** Take both directories, the log first so that it is ready to read. */
  open(): boolean {
    if (this.log && !this.log.open()) {
      this.closePipe();
      return false;
    }
    this.rejoin();
    if (!this.main.open()) {
      this.log?.close();
      this.closePipe();
      return false;
    }
    return true;
  }

  /** Bring the service down, then its log service, then release both. */
  stop(vanished = false): void {
    this.vanished = vanished;
    if (vanished) this.main.vanish();
    else this.main.exit();
  }

  private mainDown(): void {
    this.main.close();
    if (!this.log) return this.check();
    // Our write end is the last one now: closing it gives the log service end of file.
    if (this.pipeFds.length === 2) { fs.closeSync(this.pipeFds[1]); this.pipeFds.pop(); }
    const log = this.log;
    this.drain = setTimeout(() => log.terminate(), LOG_DRAIN_MS);
    if (this.vanished) log.vanish();
    else log.retire();
  }

  private check(): void {
    if (this.done) return;
    const log = this.log;
    if (!this.main.exiting || (log && (!log.exiting || log.state !== State.Down))) return;
    this.done = true;
    if (this.drain) clearTimeout(this.drain);
    this.log?.close();
    this.closePipe();
    this.gone(this);
  }

  private closePipe(): void {
    for (const fd of this.pipeFds) fs.closeSync(fd);
    this.pipeFds = [];
  }
}
