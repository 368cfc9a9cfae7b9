// One svlogd log directory: lock, config, current, rotation to
// @<tai64n>.s (or .u for the processor, whose output becomes .t and then
// .s), old-file pruning, the processor and UDP forwarding.
//
// Where the bytes go and where current is cut is decided exactly as runit
// decides it: every directory has an output buffer of -b bytes whose
// flushes are the original's write(2) calls, and the size limit is applied
// to those calls (see op()). Only the system calls themselves are batched:
// the bytes and the rotation points are queued and carried out by sync(),
// before svlogd waits for input. A rotation that finds the previous
// processor still running waits for it (runit blocks there); sync() then
// returns false and the queue resumes when the processor exits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as dgram from 'node:dgram';
import { spawn, ChildProcess } from 'node:child_process';
import { Config, defaults, parseConfig } from './config';
import { INFO, PAUSE_MS, fatalLine, pause2, persist, say, warn2, warning } from './say';
import { pmatch } from './pmatch';
import { OutBuf } from '../lib/outbuf';
import { Pending } from '../lib/pending';
import { lockExNb } from '../lib/flock';
import { errstr } from '../lib/errstr';
import { timestampLabel } from '../lib/tai64';
import { addonError, addonPart, type Rotate } from '../native';
import { keepIgnoredAs } from '../lib/ignored';

const AT = 0x40;
const OLD_LEN = 27; // '@' + 24 hex digits + '.' + one of s u t

// native/rotate.cc's rotation: its steps in order (the numbers it
// returns), what each says when it fails (a name is tried until one is
// free), and where -v's line goes.
const ROTATION_SAYS = [
  '',
  'unable to fsync current logfile',
  'unable to set mode of current',
  'unable to rename current',
  'unable to create new current',
  'unable to set mode of current',
];
const ROTATION_RENAME = 3;
const ROTATION_DONE = ROTATION_SAYS.length;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

export interface Options {
  verbose: number;
  buflen: number;
  linemax: number;
}

export class LogDir {
  ok = false; // opened: lines go here (runit's fddir != -1)
  cfg: Config = defaults();
  match = 0x2b; // '+' or '-' for the line being written
  matcherr = 0x45; // 'e' or 'E'
  blocked = false; // a rotation waits for the processor
  onUnblock: () => void = () => {};

  private abs = '';
  private absSlash = ''; // abs and a slash: a file's path is this and its name
  private absSlashBytes = Buffer.alloc(0);
  private fdcur = -1;
  private fdlock = -1;
  size = 0; // bytes in current, as the original counts them
  trotate = 0; // ms since the epoch of the next timed rotation
  readonly out: OutBuf; // runit's ld->b, -b bytes
  // Bytes to write, and the offsets at which current is rotated.
  private readonly pending = new Pending();
  private marks: number[] = [];
  private markSizes: number[] = []; // current's size at each mark, for -v
  // The processor: the old file it reads (@...u) while it runs.
  private child: ChildProcess | null = null;
  private fnsave = '';
  private udp: dgram.Socket | null = null;
  udpOutstanding = 0;

  // The addon's rotation, or null: the one below.
  private readonly rotator: Rotate | null;
  private readonly rotated = new Float64Array(3);

  constructor(readonly name: string, private readonly startDir: string, private readonly o: Options) {
    this.out = new OutBuf((b, off, len) => this.op(b, off, len), o.buflen);
    this.rotator = addonPart('rotate');
  }

  private f(file: string): string {
    return this.absSlash + file;
  }

  // A name as the directory listing has it, byte for byte.
  private fb(name: Buffer): Buffer {
    return Buffer.concat([this.absSlashBytes, name]);
  }

  get processorRunning(): boolean {
    return this.child !== null;
  }

