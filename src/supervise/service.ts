// One supervised directory: its life cycle, pacing and restart policy.
// The rest lives beside it: taking the directory (takeover.ts), reading
// supervise/control (letters.ts), the run and finish children (child.ts),
// runsv's control scripts (custom.ts), the notification pipe (ready.ts) and
// writing supervise/'s files (publish.ts). The life cycle is a table: for
// each phase, the events it handles and the action that returns the next
// phase; an event a phase does not list is ignored there. There is one table
// per flavor (DAEMONTOOLS, RUNIT, on the rows they share), chosen once. A
// Unit (unit.ts) pairs a Service with its log/ under svscan.
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, statSync, unlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { command } from './commands';
import { errstr } from '../lib/errstr';
import { Voice, supervise } from './voice';
import { State, Status, Want, encodeStatus } from './status';
import { closeOnExec, pipe, startTicks } from './sys';
import { Takeover } from './takeover';
import { Letters } from './letters';
import { Notifier } from './ready';
import { Tai, nowMicros, taiNow } from '../lib/tai64';
import { timerMs } from '../lib/timer';
import { NO_POLICY, Policy, RespawnMemory, decide, freshMemory, optedIn, readPolicy } from './policy';
import { LastExit, Respawn, encodeReady } from './extra';
import { Board } from './publish';
import { LETTER, runScript } from './custom';
import { FD_ERRORS, FORK_ERRORS, startChild, watch } from './child';

