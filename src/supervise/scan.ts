// svscan's loop: every subdirectory of the current directory is a Unit,
// rescanned every 5 seconds and on demand. The rules:
// - names starting with a dot are ignored: create .name, fill it, then
//   rename it to name, and it is taken up complete;
// - a directory is known by device and inode, so renaming it keeps its
//   service running (only the name in messages changes);
// - a directory that disappears has its service stopped (TERM, as runsvdir
//   does; djb's svscan leaves it running) and is then forgotten;
// - a directory is taken up only while the descriptors it needs fit under
//   the soft limit with room to spare for starting processes; one that does
//   not fit is named, and tried again at the next scan.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { Unit } from './unit';

const RESCAN_MS = 5000;
/** Descriptors kept free for spawning (each spawn opens a few for a moment). */
const RESERVE_FDS = 32;

interface Entry { unit: Unit; name: string; stopping: boolean }

/** The soft limit on open files, from /proc/self/limits (Infinity when unknown or unlimited). */
export function fileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'latin1'));
    return m && m[1] !== 'unlimited' ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

function openFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

export class Scanner {
  /** By "dev:ino". */
  private units = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private shuttingDown = false;

  constructor(private say: (line: string) => void, private finished: () => void) {}

  /** How many directories are supervised now (tests and the benchmark read it). */
  get size(): number {
    return this.units.size;
  }

  scan(): void {
    if (this.shuttingDown) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.scan(), RESCAN_MS);
    let names: string[];
    try {
      names = fs.readdirSync('.').sort();
    } catch (e) {
      this.say(`svscan: warning: unable to read directory: ${errstr(e)}`);
      return;
    }
    // Each directory once, under the names it has now.
    const found = new Map<string, string[]>();
    for (const name of names) {
      if (name.startsWith('.')) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(name);
      } catch (e) {
        this.say(`svscan: warning: unable to stat ${name}: ${errstr(e)}`);
        continue;
      }
      if (!st.isDirectory()) continue;
      const key = `${st.dev}:${st.ino}`;
      const list = found.get(key);
      if (list) list.push(name);
      else found.set(key, [name]);
    }
    const limit = fileLimit() - RESERVE_FDS;
    let used = openFds();
    for (const [key, list] of found) {
      const known = this.units.get(key);
      if (known) {
        if (known.stopping) continue;
        if (!list.includes(known.name)) {
          known.name = list[0];
          known.unit.moveTo(list[0], path.resolve(list[0]));
        }
        known.unit.revive();
        continue;
      }
      const name = list[0];
      const dir = path.resolve(name);
      const need = Unit.need(dir);
      if (used + need > limit) {
        this.say(`svscan: warning: unable to start ${name}: ${errstr({ code: 'EMFILE' })}`);
        continue;
      }
      const unit = new Unit(name, dir, this.say, (u) => this.gone(key, u));
      if (unit.open()) {
        this.units.set(key, { unit, name, stopping: false });
        used += need;
      }
    }
    for (const [key, e] of this.units) {
      if (found.has(key) || e.stopping) continue;
      e.stopping = true;
      e.unit.stop(true);
    }
  }

  private gone(key: string, u: Unit): void {
    if (this.units.get(key)?.unit === u) this.units.delete(key);
    if (this.shuttingDown && this.units.size === 0) this.finished();
  }

  /** Every service down, each log service after its service; then finished(). */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.units.size === 0) return this.finished();
    for (const e of this.units.values()) {
      if (e.stopping) continue;
      e.stopping = true;
      e.unit.stop();
    }
  }
}