  // logdir_open: false (with a warning) when the directory cannot be used.
  open(nowMs: number): boolean {
    const name = this.name;
    this.abs = path.resolve(this.startDir, name);
    this.absSlash = this.abs.endsWith('/') ? this.abs : this.abs + '/';
    this.absSlashBytes = Buffer.from(this.absSlash);
    try {
      const fd = fs.openSync(this.abs, 'r');
      const isDir = fs.fstatSync(fd).isDirectory();
      fs.closeSync(fd);
      if (!isDir) {
        warn2('unable to change directory', name, Object.assign(new Error(), { code: 'ENOTDIR' }));
        return false;
      }
    } catch (e) {
      warn2('unable to open log directory', name, e);
      return false;
    }
    try {
      this.fdlock = fs.openSync(this.f('lock'), fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NONBLOCK, 0o600);
      lockExNb(this.fdlock);
    } catch (e) {
      if (this.fdlock >= 0) fs.closeSync(this.fdlock);
      this.fdlock = -1;
      warn2('unable to lock directory', name, e);
      return false;
    }

    this.size = 0;
    this.cfg = defaults();
    this.match = 0x2b;
    let text: Buffer | null = null;
    try {
      text = fs.readFileSync(this.f('config'));
    } catch (e) {
      if (code(e) !== 'ENOENT') warn2('unable to read config', name, e);
    }
    if (text !== null) {
      if (this.o.verbose) say(`${INFO}read: ${name}/config`);
      parseConfig(text, this.cfg);
    }
    if (this.cfg.tmax) this.trotate = nowMs + this.cfg.tmax * 1000;
    else this.trotate = 0;

    // A current without mode u+x was not closed by svlogd: it becomes an
    // old file marked as cut short.
    let fresh = false;
    try {
      const st = fs.statSync(this.f('current'));
      if (st.size && !(st.mode & 0o100)) {
        const old = this.newName('u');
        persist('unable to rename current', name, () => fs.renameSync(this.f('current'), this.f(old)));
        this.rmoldest();
        fresh = true;
      } else this.size = st.size;
    } catch (e) {
      if (code(e) !== 'ENOENT') {
        fs.closeSync(this.fdlock);
        this.fdlock = -1;
        warn2('unable to stat current', name, e);
        return false;
      }
      fresh = true;
    }
    this.fdcur = persist('unable to open current', name, () => this.openCurrent());
    persist('unable to set mode of current', name, () => fs.fchmodSync(this.fdcur, 0o644));
    if (this.udp === null && this.cfg.udp !== null) {
      try {
        this.udp = dgram.createSocket('udp4');
        this.udp.unref();
      } catch {
        this.udp = null;
      }
    }
    if (this.o.verbose) say(`${INFO}${fresh ? 'new' : 'append'}: ${name}/current`);
    this.ok = true;
    return true;
  }

  private openCurrent(): number {
    return fs.openSync(this.f('current'), fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NONBLOCK, 0o600);
  }

  // logdir_close: current gets mode u+x, "closed cleanly". The queue must
  // have been synced.
  close(): void {
    if (!this.ok) return;
    if (this.o.verbose) say(`${INFO}close: ${this.name}`);
    this.ok = false;
    this.out.flush();
    this.sync();
    persist('unable to fsync current logfile', this.name, () => fs.fsyncSync(this.fdcur));
    persist('unable to set mode of current', this.name, () => fs.fchmodSync(this.fdcur, 0o744));
    fs.closeSync(this.fdcur);
    this.fdcur = -1;
    fs.closeSync(this.fdlock);
    this.fdlock = -1;
    if (this.udp !== null && this.udpOutstanding === 0) {
      this.udp.close();
      this.udp = null;
    }
  }

  // buffer_pwrite: one write(2) of the original. Rotates first when current
  // is full, writes no more than fits, and rotates after a write that ends
  // a line within linemax bytes of the limit.
  private op(b: Buffer, off: number, len: number): number {
    const { sizemax } = this.cfg;
    if (sizemax) {
      if (this.size >= sizemax) this.rotate(Date.now());
      if (len > sizemax - this.size) len = sizemax - this.size;
    }
    this.pending.add(b, off, len);
    this.size += len;
    // The original's threshold is unsigned: below linemax it never triggers.
    if (sizemax && b[off + len - 1] === 0x0a && sizemax >= this.o.linemax && this.size >= sizemax - this.o.linemax)
      this.rotate(Date.now());
    return len;
  }

