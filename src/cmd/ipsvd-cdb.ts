// ipsvd-cdb cdb cdb.tmp dir: compile an instructions directory for tcpsvd -x.
// Written to cdb.tmp, synced, then renamed over cdb: a reader sees the old
// database or the new one, never half of one; on any failure cdb is untouched.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CdbWriter } from '../cdb/writer';
import { compileCwd } from '../instruct/compile';
import { errstr } from '../lib/errstr';
import { usage } from '../lib/getopt';
import { isOutOfMemory } from '../lib/nomem';
import { die, warn as strerrWarn } from '../lib/strerr';

const PROG = 'ipsvd-cdb';

class Fatal extends Error {}

function fatal(what: string, e: unknown): never {
  // lib/errstr has ipsvd's words, and djb's where ipsvd had none (a socket
  // in the directory: "device not configured").
  throw new Fatal(`${what}: ${errstr(e)}`);
}

export function main(argv: string[]): void {
  // The original prints a blank line after its usage line, and exits 111.
  if (argv.length < 3) usage({ prog: PROG, text: `usage: ${PROG} cdb cdb.tmp dir\n`, code: 111 });
  const [cdbfn, tmpfn, dir] = argv;
  // Both files are named relative to where we started, not to dir.
  const cdbAbs = path.resolve(cdbfn);
  const tmpAbs = path.resolve(tmpfn);
  const warn = (msg: string) => strerrWarn(PROG, msg);
  let w: CdbWriter | undefined;
  try {
    try { w = CdbWriter.create(tmpAbs); } catch (e) { fatal(`unable to create: ${tmpfn}`, e); }
    try { process.chdir(dir); } catch (e) { fatal(`unable to change dir: ${dir}`, e); }
    try {
      for (const c of compileCwd(warn)) {
        if ('skipped' in c) {
          warn(`${c.skipped === 'unstattable' ? 'unable to stat' : 'ignore'}: ${c.name.toString()}`);
          continue;
        }
        try { w.add(c.name, c.value); } catch (e) { fatal(`unable to add entry: ${dir}`, e); }
      }
    } catch (e) {
      if (e instanceof Fatal) throw e;
      const entry = (e as { entry?: string }).entry;
      if (entry === undefined) fatal(`unable to open dir: ${dir}`, e);
      fatal(`unable to read instruction: ${entry}`, e);
    }
    try { w.finish(); } catch (e) { fatal(`unable to write cdb: ${tmpfn}`, e); }
    try { fs.renameSync(tmpAbs, cdbAbs); } catch (e) { fatal(`unable to replace: ${cdbfn}`, e); }
  } catch (e) {
    if (!(e instanceof Fatal) && !isOutOfMemory(e)) throw e;
    // Unlike the original, leave no half-written cdb.tmp behind.
    w?.abort();
    // An entry too big to hold is reported with its name (see fatal above);
    // anything else that runs out of memory in the original's words.
    die(PROG, e instanceof Fatal ? e.message : 'out of memory.');
  }
  process.exit(0);
}
