// One automatically rotated log directory (daemontools' "cyclog"):
// current, state, lock, old files @<tai64n>.s / .u, and the processor
// dance with previous/processed/newstate. The sequence of renames and
// modes is the original's, so that a directory can be handed back and
// forth between our multilog and the real one, and so that a crash at
// any point leaves files the next start knows how to finish.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LogDirSpec } from './script';
import { lockExNb } from '../lib/flock';
import { FATAL, die, pause, retry, say, WARNING } from './retry';
import { errstr } from '../lib/errstr';
import { sleepSync } from '../lib/sleep';
import { nowMicros, timestampLabel } from '../lib/tai64';
import { addonError, addonPart, type Rotate } from '../native';
import { keepIgnoredAs } from '../lib/ignored';

const AT = 0x40;
const NL = 0x0a;
const NAME_LEN = 25; // '@' + 24 hex digits
const OUTSIZE = 512; // the original's buffer for each log
const BIG_WRITE = 8192; // buffer_put's chunk for what bypasses the buffer
const NEAR = 2000; // this close to the size limit, a write stops at a newline
const QUEUE_START = 65536;
const QUEUE_KEEP_MAX = 1 << 20; // a queue grown past this (a long pause) is let go once written
const OLDEST_NONE = Buffer.from('@z'); // sorts after every old file's name
const SHORT_COPY = 32; // shorter copies are done byte by byte: cheaper than a call into C++

// Two rotations within a microsecond would want the same name; the
// original then pauses 5 s. Old-file names are made strictly increasing.
let lastName = 0;
function nameMicros(): number {
  lastName = Math.max(nowMicros(), lastName + 1);
  return lastName;
}

// native/rotate.cc's rotation: its steps in order (the numbers it
// returns), what each says when it fails, and its end.
const ROTATION_SAYS: Array<(d: string, fn: string) => string> = [
  (d) => `unable to write to ${d}/current, pausing: `,
  (d) => `unable to write ${d}/current to disk, pausing: `,
  (d) => `unable to rename current to previous in directory ${d}, pausing: `,
  (d) => `unable to create ${d}/current, pausing: `,
  (d) => `unable to set mode of ${d}/current, pausing: `,
  (d) => `unable to set mode of ${d}/previous, pausing: `,
  (d) => `unable to stat ${d}/previous, pausing: `,
  (d, fn) => `unable to link to ${d}/${fn}, pausing: `,
  (d) => `unable to remove ${d}/previous, pausing: `,
  (d) => `unable to read ${d}, pausing: `,
];
const ROTATION_DONE = ROTATION_SAYS.length;

function errno(code: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(code);
  e.code = code;
  return e;
}

// The original ignores these failures: the next step reports what matters.
function unlinkQuiet(p: fs.PathLike): void {
  try {
    fs.unlinkSync(p);
  } catch {
    // already gone, or undeletable: the directory listing will tell
  }
}

// The bytes for current pass through a queue that models the original's
// 512-byte buffer and its write(2)s without making them: q[0, c) are the
// bytes the original would have written by now (its c_write took them),
// q[c, n) those still in its buffer. Where a write falls matters only
// near the size limit, where c_write cuts at a newline and rotates; far
// from it (bytes + what is buffered + what comes < size - 2000) a whole
// put or flush is bookkeeping. Either way the cuts are the original's,
// byte for byte, and the queue is written out in one write(2) before
// multilog waits for input, rotates or exits.
//
// The queue's tail may be a reference to the caller's input (lazy): runs
// of input bytes that follow each other (lines and their newlines) are
// then copied once, as one run.
export class LogDir {
  selected = false;
  private fdcurrent = -1;
  private bytes = 0; // size of current, counting q[0, c)
  private q = Buffer.alloc(QUEUE_START);
  private qlen = 0; // q holds bytes [0, qlen); [qlen, n) is lazySrc[lazyOff, ...)
  private n = 0;
  private c = 0;
  private lazySrc: Buffer | null = null;
  private lazyOff = 0;
  private lazyEnd = 0;
  private readonly size: number;
  private readonly near: number; // size - NEAR
  private readonly abs: string;
  private readonly absSlash: Buffer;
  // The addon's rotation, for a directory with no processor; else the one below.
  private readonly rotator: Rotate | null;
  private readonly rotated = new Float64Array(4);

