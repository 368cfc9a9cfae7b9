// ipsvd-cdb cdb cdb.tmp dir: compile an instructions directory for tcpsvd -x.
// Written to cdb.tmp, synced, then renamed over cdb: a reader sees the old
// database or the new one, never half of one; on any failure cdb is untouched.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CdbWriter } from '../cdb/writer';
import { compileCwd } from '../instruct/compile';
import { errstr } from '../instruct/errstr';
import { errstr as djbErrstr } from '../multilog/errstr';
import { isOutOfMemory } from '../stdio';

const PROG = 'ipsvd-cdb';

class Fatal extends Error {}

// ipsvd's words for errno, and djb's for the few ipsvd's table here lacks
// (a socket in the directory: "device not configured").
function why(e: unknown): string {
  const w = errstr(e);
  if (w !== (e instanceof Error ? e.message : String(e))) return w;
  const d = djbErrstr(e);
  return d === 'unknown error' ? w : d;
}

function fatal(what: string, e: unknown): never {
  throw new Fatal(`${what}: ${why(e)}`);
}

export function main(argv: string[]): void {
  if (argv.length < 3) {
    // The original prints a blank line after its usage line; so do we.
    process.stderr.write(`usage: ${PROG} cdb cdb.tmp dir\n\n`);
    process.exit(111);
  }
  const [cdbfn, tmpfn, dir] = argv;
  // Both files are named relative to where we started, not to dir.
  const cdbAbs = path.resolve(cdbfn);
  const tmpAbs = path.resolve(tmpfn);
  const warn = (msg: string) => { process.stderr.write(`${PROG}: warning: ${msg}\n`); };
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
    process.stderr.write(`${PROG}: fatal: ${e instanceof Fatal ? e.message : 'out of memory.'}\n`);
    process.exit(111);
  }
  process.exit(0);
}
