// POSIX getopt for flag-only option strings, as djb's sgetopt parses them:
// clusters (-du), "--" ends options, a lone "-" or any non-option word ends them.
export interface Parsed {
  flags: string[];
  rest: string[];
  /** The first character not in the option string, if any. */
  bad?: string;
}

export function getopt(argv: string[], optstring: string): Parsed {
  const flags: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { i++; break; }
    if (a.length < 2 || a[0] !== '-') break;
    for (const ch of a.slice(1)) {
      if (!optstring.includes(ch)) return { flags, rest: argv.slice(i + 1), bad: ch };
      flags.push(ch);
    }
  }
  return { flags, rest: argv.slice(i) };
}