  constructor(private spec: LogDirSpec, startDir: string) {
    this.abs = path.resolve(startDir, spec.dir);
    this.absSlash = Buffer.from(this.abs + '/');
    this.size = spec.size;
    this.near = spec.size - NEAR;
    this.rotator = spec.processor === null ? addonPart('rotate') : null;
  }

  // ---- the queue

  private room(len: number): void {
    const need = this.qlen + len;
    if (need <= this.q.length) return;
    const bigger = Buffer.alloc(Math.max(this.q.length * 2, need));
    this.q.copy(bigger, 0, 0, this.qlen);
    this.q = bigger;
  }

  private materialize(): void {
    const src = this.lazySrc;
    if (src === null) return;
    const len = this.lazyEnd - this.lazyOff;
    this.room(len);
    copyInto(this.q, this.qlen, src, this.lazyOff, this.lazyOff + len);
    this.qlen += len;
    this.lazySrc = null;
  }

  /** Queues src[off, off + len), which must not change before the next sync(). */
  appendRef(src: Buffer, off: number, len: number): void {
    if (len === 0) return;
    this.n += len;
    if (src === this.lazySrc && off === this.lazyEnd) {
      this.lazyEnd += len;
      return;
    }
    this.materialize();
    this.lazySrc = src;
    this.lazyOff = off;
    this.lazyEnd = off + len;
  }

  /** Queues a copy of src[off, off + len), now. */
  appendCopy(src: Buffer, off: number, len: number): void {
    this.materialize();
    this.room(len);
    copyInto(this.q, this.qlen, src, off, off + len);
    this.qlen += len;
    this.n += len;
  }

  // ---- the original's buffer, over the queue's last bytes

  /** buffer_put of the last len bytes queued. */
  put(len: number): void {
    const p = this.n - len - this.c; // what the buffer held before
    if (len <= OUTSIZE - p) return; // it fits: stays buffered
    let rest = len; // what stays buffered: the put bypasses the buffer while over OUTSIZE
    if (this.far(0)) {
      while (rest > OUTSIZE) rest -= Math.min(BIG_WRITE, rest);
      const taken = p + len - rest;
      this.c += taken;
      this.bytes += taken;
      return;
    }
    this.allwrite(p);
    while (rest > OUTSIZE) {
      const k = Math.min(BIG_WRITE, rest);
      this.allwrite(k);
      rest -= k;
    }
  }

  /** buffer_PUTC of each of the last len bytes queued: written whenever the buffer is full and another comes. */
  putc(len: number): void {
    let p = this.n - len - this.c;
    if (p + len <= OUTSIZE) return;
    if (this.far(0)) {
      const left = ((p + len - 1) % OUTSIZE) + 1;
      const taken = p + len - left;
      this.c += taken;
      this.bytes += taken;
      return;
    }
    let todo = len;
    while (todo > 0) {
      if (p === OUTSIZE) {
        this.allwrite(OUTSIZE);
        p = 0;
      }
      const k = Math.min(OUTSIZE - p, todo);
      p += k;
      todo -= k;
    }
  }

  /** buffer_flush: before every read of input. */
  flush(): void {
    const p = this.n - this.c;
    if (p === 0) return;
    if (this.far(0)) this.flushFar();
    else this.allwrite(p);
  }

  /** Can len more bytes, then a flush, go in without coming near the size limit? */
  far(len: number): boolean {
    return this.bytes + (this.n - this.c) + len < this.near;
  }

  /** A flush after far() said yes for what has been queued since. */
  flushFar(): void {
    this.bytes += this.n - this.c;
    this.c = this.n;
  }

