// fghack's work, as daemontools 0.76's: the child, which puts itself in the
// background, gets 31 extra descriptors on one pipe, which every process it
// forks inherits; fghack waits until all of them have closed it, then for
// the child, and exits with its status (111 "child crashed" when a signal
// killed it). The pipe is the addon's, at the numbers the original's would
// have; without the addon, Node's own pipe at 3.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { die } from '../lib/strerr';
import { addonPart } from '../native';
import { keepIgnoredAs } from '../lib/ignored';

const P = 'fghack';

/**
 * The file to run, found in $PATH as pathexec_run finds it. libuv loses the
 * exec error of a child given this many descriptors (the child just exits
 * 127), so a missing program is found here, before the spawn.
 */
function findProg(file: string): string {
  if (file.includes('/')) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
    } catch (e) {
      die(P, `unable to run ${file}`, e);
    }
    return file;
  }
  let saved: unknown;
  for (const d of (process.env.PATH ?? '/bin:/usr/bin').split(':')) {
    const full = `${d === '' ? '.' : d}/${file}`;
    try {
      fs.accessSync(full, fs.constants.X_OK);
      if (fs.statSync(full).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      return full;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') saved = e;
    }
  }
  return die(P, `unable to run ${file}`, saved ?? Object.assign(new Error('not found'), { code: 'ENOENT' }));
}

/** Runs argv (not empty) in the foreground until it and every process that inherited the pipe are done, then exits as it ended. */
export function foreground(argv: string[]): void {
  const sys = addonPart('sys');
  const exec = addonPart('exec');
  let r: number | undefined, w: number | undefined;
  let inherited = new Set<number>();
  if (sys && exec) {
    try {
      [r, w] = sys.pipe();
    } catch (e) {
      die(P, 'unable to create pipe', e);
    }
    inherited = new Set<number>(exec.inheritedFds());
  }
  // The child keeps what fghack inherited, at the same numbers, as after a
  // fork; the pipe takes the 31 lowest free numbers from 3 (the original's
  // own descriptor and its 30 copies). Without the addon: 0, 1, 2 and
  // Node's own pipe at 3.
  const stdio: any[] = ['inherit', 'inherit', 'inherit'];
  if (w === undefined) stdio.push('pipe');
  else {
    inherited.delete(w);
    for (const fd of inherited) if (fd > 2) stdio[fd] = fd;
    for (let fd = 3, n = 0; n < 31; fd++) {
      if (stdio[fd] !== undefined) continue;
      stdio[fd] = w;
      n++;
    }
    for (let fd = 0; fd < stdio.length; fd++) if (stdio[fd] === undefined) stdio[fd] = 'ignore';
  }
  let child;
  try {
    const k = keepIgnoredAs(findProg(argv[0]), argv.slice(1), argv[0]); // (lib/ignored.ts)
    child = spawn(k.file, k.args, { argv0: k.argv0, stdio });
  } catch (e) {
    die(P, `unable to run ${argv[0]}`, e);
  }
  if (w !== undefined) fs.closeSync(w);
  let exit: [number | null, NodeJS.Signals | null] | undefined, drained = false;
  const done = () => {
    if (!drained || exit === undefined) return;
    if (exit[1] !== null) die(P, 'child crashed');
    process.exit(exit[0] ?? 111);
  };
  child.on('error', (e) => die(P, `unable to run ${argv[0]}`, e));
  child.on('exit', (code, signal) => { exit = [code, signal]; done(); });
  const stream: NodeJS.EventEmitter = r !== undefined ? fs.createReadStream('', { fd: r }) : child.stdio[3]!;
  stream.on('data', () => {});
  stream.on('end', () => { drained = true; done(); });
  stream.on('error', () => { drained = true; done(); });
}
