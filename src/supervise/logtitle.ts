// runsvdir's log argument: everything written to stderr, runsvdir's own
// lines and its services', scrolls through the last part of log in the
// process title, the first five characters staying put; a dot every 15
// minutes shows that the title is alive. A keeper (keeper.ts) takes the
// title's state over and goes on scrolling.
import * as net from 'node:net';
import { setTitle } from '../lib/title';

/** The original's heartbeat on the log: a dot every 900 seconds. */
const DOT_MS = 900_000;
/** How much of log stays put at its start. */
const KEEP = 5;

/** What a keeper needs to go on scrolling the log argument through its title. */
export interface TitleState { words: string[]; at: number; buf: string[]; fd: number }

/** say() for our own lines, into the title; what the services write to fd scrolls there too. */
export function scroll(title: Title, fd: number): (line: string) => void {
  const reader = new net.Socket({ fd, readable: true, writable: false });
  reader.on('data', (b: Buffer) => title.add(b.toString('latin1')));
  reader.on('error', () => { /* only at exit */ });
  reader.unref();
  setInterval(() => title.add('.'), DOT_MS).unref();
  // Our own lines go straight to the title: a write to a pipe that we
  // read ourselves could block us while it is full.
  return (line: string) => title.add(line + '\n');
}

/**
 * The process title: the command line, its log argument scrolling. Each
 * byte written shifts the log argument's characters after the first five
 * left by one and takes the last place, as the original does in place.
 */
export class Title {
  private buf: string[];

  constructor(private words: string[], private at: number, buf: string[]) {
    this.buf = buf;
    this.show();
  }

  /**
   * Only the last characters of s can remain: what goes is cut once, so a
   * service flooding its stderr costs time in proportion to what it wrote,
   * not to that times the length of log.
   */
  add(s: string): void {
    const room = this.buf.length - KEEP;
    if (room <= 0) return;
    const tail = [...s.replaceAll('\0', '').slice(-2 * room)].slice(-room);
    this.buf.splice(KEEP, tail.length);
    this.buf.push(...tail);
    this.show();
  }

  state(): { words: string[]; at: number; buf: string[] } {
    return { words: this.words, at: this.at, buf: this.buf };
  }

  private show(): void {
    const w = [...this.words];
    w[this.at] = this.buf.join('');
    setTitle(w, this.words[0]);
  }
}
