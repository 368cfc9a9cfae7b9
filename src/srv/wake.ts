// A scanner looks for new service directories every five seconds; after a
// link is added it can be asked to look at once with SIGALRM, but only one
// that catches that signal: our svscan and s6-svscan rescan on it, while
// daemontools' svscan and runit's runsvdir leave it at its default action,
// which ends the process. So the scanners of a directory are found in /proc
// (a svscan, runsvdir or s6-svscan, under Node or not, whose working
// directory is the scan directory: each works from there) and ALRM goes
// only to those whose caught-signal mask (SigCgt in /proc/PID/status)
// holds it. The others find the link at their next scan.
import * as fs from 'node:fs';
import * as path from 'node:path';

const SCANNERS = new Set(['svscan', 'runsvdir', 's6-svscan']);
const SIGALRM = 14;

/** The command a process runs: argv[0]'s last component, or the script's for node. */
function commandOf(pid: string): string | null {
  let argv: string[];
  try { argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0'); } catch { return null; }
  let name = path.basename(argv[0] ?? '');
  if (/^node(js)?(\d+)?$/.test(name) && argv[1] !== undefined) name = path.basename(argv[1]);
  return name;
}

/** Whether the process catches sig (1 to 31: has a handler, so it is not ended by it). */
export function catches(pid: number | string, sig: number): boolean {
  try {
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    // The mask in hex, bit sig-1 for sig: the low 32 bits are the last 8 digits.
    return m !== null && ((parseInt(m[1].slice(-8), 16) >>> (sig - 1)) & 1) === 1;
  } catch {
    return false;
  }
}

/** The scanners working in dir, and which of them were sent ALRM. */
export function wakeScanners(dir: string): { found: number[]; woken: number[] } {
  const found: number[] = [];
  const woken: number[] = [];
  let real: string;
  try { real = fs.realpathSync(dir); } catch { return { found, woken }; }
  let pids: string[];
  try { pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { return { found, woken }; }
  for (const p of pids) {
    let cwd: string;
    try { cwd = fs.readlinkSync(`/proc/${p}/cwd`); } catch { continue; }
    if (cwd !== real) continue;
    const name = commandOf(p);
    if (name === null || !SCANNERS.has(name)) continue;
    found.push(Number(p));
    if (!catches(p, SIGALRM)) continue;
    try {
      process.kill(Number(p), 'SIGALRM');
      woken.push(Number(p));
    } catch { /* gone, or not ours to signal: it scans in five seconds */ }
  }
  return { found, woken };
}
