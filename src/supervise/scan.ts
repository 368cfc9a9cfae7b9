// The scanners' loop (svscan's, runsvdir's): every subdirectory of the
// current directory is a Unit, rescanned every 5 seconds and on demand. The rules:
// - names starting with a dot are ignored: create .name, fill it, then
//   rename it to name, and it is taken up complete;
// - a directory is known by device and inode, so renaming it keeps its
//   service running (only the name in messages changes);
// - a directory that disappears has its service stopped (TERM, as runsvdir
//   does; djb's svscan leaves it running) and is then forgotten;
// - a directory is taken up only while the descriptors it needs fit under
//   the soft limit with room to spare for starting processes; one that does
//   not fit is named, and tried again at the next scan.
// As runsvdir (flavor runit), a unit is runit's runsv: it leaves after x, and
// a unit that left or could not start is tried again a second later.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { Flavor } from './service';
import { HandedUnit, Unit } from './unit';

const RESCAN_MS = 5000;
/** runsvdir: a runsv that ended (or could not start) is started again after a second. */
const RECHECK_MS = 1000;
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

/** The scanner's own warnings, in the words of the original it stands in for. */
export interface ScanVoice {
  readFailed(e: unknown): string;
  statFailed(name: string, e: unknown): string;
  /** Not started for want of descriptors. */
  refused(name: string, e: unknown): string;
}

export const svscanVoice: ScanVoice = {
  readFailed: (e) => `svscan: warning: unable to read directory: ${errstr(e)}`,
  statFailed: (name, e) => `svscan: warning: unable to stat ${name}: ${errstr(e)}`,
  refused: (name, e) => `svscan: warning: unable to start ${name}: ${errstr(e)}`,
};

/** runsvdir's words; dir is the directory as given. */
export function runsvdirVoice(dir: string): ScanVoice {
  const w = (m: string) => `runsvdir ${dir}: warning: ${m}`;
  return {
    // readdirSync fails where the original's opendir does.
    readFailed: (e) => w(`unable to open directory ${dir}: ${errstr(e)}`),
    statFailed: (name, e) => w(`unable to stat ${name}: ${errstr(e)}`),
    refused: (name, e) => w(`unable to start runsv ${name}: ${errstr(e)}`),
  };
}

export interface ScanOptions {
  /** daemontools (svscan, the default) or runit (runsvdir running runsv). */
  flavor?: Flavor;
  voice?: ScanVoice;
  /** The services' stderr: ours, or runsvdir's log pipe. */
  errFd?: 'inherit' | number;
}

export class Scanner {
  /** By "dev:ino". */
  private units = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private shuttingDown = false;
  private readonly flavor: Flavor;
  private readonly voice: ScanVoice;
  private readonly errFd: 'inherit' | number;

  constructor(private say: (line: string) => void, private finished: () => void, opts: ScanOptions = {}) {
    this.flavor = opts.flavor ?? 'daemontools';
    this.voice = opts.voice ?? svscanVoice;
    this.errFd = opts.errFd ?? 'inherit';
  }

  /** How many directories are supervised now (tests and the benchmark read it). */
  get size(): number {
    return this.units.size;
  }

  scan(): void {
    if (this.shuttingDown) return;
    this.rescanIn(RESCAN_MS);
    let names: string[];
    try {
      names = fs.readdirSync('.').sort();
    } catch (e) {
      this.say(this.voice.readFailed(e));
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
        this.say(this.voice.statFailed(name, e));
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
      try {
        used += this.take(key, list, used, limit);
      } catch (e) {
        // A bug or an unforeseen failure with one directory: the others go on.
        this.say(this.voice.refused(list[0], e));
      }
    }
    for (const [key, e] of this.units) {
      if (found.has(key) || e.stopping) continue;
      e.stopping = true;
      try { e.unit.stop(true); } catch { /* its services say what they can */ }
    }
  }

  /** One directory found by scan(): followed if known, else taken up if it fits. The descriptors it took. */
  private take(key: string, list: string[], used: number, limit: number): number {
    const known = this.units.get(key);
    if (known) {
      if (known.stopping) return 0;
      if (!list.includes(known.name)) {
        known.name = list[0];
        known.unit.moveTo(list[0], path.resolve(list[0]));
      }
      known.unit.revive();
      return 0;
    }
    const name = list[0];
    const dir = path.resolve(name);
    const need = Unit.need(dir);
    if (used + need > limit) {
      this.say(this.voice.refused(name, { code: 'EMFILE' }));
      return 0;
    }
    const unit = new Unit(name, dir, this.say, (u) => this.gone(key, u), this.flavor, this.errFd);
    if (unit.open()) {
      this.units.set(key, { unit, name, stopping: false });
      return need;
    }
    // runsvdir starts a runsv that exited again a second later.
    if (this.flavor === 'runit') this.rescanIn(RECHECK_MS);
    return 0;
  }

  private rescanIn(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.scan(), ms);
  }

  private gone(key: string, u: Unit): void {
    const e = this.units.get(key);
    if (e?.unit === u) this.units.delete(key);
    if (this.shuttingDown && this.units.size === 0) return this.finished();
    // A runsv that left after x, its directory still there: started again a second later.
    if (this.flavor === 'runit' && e && !e.stopping && !this.shuttingDown) this.rescanIn(RECHECK_MS);
  }

  /**
   * Stop scanning and hand every unit over (see keeper.ts): the services
   * stop acting until thaw(), when the keeper could not take them.
   */
  handOver(pass: (fd: number) => number): HandedUnit[] {
    this.shuttingDown = true;
    if (this.timer) clearTimeout(this.timer);
    const out: HandedUnit[] = [];
    for (const e of this.units.values()) {
      const h = e.unit.handOff(pass);
      if (h) out.push(h);
    }
    return out;
  }

  /** The keeper failed: supervise and scan on. */
  thaw(): void {
    this.shuttingDown = false;
    for (const e of this.units.values()) e.unit.thaw();
    this.scan();
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
