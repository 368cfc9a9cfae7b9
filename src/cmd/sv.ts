// sv [-v] [-w sec] command service...: runit 2.1.2's sv. Writes control
// letters to supervise/control, reports supervise/status (the 20-byte layout:
// ours, runsv's), and with -v or an LSB command waits until the service is
// where it was asked to be, or -w seconds (7, or $SVWAIT) have passed.
// Called by any other name (an /etc/init.d/<name> link), it is that service's
// LSB init script: "<name> [-w sec] command", exit codes per LSB.
// Here: the command line; the work on the services is src/supervise/sv.ts.
import * as path from 'node:path';
import { Usage, getopt, orUsage, usage as lusage } from '../lib/getopt';
import { scanUlong } from '../lib/scan';
import { writeLine } from '../lib/strerr';
import { type Act, runSv } from '../supervise/sv';

/** The ident of runit 2.1.2's sv.c, which sv -V prints. */
const VERSION = '$Id: 900314260c6d52c986c5357673bea2f3bd3f4698 $';

export function main(argv: string[]): void {
  const progname = path.basename(process.argv[1] ?? 'sv');
  const lsb = progname !== 'sv';
  // The original's usage: the program as called, then an empty line.
  const u: Usage = {
    prog: progname,
    text: lsb ? `usage: ${progname} [-w sec] command\n` : `usage: ${progname} [-v] [-w sec] command service ...\n`,
    code: lsb ? 2 : 100,
  };
  const usage = (): never => lusage(u);
  const svdir = process.env.SVDIR ?? '/etc/service/';
  let wait = process.env.SVWAIT !== undefined ? scanUlong(process.env.SVWAIT)[0] : 7;
  let verbose = false;
  // Options take effect in order up to a bad one, as getopt hands them out.
  const rest = orUsage(u, () => getopt(argv, 'w:vV', (ch, value) => {
    if (ch === 'w') wait = scanUlong(value!)[0];
    if (ch === 'w' || ch === 'v') verbose = true;
    if (ch === 'V') { writeLine(VERSION); usage(); }
  }));
  if (!rest.length) usage();
  const action = rest[0];
  const services = lsb ? [progname] : rest.slice(1);
  if (!services.length) usage();

  let act: Act = 'control';
  let acts = 's';
  let kill = false;
  let waitFor = verbose;
  const sel = (a: string, opts: { kill?: boolean; wait?: boolean } = {}) => {
    acts = a;
    if (opts.kill) kill = true;
    if (opts.wait) waitFor = true;
  };
  const first = action[0] ?? '';
  if (first === 'x' || first === 'e') sel('x');
  else if (first === 'X' || first === 'E') sel('x', { kill: true, wait: true });
  else if (first === 'D') sel('d', { kill: true, wait: true });
  else if (first === 'T') sel('tc', { kill: true, wait: true });
  else if (action === 'try-restart') sel('tc', { wait: true });
  else if (action === 'check') { act = null; sel('C', { wait: true }); }
  else if ('tcudopahikq12'.includes(first) && first) sel(first);
  else if (first === 's') {
    if (action === 'shutdown') sel('x', { wait: true });
    else if (action === 'start') sel('u', { wait: true });
    else if (action === 'stop') sel('d', { wait: true });
    else if (lsb && action !== 'status') usage();
    else { act = 'status'; waitFor = false; }
  } else if (first === 'r') {
    if (action === 'restart') sel('tcu', { wait: true });
    else if (action === 'reload') sel('h', { wait: true });
    else usage();
  } else if (action === 'force-reload') sel('tc', { kill: true, wait: true });
  else if (action === 'force-restart') sel('tcu', { kill: true, wait: true });
  else if (action === 'force-shutdown') sel('x', { kill: true, wait: true });
  else if (action === 'force-stop') sel('d', { kill: true, wait: true });
  else usage();
  runSv({ lsb, act, acts, waitFor, wait, kill, services, svdir });
}