  private allwrite(len: number): void {
    while (len > 0) len -= this.cwrite(len);
  }

  // c_write of q[c, c + len): take what the buffer hands over, but stop at
  // the size limit and, close to it, at a newline, so logs end at line
  // boundaries; rotate once current is full.
  private cwrite(len: number): number {
    if (this.bytes >= this.size) this.fullcurrent();
    if (len >= this.size - this.bytes) len = this.size - this.bytes;
    const c = this.c;
    if (this.bytes + len >= this.near) {
      this.materialize();
      const nl = this.q.lastIndexOf(NL, c + len - 1);
      if (nl >= c) len = nl - c + 1;
    }
    this.c = c + len;
    this.bytes += len;
    if (this.bytes >= this.near && this.q[c + len - 1] === NL) this.fullcurrent();
    return len;
  }

  // Hands q[0, c) to the kernel and keeps the rest. Called before multilog
  // waits for input, before rotating and before exiting.
  sync(): void {
    this.materialize();
    const end = this.c;
    let off = 0;
    while (off < end) {
      try {
        off += fs.writeSync(this.fdcurrent, this.q, off, end - off);
      } catch (e) {
        pause(`unable to write to ${this.dir}/current, pausing: `, e);
      }
    }
    this.written();
  }

  // q[0, c) is in the kernel: the rest moves to the front.
  private written(): void {
    const end = this.c;
    const rest = this.qlen - end;
    if (rest > 0) this.q.copy(this.q, 0, end, this.qlen);
    else if (this.q.length > QUEUE_KEEP_MAX) this.q = Buffer.alloc(QUEUE_START);
    this.qlen = rest;
    this.n = rest;
    this.c = 0;
  }

  /** Bytes in current, counting what is still queued for it. */
  get currentSize(): number {
    return this.bytes;
  }

  // A file in the directory.
  private p(name: string): string {
    return this.abs + '/' + name;
  }

  private get dir(): string {
    return this.spec.dir;
  }

