// recordio and fixcrio: the program with a copier between it and the
// caller. The originals fork: the program keeps their pid and the caller's
// descriptors (its 0 and 1 now pipes to the copier), and the forked copier
// moves data: reads of up to 256 bytes from standard input, each written to
// the program before the next read; reads of up to 256 bytes of the
// program's output, each written to standard output. The copier stops for
// good at the end of the program's output, or when a write fails (SIGPIPE
// ignored); the end of standard input only closes the program's input.
//
// Node cannot fork, so here the program is the child and this process the
// copier: the program gets descriptor 2 and what the command inherited above
// 2 (with the addon, which tells them apart from Node's own), the signals a
// supervisor sends are passed on, and the command ends as the program ended
// (its exit code, or the same signal) once the program has exited and the
// copier has stopped.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { writeAll } from '../lib/writeall';
import { closedAtStart } from '../lib/stdfd';
import { keepIgnoredAs } from '../lib/ignored';
import { die } from '../lib/strerr';
import { dieOf } from '../chain/exec';
import { loadNative } from '../native';

export interface Copier {
  tool: string;
  prog: string[];
  /** Bytes read from standard input (1..256) → bytes for the program. */
  left(chunk: Buffer, pid: number): Buffer;
  /** Standard input ended (not called when the copier stopped first). */
  leftEnd?(pid: number): void;
  /** Bytes of the program's output (1..256) → bytes for standard output. */
  right(chunk: Buffer, pid: number): Buffer;
  /** The program's output ended. */
  rightEnd?(pid: number): void;
}

const CHUNK = 256;
const FORWARD: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2',
  'SIGALRM', 'SIGCONT', 'SIGWINCH'];

/** The descriptors above 2 the command was started with (with the addon; none without). */
function inheritedAbove2(): number[] {
  const n = loadNative();
  if (!n || typeof n.inheritedFds !== 'function') return [];
  try {
    return n.inheritedFds().filter((fd) => fd > 2 && fd < 1024);
  } catch {
    return [];
  }
}

export function runCopier(c: Copier): void {
  const stdio: Array<'pipe' | 'inherit' | 'ignore' | number> = ['pipe', 'pipe', 'inherit'];
  for (const fd of inheritedAbove2()) stdio[fd] = fd;
  for (let i = 0; i < stdio.length; i++) stdio[i] ??= 'ignore';
  const k = keepIgnoredAs(c.prog[0], c.prog.slice(1), c.prog[0]);
  const child = spawn(k.file, k.args, { argv0: k.argv0, stdio });
  child.on('error', (e) => die(c.tool, `unable to run ${c.prog[0]}`, e));
  if (child.pid === undefined) return; // 'error' follows
  const pid = child.pid;
  const toProg = child.stdin!, fromProg = child.stdout!;
  let stopped = false, exited: [number | null, NodeJS.Signals | null] | undefined;
  const finish = () => {
    if (!stopped || !exited) return;
    if (exited[1] !== null) dieOf(exited[1]);
    else process.exit(exited[0] ?? 111);
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    toProg.destroy();
    fromProg.destroy();
    finish();
  };
  toProg.on('error', stop);
  fromProg.on('error', stop);
  for (const sig of FORWARD) process.on(sig, () => { child.kill(sig); });
  child.on('exit', (code, signal) => {
    exited = [code, signal];
    finish();
  });

  // Standard input → the program.
  const inbuf = Buffer.allocUnsafe(CHUNK);
  const readLeft = () => {
    if (stopped) return;
    const done = () => {
      if (stopped) return;
      c.leftEnd?.(pid);
      toProg.end();
    };
    if (closedAtStart(0)) return done();
    fs.read(0, inbuf, 0, CHUNK, null, (e, n) => {
      if (stopped) return;
      if (e && (e.code === 'EAGAIN' || e.code === 'EINTR')) {
        setTimeout(readLeft, e.code === 'EAGAIN' ? 10 : 0);
        return;
      }
      if (e || n === 0) return done();
      toProg.write(c.left(Buffer.from(inbuf.subarray(0, n)), pid), (err) => { if (!err) readLeft(); });
    });
  };
  readLeft();

  // The program → standard output.
  const outClosed = closedAtStart(1);
  fromProg.on('data', (data: Buffer) => {
    for (let at = 0; at < data.length && !stopped; at += CHUNK) {
      try {
        if (outClosed) throw new Error('closed');
        writeAll(1, c.right(data.subarray(at, at + CHUNK), pid));
      } catch {
        stop();
      }
    }
  });
  fromProg.on('end', () => {
    if (stopped) return;
    c.rightEnd?.(pid);
    stop();
  });
}
