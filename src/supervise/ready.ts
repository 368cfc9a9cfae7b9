// Reading run's notification pipe (the directory's notification-fd): a
// newline read from it says run is ready; its end, that it never will be,
// this run.
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';

export class Notifier {
  /** The read end's descriptor (-1: none yet). */
  fd = -1;
  private sock: Socket | null = null;

  constructor(private readonly ready: () => void) {}

  /** Whether a pipe is being read: what a hand-over passes on. */
  get reading(): boolean {
    return this.fd >= 0 && this.sock !== null;
  }

  /** Read the notification pipe until a newline (ready) or its end (never ready, this run). */
  await(fd: number): void {
    let sock: Socket;
    try {
      sock = new Socket({ fd, readable: true, writable: false });
    } catch {
      closeSync(fd);
      return;
    }
    this.sock = sock;
    this.fd = fd;
    sock.on('data', (b: Buffer) => {
      if (this.sock !== sock || !b.includes(0x0a)) return;
      this.stop();
      this.ready();
    });
    sock.on('error', () => { if (this.sock === sock) this.stop(); });
    sock.on('end', () => { if (this.sock === sock) this.stop(); });
  }

  stop(): void {
    this.sock?.destroy();
    this.sock = null;
  }
}
