// The line loop of multilog: cut input into lines, timestamp them, run the
// selection actions on the first 1000 bytes, and hand each line to the
// logs it is selected for. Bytes past 1000 are copied through without being
// looked at, as in the original, so long lines are never truncated.
//
// Input comes in chunks (one read(2) each); each is cut into the 1024-byte
// reads the original makes, with its flush of every log after each, so
// that the cuts and rotations fall on the same bytes (see LogDir). Lines
// are found with indexOf and handed over as ranges of the chunk; only a
// line that a pattern, an alert or a status file must see with its
// timestamp, or one that spans reads, is copied into the line buffer.
import { Script } from './script';
import { LogDir, copyInto } from './logdir';
import { match } from './match';
import { timestampLabel } from '../lib/tai64';

const NL = 0x0a;
const SPACE = 0x20;
const READ_SIZE = 1024; // the original's input buffer
const LINE_MAX = 1000; // what patterns, alerts and status files see
const STATUS_LEN = 1001; // a status file: the line padded with newlines
const ALERT_MAX = 200;
const STAMP_LEN = 26; // '@', 24 hex digits, a space
const SHORT_SCAN = 128; // how far to look for a newline before asking indexOf
const NEWLINE = Buffer.from('\n');
const ELLIPSIS = Buffer.from('...\n');

export class LineProcessor {
  // The line as the actions see it: the stamp, then up to LINE_MAX bytes
  // in all, newlines after (a status file gets all STATUS_LEN bytes).
  // Bytes of earlier lines may linger in line[linelen, dirty): they are
  // turned back into newlines only when a status file is written.
  private line = Buffer.alloc(STATUS_LEN, NL);
  private linelen = 0;
  private dirty = 0;
  private stampIn = false; // line[0, STAMP_LEN) is this.stamp
  private inLine = false; // the first byte of the current line is consumed
  private extra = false; // past LINE_MAX: bytes go straight to the logs
  private lastWasNewline = true;
  private alerts: Buffer[] = [];
  readonly status: Map<number, Buffer> = new Map(); // action index -> latest contents
  private readonly stamp = Buffer.alloc(STAMP_LEN, SPACE);
  // selectThrough's: what each log gets of one read, the run of input
  // lines it gets next (not copied yet), a stamped line as the actions see it.
  private readonly outs: Buffer[];
  private readonly outLen: number[];
  private readonly runFrom: number[];
  private readonly runTo: number[];
  private readonly wasSelected: boolean[]; // the selection before a read, to put back
  private readonly view = Buffer.alloc(STATUS_LEN, NL);
  private readonly out = Buffer.alloc(LINE_MAX + READ_SIZE * (STAMP_LEN + 1) + STAMP_LEN); // what one read sends
  private readonly stampLen: number;
  private readonly plain: boolean; // no +, -, e, =: every line goes to every log
  private readonly inPlace: boolean; // the actions need no line buffer: patterns without t
  private readonly selectOnly: boolean; // no e, no =: the actions only choose logs
  // The last newline found: at nlAt in nlBuf, the first at or after nlFrom (-1: none).
  private nlBuf: Buffer | null = null;
  private nlFrom = 0;
  private nlAt = -1;

  constructor(private script: Script, private dirs: LogDir[]) {
    this.stampLen = script.timestamp ? STAMP_LEN : 0;
    const kinds = new Set(script.actions.map((a) => a.kind));
    this.plain = !kinds.has('select') && !kinds.has('deselect') && !kinds.has('alert') && !kinds.has('status');
    this.selectOnly = !kinds.has('alert') && !kinds.has('status');
    this.inPlace = !script.timestamp && this.selectOnly;
    this.outs = dirs.map(() => Buffer.alloc(this.out.length));
    this.outLen = dirs.map(() => 0);
    this.runFrom = dirs.map(() => 0);
    this.runTo = dirs.map(() => 0);
    this.wasSelected = dirs.map(() => false);
    if (script.timestamp) this.view.fill(SPACE, 0, STAMP_LEN);
    if (this.plain) for (const d of dirs) d.selected = true;
  }

  // Where SIGTERM may stop multilog without cutting a line in two.
  atLineBoundary(): boolean {
    return this.lastWasNewline;
  }

