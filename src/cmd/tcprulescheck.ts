// tcprulescheck cdb: say which rule tcpserver would apply to the client
// described by $TCPREMOTEIP, $TCPREMOTEHOST and $TCPREMOTEINFO, and what it does.
import { CdbError } from '../cdb/reader';
import { Cdb } from '../cdb/reader';
import { lookupRule } from '../rules/lookup';
import { errstr } from '../supervise/errstr';

export function main(argv: string[]): void {
  const file = argv[0];
  if (file === undefined) {
    process.stderr.write('tcprulescheck: usage: tcprulescheck rules.cdb\n');
    process.exit(100);
  }
  const env = process.env;
  let out: Buffer[];
  try {
    const cdb = Cdb.open(file);
    try {
      const m = lookupRule(cdb, { ip: env.TCPREMOTEIP ?? '0.0.0.0', host: env.TCPREMOTEHOST, info: env.TCPREMOTEINFO });
      out = m ? describe(Buffer.from(m.name), m.value) : [Buffer.from('default:\nallow connection\n')];
    } finally {
      cdb.close();
    }
  } catch (e) {
    // A damaged file is what djb's cdb calls a protocol error.
    const why = e instanceof CdbError ? 'protocol error' : errstr(e);
    process.stderr.write(`tcprulescheck: fatal: unable to read ${file}: ${why}\n`);
    process.exit(111);
  }
  process.stdout.write(Buffer.concat(out));
  process.exit(0);
}

// The original's words: the instructions in order, stopping at a deny.
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
