// readproctitle io ...: read stdin and keep its last bytes in the process
// title, where ps(1) shows them, as daemontools 0.76's readproctitle. The
// last argument (at least 5 bytes, conventionally a long row of dots) is the
// window: its first 3 bytes stay, the rest shows the most recent bytes read,
// sliding left as more come; NUL bytes are ignored. Ours sets the title
// ("readproctitle" and the arguments, the window changed) through Node's
// process.title, so ps shows the same text as for the original. Exits 100
// when the window is missing or short, 0 at end of input, 111 on a read error.

import { setTitle } from '../lib/title';

export function main(argv: string[]): void {
  if (argv.length < 1) process.exit(100);
  const len = Buffer.byteLength(argv[argv.length - 1]);
  if (len < 5) process.exit(100);
  const head = ['readproctitle', ...argv.slice(0, -1)];
  const win = Buffer.alloc(len, '.');
  const show = () => setTitle([...head, win.toString('latin1')], 'readproctitle');
  show();
  const feed = (chunk: Buffer) => {
    let bytes = chunk.filter((c) => c !== 0);
    if (bytes.length === 0) return;
    const room = len - 3;
    if (bytes.length >= room) bytes = bytes.subarray(bytes.length - room);
    win.copy(win, 3, 3 + bytes.length, len);
    Buffer.from(bytes).copy(win, len - bytes.length);
    show();
  };
  process.stdin.on('data', feed);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EINTR' ? 0 : 111));
}
