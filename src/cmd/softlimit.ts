// softlimit [-a -c -d -f -l -m -o -p -r -s -t n|=] child: run child with
// soft resource limits, as daemontools 0.76's softlimit. Each option is
// applied as it is read; a value above the hard limit, or "=", is the hard
// limit.
import { getopt, orUsage, UsageError } from '../lib/getopt';
import { die } from '../lib/strerr';
import { LimitError, limitArg, Resource, softLimit } from '../chain/limits';
import { execProg } from '../chain/exec';

const P = 'softlimit';
const USAGE = {
  prog: P, code: 100,
  text: `${P}: usage: ${P} [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child`,
};

// -m is every memory limit at once, as in the original.
const RESOURCES: Record<string, Resource[]> = {
  a: ['as'], c: ['core'], d: ['data'], f: ['fsize'], l: ['memlock'],
  m: ['data', 'stack', 'memlock', 'as'], o: ['nofile'], p: ['nproc'], r: ['rss'], s: ['stack'], t: ['cpu'],
};

export function main(argv: string[]): void {
  const child = orUsage(USAGE, () => getopt(argv, 'a:c:d:f:l:m:o:p:r:s:t:', (letter, value) => {
    const v = value === '=' ? 'max' : limitArg(value!);
    if (v === undefined) throw new UsageError();
    for (const res of RESOURCES[letter]) {
      try {
        softLimit(res, v);
      } catch (e) {
        if (!(e instanceof LimitError)) throw e;
        die(P, `${e.step} failed`, e.cause);
      }
    }
  }));
  if (child.length === 0) orUsage(USAGE, () => { throw new UsageError(); });
  execProg({ tool: P, file: child[0], argv: child, env: process.env, fail: (e) => die(P, `unable to run ${child[0]}`, e) });
}
