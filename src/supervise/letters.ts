// Reading supervise/control: the letters written into the FIFO, handed to
// the service a batch at a time, and the FIFO left unread while the service
// cannot take more.
import { Socket } from 'node:net';

/**
 * Control bytes handled in one turn of the event loop: a flood written into
 * one service's supervise/control cannot hold up every other service.
 */
const CONTROL_BATCH = 64;

export class Letters {
  /** supervise/control's descriptor (-1: none). */
  fd = -1;
  private sock: Socket | null = null;
  /** Letters of a read not yet handled (see take). */
  private backlog = false;

  /** letter: one byte read; ready: whether the service takes letters now; failed: a read error. */
  constructor(private readonly letter: (ch: string) => void, private readonly ready: () => boolean,
              private readonly failed: (e: Error) => void) {}

  /** Read control letters from fd, supervise/control opened read-write. */
  listen(fd: number): void {
    this.fd = fd;
    this.sock = new Socket({ fd, readable: true, writable: false });
    this.sock.on('data', (b: Buffer) => this.take(b.toString('latin1'), 0));
    this.sock.on('error', (e) => this.failed(e));
  }

  /** Control letters text[at...], CONTROL_BATCH at a time; the FIFO is not read meanwhile. */
  private take(text: string, at: number): void {
    const end = Math.min(text.length, at + CONTROL_BATCH);
    for (let i = at; i < end; i++) this.letter(text[i]);
    if (end >= text.length) {
      this.backlog = false;
      return this.resume();
    }
    this.backlog = true;
    this.sock?.pause();
    setImmediate(() => { if (this.sock) this.take(text, end); });
  }

  /** Stop reading (what is written waits in the FIFO). */
  pause(): void {
    this.sock?.pause();
  }

  /**
   * Read supervise/control again, unless letters already read wait, or the
   * service takes none now: an action waits for a control script (runsv
   * reads nothing meanwhile either), or a hand-over is under way.
   */
  resume(): void {
    if (!this.backlog && this.ready()) this.sock?.resume();
  }

  /** Close supervise/control. */
  close(): void {
    this.sock?.destroy();
    this.sock = null;
    this.fd = -1;
  }
}
