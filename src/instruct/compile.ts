// ipsvd-cdb's reading of an instructions directory: one record per entry,
// keyed by file name, valued by what tcpsvd -i would find there plus a type
// byte (D deny, X shell command, I instruction lines joined by NUL), in
// readdir order. Entries are read as a client would see them, checks off.
import * as fs from 'node:fs';
import { DirStore } from './dir';
import { evaluate } from './evaluate';
import { splitLines } from './parse';

export type Compiled =
  | { name: string; value: Buffer }
  | { name: string; skipped: 'unstattable' | 'ignored' };

/**
 * Read the current directory (the caller has changed into it, so warnings
 * name entries "./name" as ipsvd-cdb's do). Read errors throw, with the
 * entry's name in `entry` on the error.
 */
export function* compileCwd(warn: (msg: string) => void): Generator<Compiled> {
  const view = new DirStore('.', 0, warn).view();
  const dir = fs.opendirSync('.');
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      const name = d.name;
      if (name.startsWith('..')) continue;
      if (!fs.statSync(name, { throwIfNoEntry: false })) {
        yield { name, skipped: 'unstattable' };
        continue;
      }
      // ipsvd-cdb looks each name up as a host name: one that starts with a
      // dot stops that walk at once and gets the catch-all "0" instead.
      const target = name.startsWith('.') ? '0' : name;
      let e;
      try {
        e = view.lookup(target);
      } catch (err) {
        throw Object.assign(err as Error, { entry: name });
      }
      if (!e) {
        yield { name, skipped: 'ignored' };
        continue;
      }
      if (e.type === 'D') {
        yield { name, value: Buffer.from('D') };
        continue;
      }
      // Instruction lines are read (and bad ones warned about) as tcpsvd would.
      if (e.type === 'I') evaluate(splitLines(e.text), view.label(target), null, { env: new Map() }, async () => [], warn);
      yield { name, value: Buffer.concat([e.text, Buffer.from(e.type)]) };
    }
  } finally {
    dir.closeSync();
  }
}
