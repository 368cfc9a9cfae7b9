// multilog's patterns: a star matches up to (not including) the first
// occurrence of the character after it, or everything when it ends the
// pattern; any other character matches itself. No backtracking, so
// "*a*b" behaves differently from a shell glob on purpose.
const STAR = 0x2a;

/** Does the pattern match line[start, start + len)? */
export function match(pattern: Buffer, line: Buffer, len: number, start = 0): boolean {
  const end = start + len;
  const plen = pattern.length;
  let p = 0;
  let i = start;
  for (;;) {
    if (p === plen) return i === end;
    const ch = pattern[p++];
    if (ch === STAR) {
      if (p === plen) return true;
      const next = pattern[p];
      for (;;) {
        if (i === end) return false;
        if (line[i] === next) break;
        i++;
      }
      continue;
    }
    if (i === end || line[i] !== ch) return false;
    i++;
  }
}