/** daemontools' and runit's rule: never start the same service twice within a second. */
const PACE_MS = 1000;
/** fork(2) failed (no process could be made): the original's long pause. */
const FORK_RETRY_MS = 60_000;
/** Out of file descriptors: it is ours to free, so try again as soon as svscan rescans. */
const FD_RETRY_MS = 5000;
/** Control signals whose aim is to end the run (see the signal event). */
const STOPPING = new Set<NodeJS.Signals>(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT']);

/**
 * down: no child, no start due. waiting: no child, a start due when the timer
 * fires (pacing, or a retry after a failed fork). up: run alive. stopping: run
 * alive and sent TERM because the service was asked down. finishing: finish alive.
 */
export type Phase = 'down' | 'waiting' | 'up' | 'stopping' | 'finishing';

export type Event =
  | { kind: 'up' } | { kind: 'once' } | { kind: 'down' } | { kind: 'exit' }
  | { kind: 'pause' } | { kind: 'cont' } | { kind: 'signal'; signal: NodeJS.Signals }
  /** The current child ended (code null when a signal killed it or it was taken back). */
  | { kind: 'died'; code: number | null; sig: NodeJS.Signals | null }
  | { kind: 'timer' }
  /** The keeper takes up a service as a scanner handed it over (see resume). */
  | { kind: 'adopt'; h: Handed }
  /** The current child was never made after all (spawn's error: fork failed): try again later. */
  | { kind: 'unforked'; prog: 'run' | 'finish'; args: string[]; err: unknown }
  /** Stop the service and leave (svscan's TERM, a removed directory, supervise's TERM). */
  | { kind: 'shutdown' }
  /** A log service whose service is gone: leave once its run ends by itself. */
  | { kind: 'retire' };

/**
 * What an action returns: the next phase, or a promise of it while a runsv
 * control/<letter> script runs (see custom()). Until it settles, this
 * service's further events wait in its queue; every other service goes on.
 */
type Step = Phase | Promise<Phase>;
type Action<K extends Event['kind']> = (s: Service, e: Extract<Event, { kind: K }>) => Step;
type Row = { [K in Event['kind']]?: Action<K> };
/** The state × event table: for each phase, its rows. */
type Table = Record<Phase, Row>;

/**
 * What a flavor decides, chosen once when a Service is made: its table, and
 * the few things outside it where supervise and runsv differ.
 */
interface Way {
  table: Table;
  /** What o stores: daemontools' "once" (want byte 0), runsv's want down. */
  onceWant: Want;
  /** runsv's status keeps the run's start while finish runs; supervise's shows finish's own. */
  finishKeepsSince: boolean;
  /** The wait after a failed fork that did not run out of descriptors (runsv always sleeps 5 seconds). */
  forkRetryMs: number;
  /** A restart that was asked for (t, k, ...) waits for the pacing all the same (runsv) or not (supervise). */
  pacedWhenAsked: boolean;
  /** runsv's control/<letter> scripts are run (custom.ts). */
  scripts: boolean;
  /** supervise/restarts, and supervise/info unasked (runsv's supervise/ holds runsv's files only). */
  ownFiles: boolean;
}

/** The rows both flavors share, with one flavor's own. */
function flavored(shared: Table, own: Table): Table {
  const t = {} as Table;
  for (const p of Object.keys(shared) as Phase[]) t[p] = { ...shared[p], ...own[p] };
  return t;
}

/**
 * Whose supervisor a Service stands in for, which decides what x means.
 * daemontools (supervise, svscan): leave once the service is down, without
 * touching it. runit (runsv): stop the service, then leave; ignored by a log
 * service, whose main service decides.
 */
export type Flavor = 'daemontools' | 'runit';

export interface ServiceIO {
  stdin: 'inherit' | number;
  stdout: 'inherit' | number;
  /** Where run and finish write errors: ours (inherit), or runsvdir's log pipe. */
  stderr?: 'inherit' | number;
}

export interface ServiceHooks {
  /** A complete diagnostic line (see voice.ts), without the newline. */
  say(line: string): void;
  /** The service ended down after an exit request; the owner releases it. */
  exited(s: Service): void;
}

export interface ServiceOptions {
  isLog?: boolean;
  /**
   * Whose supervisor this stands in for. runit: x stops the service (ignored
   * by a log service), o is stored as runsv stores it (want down), no
   * supervise/restarts, every restart paced, runsv's words in messages.
   */
  flavor?: Flavor;
  voice?: Voice;
}

/**
 * One Service as a scanner hands it to its keeper (keeper.ts): its state,
 * and the descriptors it held, by their numbers in the keeper. start is the
 * run's (or finish's) start time in clock ticks since boot, from /proc: with
 * the pid, what the keeper watches, for only the scanner could have known it.
 */
export interface Handed {
  lock: number; ctl: number; ok: number; notifyFd: number | null;
  phase: Phase; pid: number; start: string | null;
  want: Want; paused: boolean; term: boolean; exiting: boolean; requested: boolean;
  since: Tai; restarts: number; lastExit: LastExit; readyAt: Tai | null; notify: number | null;
  pending: { prog: 'run' | 'finish'; args: string[]; restart: boolean } | null;
  /** How long the pending start still had to wait (ms). */
  pendingMs: number;
  /** How long ago run started (ms; null: never), for the pacing. */
  runAgoMs: number | null;
}

export class Service {
  /** The directory's lock and FIFOs (takeover.ts). */
  private readonly hold: Takeover;
  /** supervise/control, read (letters.ts). */
  private readonly letters: Letters;
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;

  phase: Phase = 'down';
  pid = 0;
  want: Want = 'u';
  paused = false;
  term = false;
  exiting = false;
  /** Restarts after the run ended by itself or on a signal command (OpenRC's respawn count). */
  restarts = 0;
  /** Taken back from a previous supervisor rather than started by us. */
  adopted = false;
  /** The directory's restart policy and readiness files (policy.ts), as last read. */
  policy: Policy = NO_POLICY;
  private memory: RespawnMemory = freshMemory();
  /** How the last run ended (null: none yet, or unknown). */
  lastExit: LastExit = null;
  /** The descriptor the current run was given for readiness. */
  notify: number | null = null;
  /** When the current run said it was ready. */
  readyAt: Tai | null = null;
  /** The policy's state, for supervise/info. */
  respawn: Respawn = null;
  /** The policy's delay (ms) before the current run, and before the pending start (null: the originals' pacing). */
  private delay: number | null = null;
  private nextDelay: number | null = null;
  /** run's notification pipe, read (ready.ts). */
  private readonly notifier = new Notifier(() => this.becameReady());
  /** The current child is known to have ended; its 'died' may still wait in the queue. */
  private ended = false;
  /** The last complaint about each policy file, so that a restart loop says it once. */
  private complaints = new Map<string, string>();
  private since: Tai = taiNow();
  private runStartedMs = -Infinity;
  /** The current run's death was asked for (t, k, ...): restart it without pacing. */
  private requested = false;
  /** What the waiting phase's timer starts: run (a restart) or finish (after a failed fork). */
  private pending: { prog: 'run' | 'finish'; args: string[]; restart: boolean } | null = null;
  /** supervise/'s files (publish.ts). */
  private readonly board: Board;
  readonly isLog: boolean;
  readonly flavor: Flavor;
  /** The flavor's table and its other choices. */
  private readonly way: Way;

  // io is shared with the owner, which may change its fds before a start.
  constructor(public name: string, public dir: string, private io: ServiceIO,
              private hooks: ServiceHooks, opts: ServiceOptions = {}) {
    this.isLog = opts.isLog ?? false;
    this.flavor = opts.flavor ?? 'daemontools';
    this.way = Service.WAYS[this.flavor];
    this.voice = opts.voice ?? supervise(() => this.name);
    const say = (line: string) => this.hooks.say(line);
    this.board = new Board(() => this.dir, say, this.voice);
    this.hold = new Takeover(() => this.dir, this.flavor === 'runit', say, this.voice);
    this.letters = new Letters((ch) => this.control(ch), () => !this.busy && !this.frozen,
      (e) => this.hooks.say(this.voice.controlReadFailed(e)));
  }

  private readonly voice: Voice;

  /** The rows both flavors share. */
  private static readonly SHARED: Table = {
    down: {
      adopt: (s, e) => s.takeUp(e.h),
      up: (s) => { s.want = 'u'; s.forgive(); return s.start('run'); },
      once: (s) => { s.want = s.way.onceWant; return s.start('run'); },
      down: (s) => { s.want = 'd'; return 'down'; },
      shutdown: (s) => { s.want = 'd'; return s.leave(); },
      retire: (s) => { s.want = 'd'; return s.leave(); },
      cont: (s) => { s.paused = false; return 'down'; },
    },
    waiting: {
      timer: (s) => s.startPending(),
      up: (s) => { s.want = 'u'; s.forgive(); return 'waiting'; },
      once: (s) => { s.want = s.way.onceWant; return 'waiting'; },
      down: (s) => { s.want = 'd'; s.cancelStart(); return 'down'; },
      shutdown: (s) => { s.want = 'd'; s.cancelStart(); return s.leave(); },
      retire: (s) => { s.want = 'd'; s.cancelStart(); return s.leave(); },
      cont: (s) => { s.paused = false; return 'waiting'; },
    },
    up: {
      died: (s, e) => s.runEnded(e.code, e.sig),
      unforked: (s, e) => s.forkFailed(e.prog, e.args, e.err),
      up: (s) => { s.want = 'u'; s.forgive(); return 'up'; },
      once: (s) => { s.want = s.way.onceWant; return 'up'; },
      retire: (s) => { s.exiting = true; s.want = 'd'; return 'up'; },
    },
    stopping: {
      died: (s, e) => s.runEnded(e.code, e.sig),
      unforked: (s, e) => s.forkFailed(e.prog, e.args, e.err),
      up: (s) => { s.want = 'u'; s.forgive(); return 'stopping'; },
      once: (s) => { s.want = s.way.onceWant; return 'stopping'; },
      shutdown: (s) => { s.exiting = true; s.want = 'd'; return 'stopping'; },
      retire: (s) => { s.exiting = true; s.want = 'd'; return 'stopping'; },
    },
    finishing: {
      died: (s) => s.settle(),
      unforked: (s, e) => s.forkFailed(e.prog, e.args, e.err),
      up: (s) => { s.want = 'u'; s.forgive(); return 'finishing'; },
      once: (s) => { s.want = s.way.onceWant; return 'finishing'; },
      down: (s) => { s.want = 'd'; return 'finishing'; },
      shutdown: (s) => { s.exiting = true; s.want = 'd'; return 'finishing'; },
      retire: (s) => { s.exiting = true; s.want = 'd'; return 'finishing'; },
    },
  };

  /**
   * supervise's rows: x leaves once the service is down, without touching
   * it; d, p, c and the signal commands signal the child (finish too).
   */
  private static readonly DAEMONTOOLS: Table = flavored(Service.SHARED, {
    down: {
      exit: (s) => s.leave(),
      pause: (s) => { s.paused = false; return 'down'; },
    },
    waiting: {
      exit: (s) => { s.cancelStart(); return s.leave(); },
      pause: (s) => { s.paused = false; return 'waiting'; },
    },
    up: {
      down: (s) => { s.want = 'd'; return s.stopRun(); },
      exit: (s) => { s.exiting = true; return 'up'; },
      shutdown: (s) => { s.exiting = true; s.want = 'd'; return s.stopRun(); },
      ...Service.signalled('up'),
      signal: (s, e) => {
        // Only the stopping signals make a deliberate restart; a HUP that
        // happens to kill is no more deliberate than a crash.
        if (STOPPING.has(e.signal)) s.requested = true;
        if (e.signal === 'SIGTERM') s.term = true;
        s.signal(e.signal);
        return 'up';
      },
    },
    stopping: {
      // Both originals signal again (runsv: its control scripts again) on each d while run is alive.
      down: (s) => { s.want = 'd'; return s.stopRun(); },
      exit: (s) => { s.exiting = true; return 'stopping'; },
      ...Service.signalled('stopping'),
      signal: (s, e) => {
        if (STOPPING.has(e.signal)) s.requested = true;
        s.signal(e.signal);
        return 'stopping';
      },
    },
    finishing: {
      exit: (s) => { s.exiting = true; return 'finishing'; },
      ...Service.signalled('finishing'),
      signal: (s, e) => { s.signal(e.signal); return 'finishing'; },
    },
  });

  /**
   * runsv's rows: x stops the service, then leaves (a log service ignores
   * it: its main service decides); d, p, c and the signal commands run
   * control/<letter> first (custom()); finish is never signalled.
   */
  private static readonly RUNIT: Table = flavored(Service.SHARED, {
    down: {
      exit: (s) => (s.isLog ? 'down' : s.leave()),
      // runsv keeps a p given while down (status shows it) until c or a start.
      pause: (s) => { s.paused = true; return 'down'; },
    },
    waiting: {
      exit: (s) => { if (s.isLog) return 'waiting'; s.cancelStart(); return s.leave(); },
      pause: (s) => { s.paused = true; return 'waiting'; },
    },
    up: {
      down: (s) => { s.want = 'd'; return s.stopService(); },
      exit: (s) => {
        if (s.isLog) return 'up';
        s.exiting = true;
        s.want = 'd';
        return s.stopService();
      },
      shutdown: (s) => { s.exiting = true; s.want = 'd'; return s.stopService(); },
      ...Service.scripted('up'),
    },
    stopping: {
      down: (s) => { s.want = 'd'; return s.stopService(); },
      exit: (s) => s.exitLater('stopping'),
      ...Service.scripted('stopping'),
    },
    finishing: {
      exit: (s) => s.exitLater('finishing'),
      // runsv signals run only: finish is left alone, a p is kept for the next run.
      pause: (s) => { s.paused = true; return 'finishing'; },
      cont: (s) => { s.paused = false; return 'finishing'; },
      signal: (s, e) => {
        // runsv's k marks the service down without touching finish; with an
        // exit pending it then leaves, finish left to run on its own.
        if (e.signal === 'SIGKILL' && s.exiting) { s.abandon(); return 'down'; }
        return 'finishing';
      },
    },
  });

  private static readonly WAYS: Record<Flavor, Way> = {
    daemontools: {
      table: Service.DAEMONTOOLS, onceWant: 'o', finishKeepsSince: false, forkRetryMs: FORK_RETRY_MS,
      pacedWhenAsked: false, scripts: false, ownFiles: true,
    },
    runit: {
      table: Service.RUNIT, onceWant: 'd', finishKeepsSince: true, forkRetryMs: FD_RETRY_MS,
      pacedWhenAsked: true, scripts: true, ownFiles: false,
    },
  };

  /** p and c to a child alive (supervise): STOP and CONT. */
  private static signalled(p: Phase): Row {
    return {
      pause: (s) => { s.paused = true; s.signal('SIGSTOP'); return p; },
      cont: (s) => { s.paused = false; s.signal('SIGCONT'); return p; },
    };
  }

  /** p, c and the signal commands to a run alive (runsv): control/<letter>, else the signal. */
  private static scripted(p: Phase): Row {
    return {
      pause: (s) => { s.paused = true; return then(s.signalOr('p', 'SIGSTOP'), () => p); },
      cont: (s) => { s.paused = false; return then(s.signalOr('c', 'SIGCONT'), () => p); },
      signal: (s, e) => {
        if (STOPPING.has(e.signal)) s.requested = true;
        if (e.signal === 'SIGTERM') return s.stopService();
        return then(s.signalOr(LETTER[e.signal], e.signal), () => p);
      },
    };
  }

  /**
   * Feed one event through the table, then publish the state if it is still
   * ours. While an action waits for a control script, events queue up (runsv
   * does nothing else meanwhile); a fault in one action is said, and the
   * service stays in the phase it was in, for the supervisor serves others too.
   */
  dispatch(e: Event): void {
    if (this.busy || this.frozen) { this.queue.push(() => this.dispatch(e)); return; }
    const act = this.way.table[this.phase][e.kind] as ((s: Service, e: Event) => Step) | undefined;
    if (!act) return;
    let next: Step;
    try {
      next = act(this, e);
    } catch (err) {
      return this.fault(err);
    }
    if (!(next instanceof Promise)) return this.land(next);
    this.busy = true;
    this.letters.pause();
    next.then((p) => { this.busy = false; this.land(p); }, (err) => { this.busy = false; this.fault(err); })
      .then(() => this.drain())
      .catch((err) => this.fault(err));
  }

  private drain(): void {
    while (!this.busy && !this.frozen && this.queue.length) this.queue.shift()!();
    this.letters.resume();
  }

  /** An action is waiting for a control script: events wait here. */
  private busy = false;
  private queue: Array<() => void> = [];
  /** Being handed to a keeper: events wait (and are dropped if the hand-over succeeds). */
  private frozen = false;
  private timerDue = 0;

  /** Run fn now, or after the action under way (for what happens outside dispatch). */
  private whenIdle(fn: () => void): void {
    if (this.busy || this.frozen) this.queue.push(fn);
    else fn();
  }

  private land(p: Phase): void {
    this.phase = p;
    try {
      this.announce();
      if (this.exiting && this.phase === 'down' && !this.left) {
        this.left = true;
        this.hooks.exited(this);
      }
    } catch (err) {
      this.fault(err);
    }
  }

  /** A bug or an unforeseen failure while handling this service: said, and not fatal to the others. */
  private fault(err: unknown): void {
    try { this.hooks.say(this.voice.warning(`${this.name}: unexpected error: ${errstr(err)}`)); } catch { /* nowhere to say it */ }
  }

  private left = false;

  /** The on-disk state: status' byte 19. */
  get state(): State {
    return this.phase === 'up' || this.phase === 'stopping' ? State.Run
      : this.phase === 'finishing' ? State.Finish : State.Down;
  }

  /** The directory was renamed: keep supervising it under its new name. */
  moveTo(name: string, dir: string): void {
    this.name = name;
    this.dir = dir;
    // What could not be written under the old name is written now.
    if (this.board.unpublished) this.announce();
  }

  /**
   * Take the directory (takeover.ts): lock, FIFOs, then start. Three descriptors held: the lock, supervise/control opened
   * read-write (so that it never reads end of file) and supervise/ok.
   */
  open(): boolean {
    const got = this.acquire();
    if (got === 'busy') {
      this.hooks.say(this.voice.lockFailed({ code: 'EAGAIN' }));
      this.hold.close();
    }
    return got === 'ok' && this.setup();
  }

  /** supervise/ and its lock (takeover.ts): busy leaves the lock file open for retryLock() or giveUp(). */
  acquire(): 'ok' | 'busy' | 'fail' {
    return this.hold.acquire();
  }

  /** Try the lock again (the lock file is open): whether it is ours now. */
  retryLock(): boolean {
    return this.hold.retryLock();
  }

  /** Let go of a lock file that acquire() left open while busy. */
  giveUp(): void {
    this.hold.close();
  }

  /** Take the FIFOs, then start. */
  setup(): boolean {
    try {
      this.hold.fifos((fd) => this.letters.listen(fd));
    } catch (e) {
      this.hooks.say(this.voice.setupFailed(e));
      this.close();
      return false;
    }
    this.want = existsSync(join(this.dir, 'down')) ? 'd' : 'u';
    this.loadPolicy();
    // What supervise/status says of an earlier supervisor is not trusted:
    // any process could be named there. As daemontools and runit, start
    // afresh; only a hand-over from our own scanner (keeper.ts) is taken up.
    this.announce();
    if (this.want === 'u') this.dispatch({ kind: 'up' });
    return true;
  }

  /** Start prog now, or at once arrange for the retry: the phase that follows. */
  private start(prog: 'run' | 'finish', args: string[] = []): Step {
    // runsv runs control/u (whatever its outcome) before each ./run.
    if (prog === 'run') {
      const u = this.custom('u');
      if (u) return u.then(() => this.launch(prog, args));
    }
    return this.launch(prog, args);
  }

  private launch(prog: 'run' | 'finish', args: string[]): Phase {
    const stdio: Array<'inherit' | 'ignore' | number> = [this.io.stdin, this.io.stdout, this.io.stderr ?? 'inherit'];
    let notify: [number, number] | null = null;
    if (prog === 'run') {
      this.loadPolicy();
      this.respawn = null;
      this.readyAt = null;
      this.delay = this.nextDelay;
      this.nextDelay = null;
      notify = this.notifyPipe();
      this.notify = notify ? this.policy.notifyFd : null;
      if (notify) {
        while (stdio.length < this.policy.notifyFd!) stdio.push('ignore');
        stdio[this.policy.notifyFd!] = notify[1];
      }
    }
    let cp: ChildProcess;
    try {
      cp = startChild(this.dir, prog, args, stdio);
    } catch (e) {
      if (notify) { for (const fd of new Set(notify)) closeSync(fd); }
      this.notify = null;
      return this.forkFailed(prog, args, e);
    }
    if (notify) {
      // Only run holds the write end now: its end (or its close) is the pipe's end.
      if (notify[1] !== notify[0]) closeSync(notify[1]);
      if (cp.pid !== undefined) this.notifier.await(notify[0]);
      else { closeSync(notify[0]); this.notify = null; }
    }
    this.child = cp;
    this.pid = cp.pid ?? 0;
    this.ended = false;
    this.paused = false;
    this.term = false;
    if (prog === 'run' || !this.way.finishKeepsSince) this.since = taiNow();
    if (prog === 'run') this.runStartedMs = performance.now();
    if (cp.pid === undefined) {
      // Like the originals' forked child that failed to exec: a line, then exit 111.
      cp.once('error', (e) => this.whenIdle(() => {
        if (this.child !== cp) return;
        this.child = null;
        if (FORK_ERRORS.has((e as NodeJS.ErrnoException).code ?? '')) {
          this.dispatch({ kind: 'unforked', prog, args, err: e });
          return;
        }
        this.hooks.say(this.voice.startFailed(prog, e));
        this.dispatch({ kind: 'died', code: 111, sig: null });
      }));
    } else {
      cp.on('error', () => { /* kill() failures are handled where we signal */ });
      cp.once('exit', (code, sig) => {
        if (this.child !== cp) return;
        this.child = null;
        this.ended = true;
        this.dispatch({ kind: 'died', code, sig });
      });
    }
    return prog === 'run' ? 'up' : 'finishing';
  }

  /** No process could be made: say so, wait, then try again what was due. */
  private forkFailed(prog: 'run' | 'finish', args: string[], e: unknown): Phase {
    this.pid = 0;
    const fds = FD_ERRORS.has((e as NodeJS.ErrnoException).code ?? '');
    const ms = fds ? FD_RETRY_MS : this.way.forkRetryMs;
    this.hooks.say(this.voice.forkFailed(ms / 1000, e));
    this.pending = { prog, args, restart: false };
    this.arm(ms);
    return 'waiting';
  }

  private arm(ms: number): void {
    this.cancelStart();
    this.timerDue = performance.now() + ms;
    this.timer = setTimeout(() => { this.timer = null; this.dispatch({ kind: 'timer' }); }, timerMs(ms));
  }

  private startPending(): Step {
    const p = this.pending;
    this.pending = null;
    if (p?.prog === 'finish') return this.start('finish', p.args);
    if (this.want === 'd') return 'down';
    if (p?.restart) this.restarts++;
    return this.start('run');
  }

  /** run ended: its finish, if any, else settle. */
  private runEnded(code: number | null, sig: NodeJS.Signals | null): Step {
    this.lastExit = code !== null ? { code } : sig ? { signal: constants.signals[sig] } : null;
    this.delay = null;
    this.notReady();
    this.clearChild();
    if (this.hasFinish()) {
      // runit's ./finish: exit code (-1 when killed) and signal number (0 when exited).
      const signo = sig ? constants.signals[sig] : 0;
      return this.start('finish', [String(code ?? -1), String(signo)]);
    }
    return this.settle();
  }

  /**
   * Nothing runs any more: down for good, or a restart after the pacing
   * delay, or after the delay of the directory's restart policy, which may
   * also leave it down (respawn-max).
   */
  private settle(): Phase {
    this.clearChild();
    this.since = taiNow();
    if (this.exiting || this.want !== 'u') {
      this.requested = false;
      return 'down';
    }
    const now = performance.now();
    const pace = this.paceMs(now);
    let wait = pace;
    this.nextDelay = null;
    if (this.requested) {
      if (!this.way.pacedWhenAsked) wait = 0;
    } else {
      this.loadPolicy();
      const d = decide(this.policy, this.memory, now, now - this.runStartedMs, pace);
      if (d.kind === 'stay-down') {
        this.want = 'd';
        this.respawn = { stayDown: { restarts: d.restarts, max: d.max, periodMs: d.periodMs } };
        this.hooks.say(this.voice.stayDown(d.restarts, d.max, d.periodMs));
        return 'down';
      }
      wait = d.waitMs;
      if (d.viaPolicy) {
        this.respawn = { wait: taiNow(nowMicros() + Math.round(wait * 1000)) };
        this.nextDelay = wait;
      }
    }
    this.requested = false;
    this.pending = { prog: 'run', args: [], restart: true };
    this.arm(wait);
    return 'waiting';
  }

  /**
   * u, the administrator's word: the count of respawn-max and the doubling
   * of respawn-backoff start over, and a restart the policy delays is due
   * as the originals' pacing has it.
   */
  private forgive(): void {
    this.memory = freshMemory();
    if (this.respawn && 'stayDown' in this.respawn) this.respawn = null;
    if (this.phase === 'waiting' && this.nextDelay !== null && this.pending?.prog === 'run') {
      this.respawn = null;
      this.nextDelay = null;
      this.arm(this.paceMs(performance.now()));
    }
  }

  /** The originals' wait before run starts again: what is left of a second from its last start. */
  private paceMs(now: number): number {
    return Math.max(0, this.runStartedMs + PACE_MS - now);
  }

  /** Read the directory's policy files; a bad one is said once (until it changes) and ignored. */
  private loadPolicy(): void {
    const now = new Map<string, string>();
    this.policy = readPolicy(this.dir, (file, why) => {
      now.set(file, why);
      if (this.complaints.get(file) !== why) this.hooks.say(this.voice.badFile(file, why));
    });
    // A file put right is complained about again if it goes wrong again.
    this.complaints = now;
  }

  /** A pipe for run's notification descriptor, when the directory asks for one. */
  private notifyPipe(): [number, number] | null {
    if (this.policy.notifyFd === null) return null;
    try {
      return pipe(this.dir);
    } catch (e) {
      this.hooks.say(this.voice.badFile('notification-fd', `unable to create pipe: ${errstr(e)}`));
      return null;
    }
  }

  /** The run said it is ready: supervise/ready, tied to the status of this run. */
  private becameReady(): void {
    if (this.phase !== 'up' && this.phase !== 'stopping') return;
    this.readyAt = taiNow();
    this.board.put('ready', encodeReady(this.readyAt, encodeStatus(this.status)));
  }

  /** The run is gone: it is ready no more. */
  private notReady(): void {
    this.notifier.stop();
    this.notify = null;
    if (this.readyAt === null) return;
    this.readyAt = null;
    try { unlinkSync(this.board.file('ready')); } catch { /* stale anyway: its label is an older status's */ }
  }

  /** runsv's x while a child is on its way out: leave once down, shown as want down; a log service ignores it. */
  private exitLater(p: Phase): Phase {
    if (this.isLog) return p;
    this.exiting = true;
    this.want = 'd';
    return p;
  }

  /** Stop tracking the current child, which goes on without us. */
  private abandon(): void {
    this.notReady();
    this.child = null;
    this.clearChild();
    this.since = taiNow();
  }

  private clearChild(): void {
    this.pid = 0;
    this.term = false;
    this.paused = false;
    if (this.poll) { clearInterval(this.poll); this.poll = null; }
  }

  private leave(): Phase {
    this.exiting = true;
    return 'down';
  }

  private hasFinish(): boolean {
    try {
      return statSync(join(this.dir, 'finish')).isFile();
    } catch {
      return false;
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (!this.pid) return;
    // Ended (and reaped) while a control script ran: the pid may be another's by now.
    if (this.ended) return;
    try {
      process.kill(this.pid, sig);
    } catch { /* already gone: its exit is on its way */ }
  }

  private stopRun(): Phase {
    this.term = true;
    this.paused = false;
    this.signal('SIGTERM');
    this.signal('SIGCONT');
    return 'stopping';
  }

  /**
   * runsv's way to stop run: control/t instead of TERM when it exits 0; then,
   * when the service is wanted down (or gone), CONT and control/d (control/x).
   */
  private stopService(): Step {
    return then(this.pid ? this.custom('t') : false, (handled) => {
      let phase: Phase = this.phase;
      if (this.pid && !handled) {
        this.signal('SIGTERM');
        this.term = true;
        if (this.phase === 'up') phase = 'stopping';
      }
      let last: false | Promise<boolean> = false;
      if (this.exiting) {
        this.signal('SIGCONT');
        last = this.custom('x');
      } else if (this.want === 'd') {
        this.signal('SIGCONT');
        last = this.custom('d');
      }
      return then(last, () => phase);
    });
  }

  /** A signal command: control/<letter> instead, when it exits 0 (runsv). */
  private signalOr(letter: string | undefined, sig: NodeJS.Signals): void | Promise<void> {
    return then(letter ? this.custom(letter) : false, (handled) => { if (!handled) this.signal(sig); });
  }

  /**
   * runsv's control/<letter> (custom.ts), for a main service only: true
   * when it ran and exited 0, false (at once when there is none) otherwise.
   * runsv does nothing else while it waits; neither does this service (its
   * events queue up, see dispatch), but the process serves its others.
   */
  private custom(letter: string): false | Promise<boolean> {
    if (!this.way.scripts || this.isLog) return false;
    return runScript(this.dir, letter, this.io, (line) => this.hooks.say(line), this.voice);
  }

  /**
   * The scanner's side of a hand-over: stop acting (events wait, the control
   * FIFO is no longer read, so a command written meanwhile stays in it for
   * the keeper) and say what the keeper needs; pass(fd) gives the number the
   * keeper will know a descriptor by. null: nothing held (not set up).
   */
  handOff(pass: (fd: number) => number): Handed | null {
    const { lockFd, okFd } = this.hold;
    if (lockFd < 0 || okFd < 0 || this.letters.fd < 0) return null;
    this.frozen = true;
    this.letters.pause();
    const now = performance.now();
    return {
      lock: pass(lockFd), ctl: pass(this.letters.fd), ok: pass(okFd),
      notifyFd: this.notifier.reading ? pass(this.notifier.fd) : null,
      phase: this.phase, pid: this.pid, start: this.pid ? startTicks(this.pid) : null,
      want: this.want, paused: this.paused, term: this.term, exiting: this.exiting, requested: this.requested,
      since: this.since, restarts: this.restarts, lastExit: this.lastExit, readyAt: this.readyAt, notify: this.notify,
      pending: this.pending, pendingMs: this.timer ? Math.max(0, this.timerDue - now) : 0,
      runAgoMs: Number.isFinite(this.runStartedMs) ? now - this.runStartedMs : null,
    };
  }

  /** The hand-over failed: go on as before, with what waited. */
  thaw(): void {
    this.frozen = false;
    this.drain();
  }

  /**
   * The keeper's side: take up a Service as handed (h), its descriptors
   * already ours. A run or finish that is not our child is watched in /proc
   * (child.ts): when it is gone, it ended with an unknown status.
   */
  resume(h: Handed): void {
    this.dispatch({ kind: 'adopt', h });
    // A run or finish gone before it could be watched: it ended, its status unknown.
    if ((this.phase === 'up' || this.phase === 'stopping' || this.phase === 'finishing') && !this.poll) {
      this.dispatch({ kind: 'died', code: null, sig: null });
    }
  }

  /** The adopt event: the state and descriptors as handed; the phase they were in. */
  private takeUp(h: Handed): Phase {
    for (const fd of [h.lock, h.ctl, h.ok, h.notifyFd]) if (fd !== null) closeOnExec(fd);
    this.hold.takeUp(h.lock, h.ok);
    this.letters.listen(h.ctl);
    Object.assign(this, {
      want: h.want, paused: h.paused, term: h.term, exiting: h.exiting, requested: h.requested,
      since: h.since, restarts: h.restarts, lastExit: h.lastExit, readyAt: h.readyAt, notify: h.notify,
      pending: h.pending, adopted: true,
    });
    if (h.runAgoMs !== null) this.runStartedMs = performance.now() - h.runAgoMs;
    this.loadPolicy();
    if (h.notifyFd !== null) {
      if (h.phase === 'up' || h.phase === 'stopping') this.notifier.await(h.notifyFd);
      else closeSync(h.notifyFd);
    }
    if (h.phase === 'waiting') this.arm(h.pendingMs);
    if (h.phase === 'up' || h.phase === 'stopping' || h.phase === 'finishing') {
      this.pid = h.pid;
      this.ended = false;
      this.poll = watch(h.pid, h.start, () => {
        this.poll = null;
        this.ended = true;
        this.dispatch({ kind: 'died', code: null, sig: null });
      });
      if (!this.poll) this.pid = 0;
    }
    return h.phase;
  }

  /** One byte read from supervise/control; unknown bytes are ignored. */
  control(ch: string): void {
    const c = command(ch);
    if (c) this.dispatch(c);
  }

  /** Stop the service and leave; hooks.exited() follows once it is down. */
  shutdown(): void {
    this.dispatch({ kind: 'shutdown' });
  }

  /**
   * A log service whose service is gone: no restart, no signal. It ends on
   * the end of file of its pipe, after logging everything still in it.
   */
  retire(): void {
    this.dispatch({ kind: 'retire' });
  }

  /** Signal a log service that was asked to leave but did not end on end of file. */
  terminate(): void {
    this.signal('SIGTERM');
    this.signal('SIGCONT');
  }

  /** The directory was removed: stop quietly. */
  vanish(): void {
    this.board.vanished = true;
    if (this.isLog) this.retire();
    else this.shutdown();
  }

  private cancelStart(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }

  /** Give the directory back: FIFOs closed, lock released. */
  close(): void {
    this.cancelStart();
    this.notifier.stop();
    if (this.poll) { clearInterval(this.poll); this.poll = null; }
    this.letters.close();
    this.hold.close();
  }

  get status(): Status {
    return { when: this.since, pid: this.pid, paused: this.paused, want: this.want, term: this.term, state: this.state };
  }

  /** Publish the state (publish.ts): runsv's supervise/ holds runsv's files only, unless the directory asks for more. */
  private announce(): void {
    this.board.announce({
      status: this.status, exiting: this.exiting,
      restarts: this.way.ownFiles ? this.restarts : null,
      info: this.way.ownFiles || optedIn(this.policy)
        ? { restarts: this.restarts, lastExit: this.lastExit, notify: this.notify, respawn: this.respawn, delay: this.delay }
        : null,
      stayDown: this.respawn !== null && 'stayDown' in this.respawn,
    });
  }
}

/** f after x, at once when x is a value, once it settles when it is a promise. */
function then<T, U>(x: T | Promise<T>, f: (v: T) => U | Promise<U>): U | Promise<U> {
  return x instanceof Promise ? x.then(f) : f(x);
}

export { readRestarts, restartsText } from './publish';
