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
import { OutBuf } from '../lib/outbuf';
import { Pending } from '../lib/pending';
import { lockExNb } from '../lib/flock';
import { FATAL, die, pause, retry, say, WARNING } from './retry';
import { errstr } from '../lib/errstr';
import { sleepSync } from '../lib/sleep';
import { nowMicros, timestampLabel } from '../lib/tai64';

const AT = 0x40;
const NAME_LEN = 25; // '@' + 24 hex digits

// Two rotations within a microsecond would want the same name; the
// original then pauses 5 s. Old-file names are made strictly increasing.
let lastName = 0;
function nameMicros(): number {
  lastName = Math.max(nowMicros(), lastName + 1);
  return lastName;
}

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

export class LogDir {
  readonly out: OutBuf;
  selected = false;
  private fdcurrent = -1;
  private bytes = 0; // size of current, counting what is still pending
  private readonly pending = new Pending();
  private readonly abs: string;

  constructor(private spec: LogDirSpec, startDir: string) {
    this.abs = path.resolve(startDir, spec.dir);
    this.out = new OutBuf((buf, off, len) => this.cwrite(buf, off, len));
  }

  private p(name: string): string {
    return path.join(this.abs, name);
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

  // c_write: take what the buffer hands over, but stop at the size limit
  // and, close to it, at a newline, so logs end at line boundaries.
  private cwrite(buf: Buffer, off: number, len: number): number {
    const { size } = this.spec;
    if (this.bytes >= size) this.fullcurrent();
    if (len >= size - this.bytes) len = size - this.bytes;
    if (this.bytes + len >= size - 2000) {
      const nl = buf.subarray(off, off + len).lastIndexOf(0x0a);
      if (nl >= 0) len = nl + 1;
    }
    this.pending.add(buf, off, len);
    this.bytes += len;
    if (this.bytes >= size - 2000 && buf[off + len - 1] === 0x0a) this.fullcurrent();
    return len;
  }

  // Hands the queued bytes to the kernel. Called before multilog waits for
  // input, before rotating and before exiting.
  sync(): void {
    const q = this.pending;
    let off = 0;
    while (off < q.n) {
      try {
        off += fs.writeSync(this.fdcurrent, q.buf, off, q.n - off);
      } catch (e) {
        pause(`unable to write to ${this.dir}/current, pausing: `, e);
      }
    }
    q.clear();
  }

  get size(): number {
    return this.bytes;
  }

  // current is big enough (or ALRM said so): make it an old file.
  fullcurrent(): void {
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
    const r = spawnSync('/bin/sh', ['-c', proc], {
      argv0: 'sh',
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

  private names(): Buffer[] {
    const names: Buffer[] = [];
    const dir = fs.opendirSync(this.abs, { encoding: 'buffer' as BufferEncoding });
    try {
      for (let ent; (ent = dir.readSync()) !== null;) names.push(ent.name as unknown as Buffer);
    } finally {
      dir.closeSync();
    }
    return names;
  }

  // True when fewer than num old files remain; otherwise removes the one
  // with the smallest name (the oldest) and returns false.
  private filesfit(): boolean {
    const old = this.names().filter((n) => n[0] === AT && n.length >= NAME_LEN);
    if (old.length < this.spec.num) return true;
    let oldest: Buffer = Buffer.from('@z');
    for (const n of old) if (Buffer.compare(n, oldest) < 0) oldest = n.subarray(0, NAME_LEN);
    const victim = old.find((n) => n.subarray(0, NAME_LEN).equals(oldest));
    if (victim) unlinkQuiet(Buffer.concat([Buffer.from(this.abs + '/'), victim]));
    return false;
  }

  // End of input: everything to disk, and mode +x says "finished cleanly".
  quit(): void {
    this.out.flush();
    this.sync();
    retry(() => `unable to write ${this.dir}/current to disk, pausing: `, () => fs.fsyncSync(this.fdcurrent));
    retry(() => `unable to set mode of ${this.dir}/current, pausing: `, () => fs.fchmodSync(this.fdcurrent, 0o744));
  }
}
