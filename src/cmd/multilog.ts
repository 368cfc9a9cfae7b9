// multilog script: read lines on stdin, act on them as the script says.
// See man/multilog.8. Input is read in big chunks but cut into the 1024-
// byte reads the original makes, with its flush between them, so that logs
// are rotated at the very same bytes (src/multilog/lines.ts); the actual
// writes are batched: one per log for each chunk, and one at each rotation.
import * as fs from 'node:fs';
import { parseScript } from '../multilog/script';
import { LogDir } from '../multilog/logdir';
import { LineProcessor } from '../multilog/lines';
import { die, pause } from '../multilog/retry';
import { writeAll } from '../lib/writeall';

export function main(argv: string[]): void {
  // Signals are caught from the start, like the original blocks them from
  // the start: one that arrives while we set up is acted on when we are
  // ready to read.
  let exitasap = false;
  let forcerotate = false;
  let onSignal = () => {};
  process.on('SIGTERM', () => {
    exitasap = true;
    onSignal();
  });
  process.on('SIGALRM', () => {
    forcerotate = true;
    onSignal();
  });

  process.umask(0o022);
  const script = parseScript(argv);
  const start = process.cwd();

  // Status files first, then log directories, in script order.
  const statusFds = new Map<number, number>();
  script.actions.forEach((a, k) => {
    if (a.kind !== 'status') return;
    try {
      fs.closeSync(fs.openSync(a.file, 'a', 0o600));
    } catch (e) {
      die(`unable to create ${a.file}: `, e);
    }
    try {
      statusFds.set(k, fs.openSync(a.file, fs.constants.O_WRONLY));
    } catch (e) {
      die(`unable to write ${a.file}: `, e);
    }
  });
  const dirs = script.dirs.map((spec) => {
    const d = new LogDir(spec, start);
    d.restart();
    return d;
  });
  const lines = new LineProcessor(script, dirs);

  // Everything processed so far goes to the kernel: logs, status files,
  // alerts. Done before every wait for input.
  const settle = () => {
    for (const d of dirs) d.sync();
    for (const [k, buf] of lines.status) {
      const fd = statusFds.get(k) as number;
      const file = (script.actions[k] as { file: string }).file;
      for (;;) {
        try {
          writeAll(fd, buf, 0);
          break;
        } catch (e) {
          pause(`unable to write ${file}, pausing: `, e);
        }
      }
    }
    lines.status.clear();
    for (const a of lines.takeAlerts()) {
      try {
        writeAll(2, a);
      } catch {
        // nowhere to complain about stderr
      }
    }
  };

  const quit = () => {
    settle();
    for (const d of dirs) d.quit();
    process.exit(0);
  };

  // We only get here between chunks, when everything read has been written.
  onSignal = () => {
    if (forcerotate) {
      forcerotate = false;
      for (const d of dirs) if (d.currentSize > 0) d.fullcurrent();
    }
    if (exitasap && lines.atLineBoundary()) quit();
  };
  onSignal();

  const input = process.stdin;
  input.on('data', (chunk: Buffer) => {
    lines.read(chunk);
    settle();
    if (exitasap && lines.atLineBoundary()) quit();
  });
  // A read error ends the input, as it does for the original.
  const eof = () => {
    lines.end();
    quit();
  };
  input.on('end', eof);
  input.on('error', eof);
}