  // Called once before any input is read; failures here are fatal.
  restart(): void {
    const d = this.dir;
    try {
      fs.mkdirSync(this.abs, { mode: 0o700 });
    } catch {
      // exists already, or the open below will say why not
    }
    try {
      const fd = fs.openSync(this.abs, 'r');
      const isDir = fs.fstatSync(fd).isDirectory();
      fs.closeSync(fd);
      if (!isDir) throw errno('ENOTDIR');
    } catch (e) {
      die(`unable to open directory ${d}: `, e);
    }
    try {
      lockExNb(fs.openSync(this.p('lock'), 'a', 0o600));
    } catch (e) {
      die(`unable to lock directory ${d}: `, e);
    }

    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(this.p('current'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') die(`unable to stat ${d}/current: `, e);
    }
    // Mode +x means the last multilog finished cleanly: carry on appending.
    if (st && st.mode & 0o100) {
      this.openCurrent('append to');
      this.bytes = st.size;
      return;
    }

    // An outage: whatever was in progress becomes an old file.
    for (const f of ['state', 'newstate']) unlinkQuiet(this.p(f));
    let processedDone = false;
    try {
      processedDone = (fs.statSync(this.p('processed')).mode & 0o100) !== 0;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') die(`unable to stat ${d}/processed: `, e);
    }
    if (processedDone) {
      unlinkQuiet(this.p('previous'));
      this.finish('processed', 's');
    } else {
      unlinkQuiet(this.p('processed'));
      this.finish('previous', 'u');
    }
    this.finish('current', 'u');

    try {
      fs.closeSync(fs.openSync(this.p('state'), 'w', 0o644));
    } catch (e) {
      die(`unable to write to ${d}/state: `, e);
    }
    this.openCurrent('write to');
    this.bytes = 0;
  }

  // current for appending, mode 644 once open; `verb` words the failure to open.
  private openCurrent(verb: 'append to' | 'write to'): void {
    try {
      this.fdcurrent = fs.openSync(this.p('current'), 'a', 0o600);
    } catch (e) {
      die(`unable to ${verb} ${this.dir}/current: `, e);
    }
    try {
      fs.fchmodSync(this.fdcurrent, 0o644);
    } catch (e) {
      die(`unable to set mode of ${this.dir}/current: `, e);
    }
  }

  // current is big enough (or ALRM said so): make it an old file.
  fullcurrent(): void {
    if (this.rotator) return this.rotateNative(this.rotator);
    const d = this.dir;
    this.sync();
    retry(() => `unable to write ${d}/current to disk, pausing: `, () => fs.fsyncSync(this.fdcurrent));
    fs.closeSync(this.fdcurrent);
    retry(() => `unable to rename current to previous in directory ${d}, pausing: `, () =>
      fs.renameSync(this.p('current'), this.p('previous')));
    this.fdcurrent = retry(() => `unable to create ${d}/current, pausing: `, () =>
      fs.openSync(this.p('current'), 'a', 0o600));
    this.bytes = 0;
    retry(() => `unable to set mode of ${d}/current, pausing: `, () => fs.fchmodSync(this.fdcurrent, 0o644));
    retry(() => `unable to set mode of ${d}/previous, pausing: `, () => fs.chmodSync(this.p('previous'), 0o744));
    if (this.spec.processor === null) {
      this.finish('previous', 's');
      return;
    }
    while (!this.runProcessor()) {
      say(`${WARNING}processor failed in ${d}, pausing`);
      sleepSync(5000);
    }
    // Mode +x on processed marks it complete for a restart after an outage.
    const fd = retry(() => `unable to create ${d}/processed, pausing: `, () => fs.openSync(this.p('processed'), 'a', 0o600));
    retry(() => `unable to write ${d}/processed to disk, pausing: `, () => fs.fsyncSync(fd));
    retry(() => `unable to set mode of ${d}/processed, pausing: `, () => fs.fchmodSync(fd, 0o744));
    fs.closeSync(fd);
    const fdn = retry(() => `unable to create ${d}/newstate, pausing: `, () => fs.openSync(this.p('newstate'), 'a', 0o600));
    retry(() => `unable to write ${d}/newstate to disk, pausing: `, () => fs.fsyncSync(fdn));
    fs.closeSync(fdn);
    retry(() => `unable to remove ${d}/previous, pausing: `, () => fs.unlinkSync(this.p('previous')));
    retry(() => `unable to rename newstate to state in directory ${d}, pausing: `, () =>
      fs.renameSync(this.p('newstate'), this.p('state')));
    this.finish('processed', 's');
  }

  // sync() and the same steps as fullcurrent's and finish's with no
  // processor, in one call into the addon; a failed step is said, paused
  // on and taken again.
  private rotateNative(addon: Rotate): void {
    this.materialize();
    const out = this.rotated;
    out[3] = 0;
    for (let step = 0; ;) {
      step = addon.cyclogRotate(this.absSlash, this.fdcurrent, this.spec.num, lastName + 1, step, out, this.q, this.c);
      this.fdcurrent = out[0];
      if (out[1] > lastName) lastName = out[1];
      if (step === ROTATION_DONE) break;
      pause(ROTATION_SAYS[step](this.dir, timestampLabel(out[1]) + '.s'), addonError(-out[2], 'rotate'));
    }
    this.written();
    this.bytes = 0;
  }

  // sh -c processor < previous > processed 4< state 5> newstate; true when
  // it exited 0. A failure to set it up is reported as the child would.
  private runProcessor(): boolean {
    const proc = this.spec.processor as string;
    const fds: number[] = [];
    try {
      fds.push(fs.openSync(this.p('previous'), 'r'));
      fds.push(fs.openSync(this.p('processed'), 'w', 0o644));
      fds.push(fs.openSync(this.p('state'), 'r'));
      fds.push(fs.openSync(this.p('newstate'), 'w', 0o644));
    } catch (e) {
      for (const fd of fds) fs.closeSync(fd);
      say(`${FATAL}unable to run ${proc}: ${errstr(e)}`);
      return false;
    }
    const k = keepIgnoredAs('/bin/sh', ['-c', proc], 'sh'); // (lib/ignored.ts)
    const r = spawnSync(k.file, k.args, {
      argv0: k.argv0,
      cwd: this.abs, // the original runs it inside the log directory
      stdio: [fds[0], fds[1], 'inherit', 'ignore', fds[2], fds[3]],
    });
    for (const fd of fds) fs.closeSync(fd);
    if (r.error) {
      say(`${FATAL}unable to run ${proc}: ${errstr(r.error)}`);
      return false;
    }
    if (r.signal) {
      say(`${WARNING}processor crashed in ${this.dir}, pausing: killed by ${r.signal}`);
      sleepSync(5000);
      return false;
    }
    return r.status === 0;
  }

  // Renames file to @<now>.<code> (unless it already has that second
  // link, from a finish cut short), then prunes the oldest old files.
  private finish(file: string, code: string): void {
    const d = this.dir;
    let st: fs.Stats;
    for (;;) {
      try {
        st = fs.statSync(this.p(file));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        pause(`unable to stat ${d}/${file}, pausing: `, e);
      }
    }
    if (st.nlink === 1)
      for (;;) {
        const fn = timestampLabel(nameMicros()) + '.' + code;
        try {
          fs.linkSync(this.p(file), this.p(fn));
          break;
        } catch (e) {
          pause(`unable to link to ${d}/${fn}, pausing: `, e);
        }
      }
    retry(() => `unable to remove ${d}/${file}, pausing: `, () => fs.unlinkSync(this.p(file)));
    for (;;) {
      try {
        if (this.filesfit()) return;
      } catch (e) {
        pause(`unable to read ${d}, pausing: `, e);
      }
    }
  }

  // True when fewer than num old files remain; otherwise removes the one
  // with the smallest name (the oldest) and tries again. The listing is
  // read again only when a removal failed: the next pass tells why.
  private filesfit(): boolean {
    const names: Array<Buffer | null> = fs.readdirSync(this.abs, { encoding: 'buffer' });
    for (;;) {
      let count = 0;
      let oldest: Buffer = OLDEST_NONE;
      for (const n of names)
        if (n !== null && n[0] === AT && n.length >= NAME_LEN) {
          count++;
          if (Buffer.compare(n, oldest) < 0) oldest = n.subarray(0, NAME_LEN);
        }
      if (count < this.spec.num) return true;
      const k = names.findIndex((n) => n !== null && n[0] === AT && n.length >= NAME_LEN && n.compare(oldest, 0, NAME_LEN, 0, NAME_LEN) === 0);
      if (k < 0) return true; // only names from "@z" on: none is old enough to go
      try {
        fs.unlinkSync(Buffer.concat([this.absSlash, names[k] as Buffer]));
      } catch {
        return false; // gone already, or undeletable: the listing will tell
      }
      names[k] = null;
    }
  }

  // End of input: everything to disk, and mode +x says "finished cleanly".
  quit(): void {
    this.flush();
    this.sync();
    retry(() => `unable to write ${this.dir}/current to disk, pausing: `, () => fs.fsyncSync(this.fdcurrent));
    retry(() => `unable to set mode of ${this.dir}/current, pausing: `, () => fs.fchmodSync(this.fdcurrent, 0o744));
  }
}

/** dst[at, ...) = src[from, to); returns the end. Short copies byte by byte: cheaper than a call into C++. */
export function copyInto(dst: Buffer, at: number, src: Buffer, from: number, to: number): number {
  const len = to - from;
  if (len < SHORT_COPY) for (let k = 0; k < len; k++) dst[at + k] = src[from + k];
  else src.copy(dst, at, from, to);
  return at + len;
}
