// ipsvd-cdb's reading of an instructions directory: one record per entry,
// keyed by file name (raw bytes), valued by what tcpsvd -i would find there
// plus a type byte (D deny, X shell command, I instruction lines joined by
// NUL), in readdir order. Entries are read as for a client, checks off.
import * as fs from 'node:fs';
import { readEntry } from './dir';
import { evaluate } from './evaluate';
import { splitLines } from './parse';

export type Compiled =
  | { name: Buffer; value: Buffer }
  | { name: Buffer; skipped: 'unstattable' | 'ignored' };

const DOT = 0x2e;
const ZERO = Buffer.from('0');

/**
 * Read the current directory (the caller has changed into it, so warnings
 * name entries "./name" as ipsvd-cdb's do). A read error is thrown with the
 * entry's name in `entry`.
 */
export function* compileCwd(warn: (msg: string) => void): Generator<Compiled> {
  // Raw names: a file name need not be UTF-8 (Node supports this; its types do not say so).
  const dir = fs.opendirSync('.', { encoding: 'buffer' as BufferEncoding });
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      const name = d.name as unknown as Buffer;
      if (name[0] === DOT && (name.length === 1 || name[1] === DOT)) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(name);
      } catch {
        yield { name, skipped: 'unstattable' };
        continue;
      }
      // ipsvd-cdb looks each name up as a host name: one that starts with a
      // dot ends that walk at once and gets the catch-all "0" instead.
      const target = name[0] === DOT ? ZERO : name;
      try {
        if (target !== name) {
          const z = fs.statSync(target, { throwIfNoEntry: false });
          if (!z) {
            yield { name, skipped: 'ignored' };
            continue;
          }
          st = z;
        }
        const e = readEntry(target, st.mode);
        if (e.type === 'D') {
          yield { name, value: Buffer.from('D') };
          continue;
        }
        // Instruction lines are read (and bad ones warned about) as tcpsvd would.
        if (e.type === 'I') void evaluate(splitLines(e.text), `./${target.toString()}`, null, { env: new Map() }, async () => [], warn);
        yield { name, value: Buffer.concat([e.text, Buffer.from(e.type)]) };
      } catch (err) {
        throw Object.assign(err as Error, { entry: name.toString() });
      }
    }
  } finally {
    dir.closeSync();
  }
}