  // rotate(): the timer moves on when it has expired; current becomes an
  // old file only when it holds something.
  rotate(nowMs: number): void {
    if (!this.ok) {
      this.cfg.tmax = 0;
      return;
    }
    if (this.cfg.tmax && this.trotate < nowMs) this.trotate = nowMs + this.cfg.tmax * 1000;
    if (this.size > 0) {
      this.marks.push(this.pending.n);
      this.markSizes.push(this.size);
      this.size = 0;
    }
  }

  // --- carrying out the queue

  /** Writes and rotates what is queued; false while a rotation waits for the processor. */
  sync(): boolean {
    if (this.blocked) return false;
    let done = 0;
    while (this.marks.length > 0) {
      const m = this.marks[0];
      this.writeOut(done, m);
      done = m;
      if (this.child !== null) {
        this.blocked = true;
        break;
      }
      this.marks.shift();
      this.rotateNow(this.markSizes.shift() as number);
    }
    if (this.blocked) {
      // Keep what is left, the marks relative to it.
      this.pending.drop(done);
      for (let k = 0; k < this.marks.length; k++) this.marks[k] -= done;
      return false;
    }
    this.writeOut(done, this.pending.n);
    this.pending.clear();
    return true;
  }

  private writeOut(from: number, to: number): void {
    while (from < to) {
      try {
        from += fs.writeSync(this.fdcur, this.pending.buf, from, to - from);
      } catch (e) {
        if (code(e) === 'EAGAIN') continue;
        if (code(e) === 'ENOSPC' && this.cfg.nmin < this.cfg.nmax && this.makeRoom()) continue;
        pause2('unable to write to current', this.name, e);
      }
    }
  }

  // Disk full: the oldest old file goes if more than N remain.
  private makeRoom(): boolean {
    let oldest: Buffer | null = null;
    let n = 0;
    for (const f of this.oldFiles()) {
      n++;
      if (oldest === null || Buffer.compare(f, oldest) < 0) oldest = f;
    }
    if (n <= this.cfg.nmin || oldest === null) return false;
    warning(`out of disk space, delete: ${this.name}/${oldest.toString('latin1')}`);
    try {
      fs.unlinkSync(this.fb(oldest));
      return true;
    } catch (e) {
      warn2('unable to unlink oldest logfile', this.name, e);
      return false;
    }
  }

  private oldFiles(): Buffer[] {
    const out: Buffer[] = [];
    for (;;) {
      try {
        for (const f of fs.readdirSync(this.abs, { encoding: 'buffer' }))
          if (f[0] === AT && f.length === OLD_LEN) out.push(f);
        return out;
      } catch (e) {
        pause2('unable to open directory, want rotate', this.name, e);
      }
    }
  }

  // An old-file name for now that does not exist yet.
  private newName(kind: string): string {
    for (;;) {
      const n = timestampLabel() + '.' + kind;
      try {
        // Without a throw for the usual answer: an exception costs more than the stat.
        if (fs.statSync(this.f(n), { throwIfNoEntry: false }) === undefined) return n;
      } catch {
        // any other failure: another name, as the original loops
      }
    }
  }

  private rotateNow(size: number): void {
    const name = this.name;
    const kind = this.cfg.processor ? 'u' : 's';
    if (this.rotator) {
      // With -v, two calls: its line comes between close and rename.
      const verbose = this.o.verbose > 0;
      this.rotateSteps(this.rotator, kind, 0, verbose ? ROTATION_RENAME : ROTATION_DONE);
      if (verbose) {
        say(`${INFO}rename: ${name}/current ${this.fnsave} ${size}`);
        this.rotateSteps(this.rotator, kind, ROTATION_RENAME, ROTATION_DONE);
      }
      this.rmoldest();
      this.processorStart();
      return;
    }
    this.fnsave = this.newName(kind);
    persist('unable to fsync current logfile', name, () => fs.fsyncSync(this.fdcur));
    persist('unable to set mode of current', name, () => fs.fchmodSync(this.fdcur, 0o744));
    fs.closeSync(this.fdcur);
    if (this.o.verbose) say(`${INFO}rename: ${name}/current ${this.fnsave} ${size}`);
    persist('unable to rename current', name, () => fs.renameSync(this.f('current'), this.f(this.fnsave)));
    this.fdcur = persist('unable to create new current', name, () => this.openCurrent());
    persist('unable to set mode of current', name, () => fs.fchmodSync(this.fdcur, 0o644));
    this.rmoldest();
    this.processorStart();
  }

