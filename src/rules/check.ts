// tcprulescheck's report: which rule tcpserver would apply to the client in
// $TCPREMOTEIP (0.0.0.0 when unset, as in 0.88), $TCPREMOTEHOST and
// $TCPREMOTEINFO, and what it does, in the original's words.
import { Cdb, CdbError } from '../cdb/reader';
import { errstr } from '../lib/errstr';
import { cdbFind, type Find, lookupRule } from './lookup';
import { tcp6OnlyNote, tcp6OnlyRule } from './keys';

export interface CheckResult {
  code: 0 | 111;
  stdout: Buffer;
  stderr: string;
}

export function checkRules(file: string, env: NodeJS.ProcessEnv): CheckResult {
  try {
    const cdb = Cdb.open(file);
    try {
      // The original maps the file, and mmap(2) refuses an empty one.
      if (cdb.size === 0) return failure(file, 'invalid argument');
      const peer = { ip: env.TCPREMOTEIP ?? '0.0.0.0', host: env.TCPREMOTEHOST, info: env.TCPREMOTEINFO };
      const m = lookupRule(finder(cdb, peer), peer);
      const out = m ? describe(Buffer.from(m.name, 'latin1'), m.value) : [Buffer.from('default:\nallow connection\n')];
      // Standard output stays the original's; a rule djb's tcpserver would skip is said on standard error.
      const note = m && tcp6OnlyRule(m.name) ? `tcprulescheck: note: ${tcp6OnlyNote(m.name)}\n` : '';
      return { code: 0, stdout: Buffer.concat(out), stderr: note };
    } finally {
      cdb.close();
    }
  } catch (e) {
    // A damaged file is what djb's cdb calls a protocol error.
    return failure(file, e instanceof CdbError ? 'protocol error' : errstr(e));
  }
}

// Past this, the address or name is long enough that trying each of its
// prefixes or suffixes (one per dot) and hashing it whole would cost the
// square of its length: only the keys of a length the file holds are looked
// up then, which one pass over the file's keys tells. Each such length is
// tried at most once, so the work is bounded by the file plus the input.
const LONG_INPUT = 1024;

function finder(cdb: Cdb, peer: { ip: string; host?: string; info?: string }): Find {
  const find = cdbFind(cdb);
  if (peer.ip.length + (peer.host?.length ?? 0) + (peer.info?.length ?? 0) <= LONG_INPUT) return find;
  const lengths = new Set<number>();
  try {
    cdb.forEachKey((_b, s, e) => { lengths.add(e - s); });
  } catch (e) {
    if (!(e instanceof CdbError)) throw e;
    return find; // damaged: the lookups report it as before
  }
  // Keys are byte strings, one char per byte: their length is the key's.
  return (key, shared) => (lengths.has(key.length) ? find(key, shared) : undefined);
}

function failure(file: string, why: string): CheckResult {
  return { code: 111, stdout: Buffer.alloc(0), stderr: `tcprulescheck: fatal: unable to read ${file}: ${why}\n` };
}

// The rule's name, then its instructions.
function describe(name: Buffer, value: Buffer): Buffer[] {
  const out = [Buffer.from('rule '), name, Buffer.from(':\n')];
  for (const line of ruleLines(value)) out.push(line, Buffer.from('\n'));
  return out;
}

/**
 * A rule's instructions in tcprulescheck's words, one line each (without
 * newline), in order, stopping at a deny as the original does. tcpexplain
 * shows a rule with these too.
 */
export function ruleLines(value: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let nul = value.indexOf(0, at); nul >= 0; at = nul + 1, nul = value.indexOf(0, at)) {
    if (value[at] === 0x44) {
      out.push(Buffer.from('deny connection'));
      return out;
    }
    if (value[at] === 0x2b) out.push(Buffer.concat([Buffer.from('set environment variable '), value.subarray(at + 1, nul)]));
  }
  out.push(Buffer.from('allow connection'));
  return out;
}
