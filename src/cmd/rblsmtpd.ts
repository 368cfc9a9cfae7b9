// rblsmtpd [ -bBcC ] [ -t timeout ] [ -r base ] [ -a base ] smtpd [ arg ... ]:
// ucspi-tcp 0.88's (Debian's). Decides from $RBLSMTPD or the RBLs whether to
// block the client ($TCPREMOTEIP); a blocked one gets the 451/553 dialogue
// (rbl/dialogue.ts) and a log line on stderr, any other runs smtpd.
import { writeSync } from 'node:fs';
import { getopt, orUsage, UsageError } from '../lib/getopt';
import { die } from '../lib/strerr';
import { execProg } from '../chain/exec';
import { bytesOf, decide, type Lookup } from '../rbl/listed';
import { blockMessage, hold, logLine } from '../rbl/dialogue';

const P = 'rblsmtpd';
const USAGE = {
  prog: P, code: 100,
  text: `${P}: usage: ${P} [ -b ] [ -R ] [ -t timeout ] [ -r base ] [ -a base ] smtpd [ arg ... ]`,
};

/** djb's scan_ulong: the leading digits (none: 0), wrapping as an unsigned long does. */
function scanUlong(s: string): bigint {
  const m = /^[0-9]*/.exec(s)![0];
  return m === '' ? 0n : BigInt(m) % 2n ** 64n;
}

export async function main(argv: string[]): Promise<void> {
  const lookups: Lookup[] = [];
  let bounce = false, failClosed = false, timeout = 60n;
  const prog = orUsage(USAGE, () => {
    const r = getopt(argv, 'bBcCt:r:a:', (letter, v) => {
      if (letter === 'b') bounce = true;
      else if (letter === 'B') bounce = false;
      else if (letter === 'c') failClosed = true;
      else if (letter === 'C') failClosed = false;
      else if (letter === 't') timeout = scanUlong(v!);
      else lookups.push({ kind: letter === 'r' ? 'rbl' : 'anti', base: v!, bounce, failClosed });
    });
    if (r.length === 0) throw new UsageError();
    return r;
  });
  const env = process.env;
  const verdict = await decide(env.RBLSMTPD, env.TCPREMOTEIP ?? '', lookups);
  if (verdict.block) {
    const message = blockMessage(verdict.code, verdict.text);
    try { writeSync(2, Buffer.from(logLine(bytesOf(env.TCPREMOTEIP ?? ''), message), 'latin1')); } catch { /* stderr gone */ }
    hold(message, timeout);
    return;
  }
  execProg({ tool: P, file: prog[0], argv: prog, env, fail: (e) => die(P, `unable to run ${prog[0]}`, e) });
}