  // The steps of rotateNow from `from` up to `to` in one call into the
  // addon; a failed step is said, paused on and taken again.
  private rotateSteps(addon: Rotate, kind: string, from: number, to: number): void {
    const out = this.rotated;
    for (let step = from; ;) {
      step = addon.svlogdRotate(this.absSlashBytes, this.fdcur, kind, step, to, out);
      this.fdcur = out[0];
      if (step === to) break;
      pause2(ROTATION_SAYS[step], this.name, addonError(-out[2], 'rotate'));
    }
    this.fnsave = timestampLabel(out[1]) + '.' + kind;
  }

  // Removes processor leftovers (.t) and, when more than n old files
  // remain, the oldest one. A .u file (cut short, or a processor's pending
  // input) is neither counted nor removed, as Debian's runit has it.
  private rmoldest(): void {
    if (this.rotator) return this.pruneNative(this.rotator);
    let oldest: Buffer | null = null;
    let n = 0;
    for (const f of this.oldFiles()) {
      if (f[26] === 0x74) {
        try {
          fs.unlinkSync(this.fb(f));
        } catch (e) {
          warn2('unable to unlink processor leftover', f.toString('latin1'), e);
        }
        continue;
      }
      if (f[26] === 0x75) continue;
      n++;
      if (oldest === null || Buffer.compare(f, oldest) < 0) oldest = f;
    }
    if (this.cfg.nmax && n > this.cfg.nmax && oldest !== null) {
      const o = oldest.toString('latin1');
      if (this.o.verbose) say(`${INFO}delete: ${this.name}/${o}`);
      try {
        fs.unlinkSync(this.fb(oldest));
      } catch (e) {
        warn2('unable to unlink oldest logfile', this.name, e);
      }
    }
  }

  // rmoldest in one call into the addon, then what it found to say.
  private pruneNative(addon: Rotate): void {
    for (;;) {
      let notes;
      try {
        notes = addon.svlogdPrune(this.absSlashBytes, this.cfg.nmax, this.o.verbose > 0);
      } catch (e) {
        pause2('unable to open directory, want rotate', this.name, e);
        continue;
      }
      for (const [kind, name, err] of notes) {
        const file = name === null ? '' : name.toString('latin1');
        if (kind === 0) warn2('unable to unlink processor leftover', file, err);
        else if (kind === 2) warn2('unable to read directory', this.name, err);
        else {
          if (this.o.verbose) say(`${INFO}delete: ${this.name}/${file}`);
          if (err !== null) warn2('unable to unlink oldest logfile', this.name, err);
        }
      }
      return;
    }
  }

  // --- the processor: sh -c processor <@x.u >@x.t 4<state 5>newstate, in
  // the log directory; on success @x.t becomes @x.s and newstate state.

