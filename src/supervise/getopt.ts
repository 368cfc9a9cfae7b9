// POSIX getopt as djb's sgetopt parses it: clusters (-du), "--" ends options,
// a lone "-" or any non-option word ends them. A letter followed by ":" in
// the option string takes an argument, glued (-w5) or the next word (-w 5).
export interface Parsed {
  flags: string[];
  /** The argument of each option that takes one, by letter (the last given wins). */
  args: Record<string, string>;
  rest: string[];
  /** The first character not in the option string, if any. */
  bad?: string;
  /** An option that takes an argument came last, without it. */
  missing?: string;
}

export function getopt(argv: string[], optstring: string): Parsed {
  const flags: string[] = [];
  const args: Record<string, string> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { i++; break; }
    if (a.length < 2 || a[0] !== '-') break;
    for (let j = 1; j < a.length; j++) {
      const ch = a[j];
      const at = ch === ':' ? -1 : optstring.indexOf(ch);
      if (at < 0) return { flags, args, rest: argv.slice(i + 1), bad: ch };
      if (optstring[at + 1] !== ':') {
        flags.push(ch);
        continue;
      }
      let arg: string;
      if (j + 1 < a.length) arg = a.slice(j + 1);
      else if (i + 1 < argv.length) arg = argv[++i];
      else return { flags, args, rest: [], missing: ch };
      flags.push(ch);
      args[ch] = arg;
      break;
    }
  }
  return { flags, args, rest: argv.slice(i) };
}
