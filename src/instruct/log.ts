// The part of tcpsvd's -v connection line that names the instruction entry:
// " ip/127.0.0.1" for -i ip, " peers.cdb/0" for -x peers.cdb, and at -vv the
// instructions after ": ". Worded and sanitised byte for byte as ipsvd does,
// since admins parse these lines.
import type { Decision } from '../decide/decision';

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

// ipsvd's outfix: at most 100 bytes, blanks, controls, ':' and non-ASCII as '?'.
export function outfix(s: string): string {
  const b = Buffer.from(s, 'utf8');
  let out = '';
  for (let i = 0; i < b.length && i < 100; i++) {
    const c = b[i];
    out += c < 33 || c > 126 || c === 0x3a ? '?' : String.fromCharCode(c);
  }
  return b.length >= 100 ? `${out}...(truncate)` : out;
}

// ipsvd's outinst: trailing NULs dropped, at most 140 bytes, NUL as ',',
// controls and non-ASCII as '?'.
export function outinst(s: string): string {
  const b = Buffer.from(s.replace(/\0+$/, ''), 'utf8');
  let out = '';
  for (let i = 0; i < b.length && i < 140; i++) {
    const c = b[i];
    out += c === 0 ? ',' : c < 32 || c > 126 ? '?' : String.fromCharCode(c);
  }
  return b.length >= 140 ? `${out}...(truncate)` : out;
}
