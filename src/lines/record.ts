// recordio's record of one read: a line per line of the data, "PID < " (to
// the program) or "PID > " (from it), the bytes, then " " when the line
// ended there or "+" when the read ended first; each line one write to
// descriptor 2. The end of a direction is "PID < [EOF]" or "PID > [EOF]".
import { writeSync } from 'node:fs';

function put(line: Buffer): void {
  try {
    writeSync(2, line);
  } catch {
    // stderr gone: the record is lost, the data still flows, as there
  }
}

/** The record lines of one read. */
export function recordLines(pid: number, dir: '<' | '>', buf: Uint8Array): Buffer[] {
  const head = Buffer.from(`${pid} ${dir} `, 'latin1');
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at);
    const end = nl < 0 ? buf.length : nl;
    out.push(Buffer.concat([head, buf.subarray(at, end), Buffer.from(nl < 0 ? '+\n' : ' \n')]));
    if (nl < 0) break;
    at = nl + 1;
  }
  return out;
}

export function record(pid: number, dir: '<' | '>', buf: Uint8Array): void {
  for (const line of recordLines(pid, dir, buf)) put(line);
}

export function recordEof(pid: number, dir: '<' | '>'): void {
  put(Buffer.from(`${pid} ${dir} [EOF]\n`, 'latin1'));
}
