// supervise/status in runit's 20-byte layout. daemontools' svstat reads the
// first 18 bytes of it (its own layout), runit's sv reads all 20:
//   0..11  TAI64N of the last change (start or stop)
//  12..15  pid, little-endian, 0 when down
//  16      1 when paused
//  17      'u' want up, 'd' want down, 0 once (daemontools' value for "o")
//  18      1 when a TERM was sent and the process has not died yet (runit)
//  19      0 down, 1 run, 2 finish (runit)
import { Tai, packTai, unpackTai } from '../lib/tai64';

export enum State { Down = 0, Run = 1, Finish = 2 }
export type Want = 'u' | 'd' | 'o';

export interface Status {
  when: Tai;
  pid: number;
  paused: boolean;
  want: Want;
  term: boolean;
  state: State;
}

export function encodeStatus(s: Status): Buffer {
  const b = Buffer.alloc(20);
  packTai(s.when, b, 0);
  b.writeUInt32LE(s.pid >>> 0, 12);
  b[16] = s.paused ? 1 : 0;
  b[17] = s.want === 'o' ? 0 : s.want.charCodeAt(0);
  b[18] = s.term ? 1 : 0;
  b[19] = s.state;
  return b;
}

/** Decodes 18 (daemontools) or 20 (runit, ours) bytes; null when too short. */
export function decodeStatus(b: Buffer): Status | null {
  if (b.length < 18) return null;
  const w = b[17];
  const pid = b.readUInt32LE(12);
  return {
    when: unpackTai(b, 0),
    pid,
    paused: b[16] !== 0,
    want: w === 0x75 ? 'u' : w === 0x64 ? 'd' : 'o',
    term: b.length >= 20 && b[18] !== 0,
    state: b.length >= 20 ? (b[19] as State) : pid ? State.Run : State.Down,
  };
}

/** runit's supervise/stat: a human-readable one-liner. */
export function statText(s: Status, exiting: boolean): string {
  let t = ['down', 'run', 'finish'][s.state] ?? 'down';
  if (s.paused) t += ', paused';
  if (s.term) t += ', got TERM';
  if (s.state !== State.Down) {
    if (exiting) t += ', want exit';
    else if (s.want === 'd') t += ', want down';
  }
  return t + '\n';
}