  private processorStart(): void {
    const proc = this.cfg.processor;
    if (!proc) return;
    const name = this.name;
    const t = this.fnsave.slice(0, 26) + 't';
    if (this.o.verbose) say(`${INFO}processing: ${name}/${this.fnsave}`);
    const fds: number[] = [];
    const fail = (what: string, e: unknown) => {
      for (const fd of fds) fs.closeSync(fd);
      fatalLine(`${what}: ${name}: ${errstr(e)}`);
      // As the original's child exiting 111: a failed run, tried again.
      // (after the original's pause, so that a lasting failure does not spin)
      this.child = {} as ChildProcess;
      setTimeout(() => this.processorStop(111), PAUSE_MS);
    };
    try {
      fds.push(fs.openSync(this.f(this.fnsave), 'r'));
    } catch (e) {
      return fail('unable to open input for processor', e);
    }
    try {
      fds.push(fs.openSync(this.f(t), 'w', 0o644));
    } catch (e) {
      return fail('unable to open output for processor', e);
    }
    try {
      let fd: number;
      try {
        fd = fs.openSync(this.f('state'), 'r');
      } catch (e) {
        if (code(e) !== 'ENOENT') throw e;
        fs.closeSync(fs.openSync(this.f('state'), 'w', 0o644));
        fd = fs.openSync(this.f('state'), 'r');
      }
      fds.push(fd);
    } catch (e) {
      return fail('unable to open state for processor', e);
    }
    try {
      fds.push(fs.openSync(this.f('newstate'), 'w', 0o644));
    } catch (e) {
      return fail('unable to open newstate for processor', e);
    }
    const k = keepIgnoredAs('/bin/sh', ['-c', proc], 'sh'); // (lib/ignored.ts)
    const child = spawn(k.file, k.args, {
      argv0: k.argv0,
      cwd: this.abs,
      stdio: [fds[0], fds[1], 'inherit', 'ignore', fds[2], fds[3]],
    });
    for (const fd of fds) fs.closeSync(fd);
    this.child = child;
    child.on('error', (e) => {
      fatalLine(`unable to run processor: ${name}: ${errstr(e)}`);
    });
    // The original reads the exit code as wstat >> 8: a processor killed
    // by a signal counts as a success.
    child.on('exit', (status) => {
      if (this.o.verbose) say(`${INFO}sigchild received.`);
      this.processorStop(status ?? 0);
    });
  }

  private processorStop(status: number): void {
    const name = this.name;
    this.child = null;
    const t = this.fnsave.slice(0, 26) + 't';
    if (status !== 0) {
      warning(`processor failed, restart: ${name}`);
      try {
        fs.unlinkSync(this.f(t));
      } catch {
        // not there: nothing to clean up
      }
      this.processorStart();
      return;
    }
    const s = this.fnsave.slice(0, 26) + 's';
    persist('unable to rename processed', name, () => fs.renameSync(this.f(t), this.f(s)));
    persist('unable to set mode of processed', name, () => fs.chmodSync(this.f(s), 0o744));
    try {
      fs.unlinkSync(this.f(this.fnsave));
    } catch {
      warning(`unable to unlink: ${name}/${this.fnsave}`);
    }
    persist('unable to rename state', name, () => fs.renameSync(this.f('newstate'), this.f('state')));
    if (this.o.verbose) say(`${INFO}processed: ${name}/${s}`);
    if (this.blocked) {
      this.blocked = false;
      this.onUnblock();
    }
  }

  // --- patterns and UDP

  // logmatch: the last + or - pattern matching the line decides whether it
  // is logged, the last e or E whether it is also shown on stderr.
  logmatch(line: Buffer, off: number, len: number): void {
    this.match = 0x2b;
    this.matcherr = 0x45;
    for (const pat of this.cfg.patterns) {
      if (!pmatch(pat.subarray(1), line, off, len)) continue;
      if (pat[0] === 0x2b || pat[0] === 0x2d) this.match = pat[0];
      else this.matcherr = pat[0];
    }
  }

  /** One line to the configured UDP address; a failure is logged in current. */
  send(datagram: Buffer, onFail: () => void): void {
    const u = this.cfg.udp;
    if (u === null) return;
    if (this.udp === null) {
      this.queueWarning('warning: no udp socket available: ', datagram);
      return;
    }
    this.udpOutstanding++;
    this.udp.send(datagram, u.port, u.host, (err) => {
      this.udpOutstanding--;
      if (err) {
        this.queueWarning('warning: failure sending through udp: ', datagram);
        onFail();
      }
    });
  }

  private queueWarning(what: string, datagram: Buffer): void {
    if (!this.ok) return;
    const w = Buffer.from(what);
    this.out.put(w, 0, w.length);
    this.out.put(datagram, 0, datagram.length);
    this.out.flush();
  }

  /** Is UDP on for this directory? */
  get forwards(): boolean {
    return this.cfg.udp !== null;
  }
}
