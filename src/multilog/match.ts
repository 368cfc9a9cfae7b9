// multilog's patterns: a star matches up to (not including) the first
// occurrence of the character after it, or everything when it ends the
// pattern; any other character matches itself. No backtracking, so
// "*a*b" behaves differently from a shell glob on purpose.
const STAR = 0x2a;

export function match(pattern: Buffer, line: Buffer, len: number): boolean {
  let p = 0;
  let i = 0;
  for (;;) {
    if (p === pattern.length) return i === len;
    const ch = pattern[p++];
    if (ch === STAR) {
      if (p === pattern.length) return true;
      const next = pattern[p];
      for (;;) {
        if (i === len) return false;
        if (line[i] === next) break;
        i++;
      }
      continue;
    }
    if (i === len || line[i] !== ch) return false;
    i++;
  }
}
