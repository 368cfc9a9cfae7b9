// tcprulescheck's report: which rule tcpserver would apply to the client in
// $TCPREMOTEIP (0.0.0.0 when unset, as in 0.88), $TCPREMOTEHOST and
// $TCPREMOTEINFO, and what it does, in the original's words.
import { Cdb, CdbError } from '../cdb/reader';
import { errstr } from '../lib/errstr';
import { cdbFind, lookupRule } from './lookup';

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
      const m = lookupRule(cdbFind(cdb), { ip: env.TCPREMOTEIP ?? '0.0.0.0', host: env.TCPREMOTEHOST, info: env.TCPREMOTEINFO });
      const out = m ? describe(Buffer.from(m.name, 'latin1'), m.value) : [Buffer.from('default:\nallow connection\n')];
      return { code: 0, stdout: Buffer.concat(out), stderr: '' };
    } finally {
      cdb.close();
    }
  } catch (e) {
    // A damaged file is what djb's cdb calls a protocol error.
    return failure(file, e instanceof CdbError ? 'protocol error' : errstr(e));
  }
}

function failure(file: string, why: string): CheckResult {
  return { code: 111, stdout: Buffer.alloc(0), stderr: `tcprulescheck: fatal: unable to read ${file}: ${why}\n` };
}

// The instructions in order, stopping at a deny as the original does.
function describe(name: Buffer, value: Buffer): Buffer[] {
  const out = [Buffer.from('rule '), name, Buffer.from(':\n')];
  let at = 0;
  for (let nul = value.indexOf(0, at); nul >= 0; at = nul + 1, nul = value.indexOf(0, at)) {
    if (value[at] === 0x44) {
      out.push(Buffer.from('deny connection\n'));
      return out;
    }
    if (value[at] === 0x2b) out.push(Buffer.from('set environment variable '), value.subarray(at + 1, nul), Buffer.from('\n'));
  }
  out.push(Buffer.from('allow connection\n'));
  return out;
}
