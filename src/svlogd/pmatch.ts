// svlogd's pattern language for + - e E lines: a byte matches itself, `*`
// skips up to the first occurrence of the byte that follows it (or matches
// the rest when it ends the pattern), and `+` followed by a byte matches one
// or more of that byte. Everything else is literal; the whole line must be
// consumed.
export function pmatch(p: Buffer, line: Buffer, start: number, len: number): boolean {
  let pi = 0;
  let s = start;
  const end = start + len;
  for (;;) {
    if (pi >= p.length) return s === end;
    const c = p[pi++];
    if (c === 0x2a) {
      // '*'
      if (pi >= p.length) return true;
      const want = p[pi];
      for (;;) {
        if (s === end) return false;
        if (line[s] === want) break;
        s++;
      }
      continue;
    }
    if (c === 0x2b) {
      // '+': the next byte, at least once. As in the original, a line used
      // up while repeating it is a match, whatever the pattern still holds.
      const want = pi < p.length ? p[pi++] : 0;
      if (s === end || line[s] !== want) return false;
      for (;;) {
        if (s === end) return true;
        if (line[s] !== want) break;
        s++;
      }
      continue;
    }
    if (s === end || line[s] !== c) return false;
    s++;
  }
}
