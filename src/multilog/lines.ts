// The line loop of multilog: cut input into lines, timestamp them, run the
// selection actions on the first 1000 bytes, and hand each line to the
// logs it is selected for. Bytes past 1000 are copied through without being
// looked at, as in the original, so long lines are never truncated.
import { Script } from './script';
import { LogDir } from './logdir';
import { match } from './match';
import { timestampLabel } from '../lib/tai64';

const NL = 0x0a;
const LINE_MAX = 1000; // what patterns, alerts and status files see
const STATUS_LEN = 1001; // a status file: the line padded with newlines
const ALERT_MAX = 200;
const NEWLINE = Buffer.from('\n');
const ELLIPSIS = Buffer.from('...\n');

export class LineProcessor {
  private line = Buffer.alloc(STATUS_LEN, NL);
  private linelen = 0;
  private inLine = false; // the first byte of the current line is consumed
  private extra = false; // past LINE_MAX: bytes go straight to the logs
  private lastWasNewline = true;
  private alerts: Buffer[] = [];
  readonly status: Map<number, Buffer> = new Map(); // action index -> latest contents

  constructor(private script: Script, private dirs: LogDir[]) {}

  // Where SIGTERM may stop multilog without cutting a line in two.
  atLineBoundary(): boolean {
    return this.lastWasNewline;
  }

  feed(buf: Buffer): void {
    if (buf.length === 0) return;
    this.lastWasNewline = buf[buf.length - 1] === NL;
    let i = 0;
    while (i < buf.length) {
      if (this.extra) {
        const nl = buf.indexOf(NL, i);
        const stop = nl < 0 ? buf.length : nl;
        for (const d of this.dirs) if (d.selected) d.out.putChars(buf, i, stop - i);
        if (nl < 0) return;
        this.endLine();
        i = nl + 1;
        continue;
      }
      if (!this.inLine) this.startLine();
      const limit = Math.min(buf.length, i + LINE_MAX - this.linelen);
      const nl = buf.indexOf(NL, i);
      if (nl >= 0 && nl < limit) {
        this.append(buf, i, nl);
        this.decide();
        this.endLine();
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

  // End of input: a partial last line gets its newline.
  end(): void {
    if (this.extra) this.endLine();
    else if (this.inLine) {
      this.decide();
      this.endLine();
    }
  }

  // Alerts collected since the last call, for stderr.
  takeAlerts(): Buffer[] {
    const a = this.alerts;
    this.alerts = [];
    return a;
  }

  private startLine(): void {
    this.line.fill(NL, 0, this.linelen);
    this.linelen = 0;
    this.inLine = true;
    if (this.script.timestamp) {
      this.line.write(timestampLabel() + ' ', 0, 'latin1');
      this.linelen = 26;
    }
  }

  private append(buf: Buffer, from: number, to: number): void {
    buf.copy(this.line, this.linelen, from, to);
    this.linelen += to - from;
  }

  // Runs the actions in order and puts the line into the selected logs.
  private decide(): void {
    const { line, linelen } = this;
    let sel = true;
    const actions = this.script.actions;
    for (let k = 0; k < actions.length; k++) {
      const a = actions[k];
      switch (a.kind) {
        case 'select':
          if (!sel && match(a.pattern, line, linelen)) sel = true;
          break;
        case 'deselect':
          if (sel && match(a.pattern, line, linelen)) sel = false;
          break;
        case 'alert':
          if (sel)
            this.alerts.push(linelen > ALERT_MAX
              ? Buffer.concat([line.subarray(0, ALERT_MAX), ELLIPSIS])
              : Buffer.concat([line.subarray(0, linelen), NEWLINE]));
          break;
        case 'status':
          if (sel) {
            let b = this.status.get(k);
            if (!b) this.status.set(k, (b = Buffer.alloc(STATUS_LEN)));
            line.copy(b);
          }
          break;
        case 'dir':
          this.dirs[a.index].selected = sel;
          break;
      }
    }
    for (const d of this.dirs) if (d.selected) d.out.put(line, 0, linelen);
  }

  private endLine(): void {
    for (const d of this.dirs) if (d.selected) d.out.putChars(NEWLINE, 0, 1);
    this.extra = false;
    this.inLine = false;
  }
}
