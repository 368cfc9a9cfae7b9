// mconnect-io, what mconnect runs under tcpclient: the server (descriptor 6)
// to standard output, standard input to the server (descriptor 7) with a CR
// before every LF. Write failures are ignored (SIGPIPE too), the end of
// standard input stops only that direction (descriptor 7 stays open: no
// end of stream reaches the server), and the end of the server's data, or a
// failed read of it, ends mconnect-io with 0, as ucspi-tcp's.
import * as fs from 'node:fs';
import { writeAll } from '../lib/writeall';
import { addonPart } from '../native';
import { closedAtStart } from '../lib/stdfd';
import { addcr } from '../lines/crlf';

/** Whether fd was handed to this process (not one Node opened for itself). */
function inherited(fd: number): boolean {
  const n = addonPart('exec');
  if (n) {
    try {
      return n.inheritedFds().includes(fd);
    } catch {
      // as without the addon
    }
  }
  try {
    const st = fs.fstatSync(fd);
    return st.isSocket() || st.isFile() || st.isCharacterDevice();
  } catch {
    return false;
  }
}

function copy(from: number, size: number, each: (b: Buffer) => void, end: () => void): void {
  const buf = Buffer.allocUnsafe(size);
  const next = () => fs.read(from, buf, 0, size, null, (e, n) => {
    if (e && e.code === 'EAGAIN') return void setTimeout(next, 10);
    if (e && e.code === 'EINTR') return void setImmediate(next);
    if (e || n === 0) return end();
    each(Buffer.from(buf.subarray(0, n)));
    next();
  });
  next();
}

function quietly(fd: number, b: Buffer): void {
  try {
    writeAll(fd, b);
  } catch {
    // ignored, as there
  }
}

export function mconnectIo(): void {
  const fromServer = inherited(6), toServer = inherited(7), outOk = !closedAtStart(1);
  if (!fromServer) return process.exit(0);
  if (!closedAtStart(0)) {
    const conv = addcr();
    copy(0, 512, (b) => { if (toServer) quietly(7, conv.put(b)); }, () => {});
  }
  copy(6, 512, (b) => { if (outOk) quietly(1, b); }, () => process.exit(0));
}
