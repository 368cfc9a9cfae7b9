// The part of tcpsvd's -v connection line that names the instruction entry:
// " ip/127.0.0.1" for -i ip, " peers.cdb/0" for -x peers.cdb, and at -vv the
// instructions after ": ". Worded and sanitised byte for byte as ipsvd does,
// since admins parse these lines.
import type { Decision } from '../decide/decision';
import type { MatchedEntry } from '../log/log';
import { outfix, outinst } from '../lib/safe';

/**
 * kind/path: the rule option; d: the decision (its matched, and inst when it
 * came from an instruction source); vv: tcpsvd -vv. The result follows the
 * client's address and port after one space.
 */
export function matchLog(kind: 'peers-dir' | 'peers-cdb', path: string, d: Decision & { inst?: string }, vv: boolean): string {
  // ipsvd keeps the matched entry as a path for -i (so it is sanitised whole),
  // as a key for -x (the database name is printed as given).
  let s = kind === 'peers-dir'
    ? (d.matched === undefined ? '' : outfix(`${path}/${d.matched}`))
    : `${path}/${outfix(d.matched ?? '')}`;
  if (vv && d.inst) s += `: ${outinst(d.inst)}`;
  return s;
}

/** The -i/-x source's wording of its matched entry, handed to the log (log/ knows no rule source). */
export function matchedEntry(rules: { kind: 'peers-dir' | 'peers-cdb'; path: string }): MatchedEntry {
  return (d, vv) => matchLog(rules.kind, rules.path, d, vv);
}
