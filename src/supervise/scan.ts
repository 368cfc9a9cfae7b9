// svscan's loop: every subdirectory of the current directory (dot-names
// excepted) is a Unit; rescanned every 5 seconds and on demand. A directory
// that disappears has its service stopped and is then forgotten.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { Unit } from './unit';

const RESCAN_MS = 5000;

interface Entry { unit: Unit; ino: number; stopping: boolean }

export class Scanner {
  private units = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private shuttingDown = false;

  constructor(private say: (line: string) => void, private finished: () => void) {}

  scan(): void {
    if (this.shuttingDown) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.scan(), RESCAN_MS);
    let names: string[];
    try {
      names = fs.readdirSync('.');
    } catch (e) {
      this.say(`svscan: warning: unable to read directory: ${errstr(e)}`);
      return;
    }
    const seen = new Set<string>();
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
      const known = this.units.get(name);
      if (known && known.ino === st.ino) { seen.add(name); continue; }
      if (known) continue; // replaced: the old one is stopped below, the new taken next scan
      seen.add(name);
      const unit = new Unit(name, path.resolve(name), this.say, (u) => this.gone(name, u));
      if (unit.open()) this.units.set(name, { unit, ino: st.ino, stopping: false });
    }
    for (const [name, e] of this.units) {
      if (seen.has(name) || e.stopping) continue;
      e.stopping = true;
      e.unit.stop(true);
    }
  }

  private gone(name: string, u: Unit): void {
    if (this.units.get(name)?.unit === u) this.units.delete(name);
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
