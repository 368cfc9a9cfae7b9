// What every test file shares: where the project is, bounded waits, the
// reference tools (found on PATH, or the test skips naming the packages), and
// processes started in their own process group and killed when the test
// process ends, however it ends (teardown, failure, tap's timeout signal).
import { type ChildProcess, type SpawnOptions, spawn as rawSpawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onExit } from 'signal-exit';
import tap from 'tap';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin');

/** Our command `name` (bin/name). */
export const ours = (name: string) => path.join(BIN, name);

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls pred every 20 ms until it gives a truthy value; rejects after ms naming what it waited for. */
export async function waitFor<V>(what: string, pred: () => V | undefined | null | false, ms = 15_000): Promise<V> {
  const end = Date.now() + ms;
  for (;;) {
    let v: V | undefined | null | false;
    try { v = pred(); } catch { v = undefined; }
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The first executable called name on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Every descendant of pid, children first (from /proc's children lists). */
export function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

/** pid's command line, arguments split ([] when gone). */
export function argvOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').slice(0, -1);
  } catch {
    return [];
  }
}

/** Whether pid exists and is not a zombie. */
export function running(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^\S+ \(.*\) [ZX]/.test(st);
  } catch {
    return false;
  }
}

// ---- reference tools -------------------------------------------------------

/** The Debian packages that hold every reference tool the differential tests run. */
export const REFERENCE_PACKAGES = 'ucspi-tcp ipsvd daemontools runit tinycdb';

/** Set by .ci/run: a missing reference tool fails the run instead of skipping. */
export const REFERENCE_REQUIRED = process.env.UCSPI_REQUIRE_REFERENCE === '1';

function isOurs(file: string): boolean {
  // A PATH with our bin/ (or an installed copy of this package) on it must not
  // make us compare against ourselves: our commands are node scripts.
  let real: string;
  try { real = fs.realpathSync(file); } catch { return false; }
  if (real.startsWith(ROOT + path.sep)) return true;
  try {
    const fd = fs.openSync(real, 'r');
    const head = Buffer.alloc(128);
    const n = fs.readSync(fd, head, 0, 128, 0);
    fs.closeSync(fd);
    const first = head.subarray(0, n).toString('latin1').split('\n')[0];
    return first.startsWith('#!') && /\bnode\b/.test(first);
  } catch {
    return false;
  }
}

const found = new Map<string, string | undefined>();

/** The reference tool `name` from PATH (an executable that is not ours), or undefined. */
export function findReference(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  let hit: string | undefined;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (!fs.statSync(file).isFile() || isOurs(file)) continue;
    } catch {
      continue;
    }
    hit = path.resolve(file);
    break;
  }
  found.set(name, hit);
  return hit;
}

/** The path of reference tool `name`; call only inside a test guarded by needReference. */
export function reference(name: string): string {
  const p = findReference(name);
  if (!p) throw new Error(`reference ${name} not found on PATH (apt-get install ${REFERENCE_PACKAGES})`);
  return p;
}

const reported = new Set<string>();

/**
 * Options for t.test when it runs reference tools: { skip: false } when all
 * are on PATH; otherwise a skip naming what is missing and the packages that
 * hold it, and under UCSPI_REQUIRE_REFERENCE=1 a failure as well.
 */
export function needReference(...names: string[]): { skip: string | false } {
  const missing = names.filter((n) => !findReference(n));
  if (missing.length === 0) return { skip: false };
  const why = `reference ${missing.join(', ')} not on PATH: apt-get install ${REFERENCE_PACKAGES}`;
  if (REFERENCE_REQUIRED && !reported.has(why)) {
    reported.add(why);
    tap.fail(`${why} (UCSPI_REQUIRE_REFERENCE=1: a missing reference is a failure)`);
  }
  return { skip: why };
}

/**
 * A Debian package that some tests run beside ours (haproxy, systemd, openrc,
 * openbsd-inetd, tcpd): false when present, else the reason to skip; under
 * UCSPI_REQUIRE_REFERENCE=1 its absence is a failure, as for the references.
 */
export function needPackage(pkg: string, present: boolean, what: string = pkg): string | false {
  if (present) return false;
  const why = `${what} not installed: apt-get install ${pkg}`;
  if (REFERENCE_REQUIRED && !reported.has(why)) {
    reported.add(why);
    tap.fail(`${why} (UCSPI_REQUIRE_REFERENCE=1: a missing reference is a failure)`);
  }
  return why;
}

// ---- processes -------------------------------------------------------------

const groups = new Set<number>();