  // One read's worth of input. With t, every line that starts in it is
  // stamped with the time it was read: now, as it is handed over.
  read(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.stampLen) {
      this.stamp.write(timestampLabel(), 0, 'latin1');
      this.stampIn = false;
    }
    for (let off = 0; off < chunk.length; off += READ_SIZE) {
      const end = Math.min(chunk.length, off + READ_SIZE);
      this.lastWasNewline = chunk[end - 1] === NL;
      const done = this.plain
        ? this.stampLen === 0 ? this.copyThrough(chunk, off, end) : this.stampThrough(chunk, off, end)
        : this.selectOnly && this.selectThrough(chunk, off, end);
      if (!done) this.feed(chunk, off, end);
      for (const d of this.dirs) d.flush();
    }
  }

  // End of input: a partial last line gets its newline.
  end(): void {
    if (this.extra) this.endLine(null, 0);
    else if (this.inLine) {
      this.decide();
      this.endLine(null, 0);
    }
  }

  // Alerts collected since the last call, for stderr.
  takeAlerts(): Buffer[] {
    const a = this.alerts;
    this.alerts = [];
    return a;
  }

  private nextNL(buf: Buffer, i: number): number {
    if (buf === this.nlBuf && i >= this.nlFrom && (this.nlAt < 0 || this.nlAt >= i)) return this.nlAt;
    this.nlBuf = buf;
    this.nlFrom = i;
    // Most lines are short: a loop here is cheaper than a call into C++.
    const stop = Math.min(buf.length, i + SHORT_SCAN);
    for (let k = i; k < stop; k++) if (buf[k] === NL) return (this.nlAt = k);
    return (this.nlAt = stop < buf.length ? buf.indexOf(NL, stop) : -1);
  }

  // Every line to every log, no stamps: what goes out of a read is its
  // bytes as they came, after what was held of a line begun before. When
  // every log is far from its size limit, the read is queued as one run;
  // false when not, and the read is then taken line by line.
  private copyThrough(buf: Buffer, s: number, e: number): boolean {
    const nl = buf.lastIndexOf(NL, e - 1);
    let held = false; // the line buffer's bytes go out first
    let upto = e; // buf[s, upto) goes out
    if (nl >= s) {
      held = this.inLine && !this.extra;
      if (e - nl - 1 < LINE_MAX) upto = nl + 1;
    } else if (!this.extra) {
      const have = this.inLine ? this.linelen : 0;
      if (have + (e - s) < LINE_MAX) {
        // All of it is held in the line buffer: nothing goes out.
        if (!this.inLine) this.startLine();
        this.append(buf, s, e);
        return true;
      }
      held = this.inLine; // the line reaches LINE_MAX here: out it goes, the rest after it
    }
    const total = (held ? this.linelen : 0) + (upto - s);
    for (const d of this.dirs) if (!d.far(total)) return false;
    for (const d of this.dirs) {
      if (held) d.appendCopy(this.line, 0, this.linelen);
      d.appendRef(buf, s, upto - s);
      d.flushFar();
    }
    this.settleRead(buf, upto, e);
    return true;
  }

  // Every line to every log, stamped: what goes out of a read is built in
  // one piece (the held line, then stamp and line for each line begun
  // here, bytes past LINE_MAX included) and queued as one run when every
  // log is far from its size limit. Changes nothing and returns false
  // otherwise: the read is then taken line by line.
  private stampThrough(buf: Buffer, s: number, e: number): boolean {
    const out = this.out;
    let o = 0;
    let i = s;
    if (this.extra) {
      const stop = this.lineEnd(buf, i, e);
      o = copyInto(out, o, buf, i, stop);
      i = stop;
    } else if (this.inLine) {
      const stop = this.lineEnd(buf, i, e);
      if (this.stillHeld(buf, i, e, stop)) return true;
      o = copyInto(out, o, this.line, 0, this.linelen);
      o = copyInto(out, o, buf, i, stop);
      i = stop;
    }
    const stamp = this.stamp;
    while (i < e) {
      const nl = this.nextNL(buf, i);
      if (nl < 0 || nl >= e) {
        if (e - i + STAMP_LEN < LINE_MAX) break; // held
        out.set(stamp, o);
        o = copyInto(out, o + STAMP_LEN, buf, i, e);
        i = e;
        break;
      }
      out.set(stamp, o);
      o = copyInto(out, o + STAMP_LEN, buf, i, nl + 1);
      i = nl + 1;
    }
    for (const d of this.dirs) if (!d.far(o)) return false;
    for (const d of this.dirs) {
      d.appendCopy(out, 0, o);
      d.flushFar();
    }
    this.settleRead(buf, i, e);
    return true;
  }

  // The end of the line open at buf[i] within this read: past its newline, or e.
  private lineEnd(buf: Buffer, i: number, e: number): number {
    const nl = this.nextNL(buf, i);
    return nl >= 0 && nl < e ? nl + 1 : e;
  }

  // A line begun in an earlier read that this one (up to stop) neither ends
  // nor takes to LINE_MAX stays in the line buffer: nothing goes out.
  private stillHeld(buf: Buffer, i: number, e: number, stop: number): boolean {
    if (stop !== e || buf[e - 1] === NL || this.linelen + (e - i) >= LINE_MAX) return false;
    this.append(buf, i, e);
    return true;
  }

  // After a read taken in one piece, up to buf[i]: the state the line
  // loop would have left. A line still open at e went out, so is past
  // LINE_MAX; one that starts at i is held.
  private settleRead(buf: Buffer, i: number, e: number): void {
    if (i < e) {
      this.extra = false;
      this.startLine();
      this.append(buf, i, e);
    } else if (buf[e - 1] === NL) {
      this.extra = false;
      this.inLine = false;
    } else {
      this.extra = true;
      this.inLine = true;
      this.linelen = LINE_MAX; // its bytes are gone: a length to clear, no more
    }
  }

  // Patterns, no e or =: each log's share of a read is built apart (runs
  // of its lines copied in one piece) and queued when every log is far
  // from its size limit. Otherwise the line buffer and the selection are
  // put back as they were and false returned: the read is then taken line
  // by line.
  private selectThrough(buf: Buffer, s: number, e: number): boolean {
    const dirs = this.dirs;
    const nd = dirs.length;
    const { outs, outLen, runFrom, runTo } = this;
    for (let j = 0; j < nd; j++) outLen[j] = runFrom[j] = runTo[j] = 0;
    const heldLen = this.linelen;
    // Past LINE_MAX, the selection is the line's: kept for the line loop.
    const { wasSelected } = this;
    for (let j = 0; j < nd; j++) wasSelected[j] = dirs[j].selected;
    let i = s;
    if (this.extra) {
      const stop = this.lineEnd(buf, i, e);
      for (let j = 0; j < nd; j++) if (dirs[j].selected) outLen[j] = copyInto(outs[j], 0, buf, i, stop);
      i = stop;
    } else if (this.inLine) {
      const stop = this.lineEnd(buf, i, e);
      if (this.stillHeld(buf, i, e, stop)) return true;
      const seen = Math.min(stop === e && buf[e - 1] !== NL ? e : stop - 1, i + LINE_MAX - this.linelen);
      this.append(buf, i, seen);
      this.act(this.line, 0, this.linelen);
      for (let j = 0; j < nd; j++)
        if (dirs[j].selected) outLen[j] = copyInto(outs[j], copyInto(outs[j], 0, this.line, 0, this.linelen), buf, seen, stop);
      i = stop;
    }
    const stampLen = this.stampLen;
    const seeMax = LINE_MAX - stampLen; // how much of a line the actions see after the stamp
    const view = this.view;
    if (stampLen) view.set(this.stamp, 0);
    while (i < e) {
      let nl = this.nextNL(buf, i);
      let stop: number;
      if (nl >= 0 && nl < e) stop = nl + 1;
      else if (e - i < seeMax) break; // held
      else {
        nl = e;
        stop = e;
      }
      const seen = Math.min(nl - i, seeMax);
      if (stampLen) {
        copyInto(view, STAMP_LEN, buf, i, i + seen);
        this.act(view, 0, STAMP_LEN + seen);
      } else this.act(buf, i, seen);
      for (let j = 0; j < nd; j++) {
        if (!dirs[j].selected) continue;
        if (stampLen) {
          const o = outLen[j];
          outs[j].set(this.stamp, o);
          outLen[j] = copyInto(outs[j], o + STAMP_LEN, buf, i, stop);
        } else if (runTo[j] === i && runTo[j] > runFrom[j]) runTo[j] = stop;
        else {
          if (runTo[j] > runFrom[j]) outLen[j] = copyInto(outs[j], outLen[j], buf, runFrom[j], runTo[j]);
          runFrom[j] = i;
          runTo[j] = stop;
        }
      }
      i = stop;
    }
    for (let j = 0; j < nd; j++) {
      if (runTo[j] > runFrom[j]) outLen[j] = copyInto(outs[j], outLen[j], buf, runFrom[j], runTo[j]);
      if (!dirs[j].far(outLen[j])) {
        this.linelen = heldLen;
        for (let k = 0; k < nd; k++) dirs[k].selected = wasSelected[k];
        return false;
      }
    }
    for (let j = 0; j < nd; j++) {
      dirs[j].appendCopy(outs[j], 0, outLen[j]);
      dirs[j].flushFar();
    }
    this.settleRead(buf, i, e);
    return true;
  }

  // The general loop over buf[s, e), one read.
  private feed(buf: Buffer, s: number, e: number): void {
    let i = s;
    while (i < e) {
      if (this.extra) {
        const nl = this.nextNL(buf, i);
        const stop = nl >= 0 && nl < e ? nl : e;
        if (stop > i)
          for (const d of this.dirs)
            if (d.selected) {
              d.appendRef(buf, i, stop - i);
              d.putc(stop - i);
            }
        if (stop === e) return;
        this.endLine(buf, nl);
        i = nl + 1;
        continue;
      }
      if (!this.inLine) {
        const nl = this.nextNL(buf, i);
        if (nl >= 0 && nl < e && nl - i + this.stampLen <= LINE_MAX) {
          this.wholeLine(buf, i, nl);
          i = nl + 1;
          continue;
        }
        this.startLine();
      }
      const limit = Math.min(e, i + LINE_MAX - this.linelen);
      const nl = this.nextNL(buf, i);
      if (nl >= 0 && nl < limit) {
        this.append(buf, i, nl);
        this.decide();
        this.endLine(buf, nl);
        i = nl + 1;
        continue;
      }
      this.append(buf, i, limit);
      i = limit;
      if (this.linelen === LINE_MAX) {
        this.decide();
        this.extra = true;
      }
    }
  }

  // A line that begins and ends within one read, buf[i, nl) and its newline.
  private wholeLine(buf: Buffer, i: number, nl: number): void {
    const len = nl - i;
    if (!this.plain) {
      if (this.inPlace) this.act(buf, i, len);
      else {
        this.startLine();
        this.append(buf, i, nl);
        this.act(this.line, 0, this.linelen);
        this.inLine = false;
      }
    }
    const stamped = this.stampLen + len;
    for (const d of this.dirs)
      if (d.selected) {
        if (this.stampLen) d.appendCopy(this.stamp, 0, STAMP_LEN);
        d.appendRef(buf, i, len);
        d.put(stamped);
        d.appendRef(buf, nl, 1);
        d.putc(1);
      }
  }

  private startLine(): void {
    this.linelen = 0;
    this.inLine = true;
    if (this.stampLen) {
      if (!this.stampIn) {
        this.stamp.copy(this.line, 0);
        this.stampIn = true;
      }
      this.linelen = STAMP_LEN;
    }
  }

  private append(buf: Buffer, from: number, to: number): void {
    this.linelen = copyInto(this.line, this.linelen, buf, from, to);
    if (this.linelen > this.dirty) this.dirty = this.linelen;
  }

  // The line buffer is complete: act, and put it into the selected logs.
  private decide(): void {
    const { line, linelen } = this;
    this.act(line, 0, linelen);
    for (const d of this.dirs)
      if (d.selected) {
        d.appendCopy(line, 0, linelen);
        d.put(linelen);
      }
  }

  // Runs the actions in order on the line buf[at, at + len): selection,
  // alerts, status files, and which logs take it. For e and =, buf is the
  // line buffer.
  private act(buf: Buffer, at: number, len: number): void {
    let sel = true;
    const actions = this.script.actions;
    for (let k = 0; k < actions.length; k++) {
      const a = actions[k];
      switch (a.kind) {
        case 'select':
          if (!sel && match(a.pattern, buf, len, at)) sel = true;
          break;
        case 'deselect':
          if (sel && match(a.pattern, buf, len, at)) sel = false;
          break;
        case 'alert':
          if (sel)
            this.alerts.push(len > ALERT_MAX
              ? Buffer.concat([buf.subarray(at, at + ALERT_MAX), ELLIPSIS])
              : Buffer.concat([buf.subarray(at, at + len), NEWLINE]));
          break;
        case 'status':
          if (sel) {
            let b = this.status.get(k);
            if (!b) this.status.set(k, (b = Buffer.alloc(STATUS_LEN)));
            if (this.dirty > len) {
              buf.fill(NL, len, this.dirty);
              this.dirty = len;
            }
            buf.copy(b, 0, at, at + STATUS_LEN);
          }
          break;
        case 'dir':
          this.dirs[a.index].selected = sel;
          break;
      }
    }
  }

  // The newline: buf[nl], or one of ours at the end of input.
  private endLine(buf: Buffer | null, nl: number): void {
    for (const d of this.dirs)
      if (d.selected) {
        if (buf) d.appendRef(buf, nl, 1);
        else d.appendRef(NEWLINE, 0, 1);
        d.putc(1);
      }
    this.extra = false;
    this.inLine = false;
  }
}