// A test process killed with SIGKILL (tap's last resort when a file overruns
// its timeout and does not end on SIGALRM in time, as on a loaded machine)
// runs no handler: a watchdog shell waits for it to vanish, then kills the
// groups listed in a file kept up to date here.
let watchdog: { pid: number; list: string } | undefined;

const dirs = new Set<string>();

function writeGroups(): void {
  if (!watchdog) return;
  try {
    const lines = [...[...groups].map((g) => `g ${g}`), ...[...dirs].map((d) => `d ${d}`)];
    fs.writeFileSync(`${watchdog.list}.new`, lines.join('\n') + '\n');
    fs.renameSync(`${watchdog.list}.new`, watchdog.list);
  } catch { /* the watchdog keeps the last list */ }
}

function startWatchdog(): void {
  if (watchdog) return;
  const list = path.join(os.tmpdir(), `ucspi-test-groups.${process.pid}`);
  // Lines "g PGID" (a process group) and "d DIR" (every process whose current
  // directory is DIR or below: services a supervisor put in their own groups).
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 0.2; done; ' +
    'while read -r k v; do case $k in g) kill -KILL -"$v" 2>/dev/null;; d) for p in /proc/[0-9]*; do ' +
    'c=$(readlink "$p/cwd" 2>/dev/null) && case $c in "$v"|"$v"/*) kill -KILL "${p#/proc/}" 2>/dev/null;; esac; ' +
    'done;; esac; done < "$2"; rm -f "$2" "$2.new"';
  const w = rawSpawn('/bin/sh', ['-c', script, 'watchdog', String(process.pid), list], { detached: true, stdio: 'ignore' });
  w.unref();
  if (w.pid !== undefined) watchdog = { pid: w.pid, list };
}

function killGroups(): void {
  for (const pgid of groups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
  }
  groups.clear();
  if (watchdog) {
    try { process.kill(watchdog.pid, 'SIGKILL'); } catch { /* gone */ }
    fs.rmSync(watchdog.list, { force: true });
    fs.rmSync(`${watchdog.list}.new`, { force: true });
    watchdog = undefined;
  }
}
// Runs on normal exit and on the signals that end the process (SIGALRM is how
// tap ends a test file that overran its timeout; SIGTERM, SIGINT, SIGHUP).
onExit(() => { killGroups(); });

/** Whether any process is still in process group pgid. */
function groupAlive(pgid: number): boolean {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'latin1');
      // Fields after the command name: state ppid pgrp ...
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z') return true;
    } catch { /* gone */ }
  }
  return false;
}

/**
 * Processes whose current directory is dir or below are killed by the
 * watchdog if this test process dies without its teardowns (svdir's tmp
 * kills them itself otherwise).
 */
export function watchDir(dir: string): void {
  startWatchdog();
  dirs.add(dir);
  writeGroups();
}

/**
 * A scratch directory for this test file, removed at its end, handing out a
 * fresh subdirectory per call (tag names it, a counter keeps them apart).
 */
export function scratch(prefix: string): (tag: string) => string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix + '-'));
  tap.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let serial = 0;
  return (tag) => {
    const d = path.join(dir, `${tag}-${serial++}`);
    fs.mkdirSync(d);
    return d;
  };
}

/** Kills pid's process group at once (SIGKILL), and forgets it. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try { process.kill(-pid, signal); } catch { /* gone */ }
  if (signal === 'SIGKILL' && groups.delete(pid)) writeGroups();
}

/**
 * child_process.spawn in a new process group (detached), remembered: the
 * whole group is killed with SIGKILL when this test process ends, so nothing
 * it started (nor their children) outlives it even when a test fails or tap
 * kills the file for a timeout.
 */
export function spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  startWatchdog();
  const proc = rawSpawn(cmd, args, { ...opts, detached: true });
  if (proc.pid !== undefined) {
    const pid = proc.pid;
    groups.add(pid);
    writeGroups();
    // Once the leader is gone, forget the group when nothing is left in it, so
    // that a later process reusing the number is never killed.
    proc.once('exit', () => {
      if (!groupAlive(pid)) {
        groups.delete(pid);
        writeGroups();
      }
    });
  }
  return proc;
}

/** True when running as root. */
export const isRoot = process.getuid?.() === 0;

/** Test options for a test that changes user and group: skipped unless root. */
export function asRoot(opts: { skip?: string | false } = {}): { skip: string | false } {
  return { skip: isRoot ? (opts.skip ?? false) : 'needs root (it switches to uid and gid 65534)' };
}
