// Options as the originals read them (djb's sgetopt, POSIX getopt): an
// optstring of letters, ':' after a letter that takes a value; bundles
// (-vvx), values attached (-c5) or next (-c 5); "--" ends the options and
// is dropped, and so does any word starting with "--" when the command has
// no long options, as sgetopt reads it; "-" alone or the first word that is
// no option ends them and is kept, with everything after it untouched (prog
// and its own options).
// A bad option is complained about in sgetopt's words, then the command's
// usage and exit code.
import { writeLine } from './strerr';

export class BadOption extends Error {
  constructor(readonly kind: 'illegal' | 'missing', readonly letter: string) {
    super(kind === 'illegal' ? `illegal option -- ${letter}` : `option requires an argument -- ${letter}`);
  }
}

/**
 * Long options, for what the originals do not have (every one opt-in):
 * name → true when it takes a value ("--name=value" or "--name value").
 * A command that declares none reads "--x" exactly as sgetopt does: the end
 * of the options, dropped. An unknown long name, or one without its value,
 * is a BadOption whose letter is "-name" (exit LONG_VALUE_CODE).
 */
export type LongOptions = Readonly<Record<string, boolean>>;

/**
 * Calls each(letter, value) option by option, in order (so a command stops
 * at the first option it rejects, as the originals do), and returns the
 * words after the options. BadOption is thrown when the parse reaches a bad one.
 */
export function getopt(argv: readonly string[], optstring: string,
                       each: (letter: string, value: string | undefined) => void,
                       longs?: LongOptions): string[] {
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || (!longs && a.startsWith('--'))) { i++; break; }
    if (a.length < 2 || a[0] !== '-') break;
    if (longs && a[1] === '-') {
      // each() gets the long name itself (never one letter: names are 2+ long).
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      if (name.length < 2 || !Object.hasOwn(longs, name)) throw new BadOption('illegal', '-' + name);
      if (!longs[name]) {
        if (eq >= 0) throw new BadOption('illegal', '-' + a.slice(2));
        each(name, undefined);
      } else if (eq >= 0) {
        each(name, a.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new BadOption('missing', '-' + name);
        each(name, argv[++i]);
      }
      continue;
    }
    for (let k = 1; k < a.length; k++) {
      const ch = a[k];
      const at = ch === ':' ? -1 : optstring.indexOf(ch);
      if (at < 0) throw new BadOption('illegal', ch);
      if (optstring[at + 1] !== ':') { each(ch, undefined); continue; }
      if (k + 1 < a.length) {
        each(ch, a.slice(k + 1));
      } else {
        if (i + 1 >= argv.length) throw new BadOption('missing', ch);
        each(ch, argv[++i]);
      }
      break;
    }
  }
  return argv.slice(i);
}

/**
 * Arguments the command rejects after getopt; line: printed before the usage;
 * code: the exit code when it is not the usage's (a bad value of one of our
 * long options exits 100, LONG_VALUE_CODE, even where the original's usage exits 111).
 */
export class UsageError extends Error {
  constructor(readonly line?: string, readonly code?: number) {
    super('usage');
  }
}

/** --help or --version (ours): text for standard output, then exit 0. */
export class InfoWanted extends Error {
  constructor(readonly text: string) {
    super('info');
  }
}

/**
 * The exit code of a bad value given to one of our long options (or an
 * unknown long option, or one without its value), whatever the command's usage code.
 */
export const LONG_VALUE_CODE = 100;

/** prog's complaint about a bad value of --name, exiting LONG_VALUE_CODE: "prog: bad --name value: "v": want ...". */
export function badLongValue(prog: string, name: string, v: string, want: string): UsageError {
  return new UsageError(`${prog}: bad --${name} value: ${JSON.stringify(v)}: want ${want}`, LONG_VALUE_CODE);
}

/** An option's decimal value (digits only), or UsageError. */
export function decimalArg(s: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError();
  return Number(s);
}

/** A command's usage: its line(s) as the original prints them, and its exit code. */
export interface Usage {
  prog: string;
  text: string;
  code: number;
}

/**
 * For BadOption or UsageError: the complaint (if any), then the usage, then
 * exit; InfoWanted: its text on standard output, exit 0; anything else is thrown on.
 */
export function usage(u: Usage, e?: unknown): never {
  if (e instanceof InfoWanted) {
    writeLine(e.text, 1);
    process.exit(0);
  }
  if (e instanceof BadOption) writeLine(`${u.prog}: ${e.message}`);
  else if (e instanceof UsageError) { if (e.line !== undefined) writeLine(e.line); }
  else if (e !== undefined) throw e;
  writeLine(u.text);
  const long = e instanceof BadOption && e.letter.length > 1;
  process.exit(long ? LONG_VALUE_CODE : e instanceof UsageError && e.code !== undefined ? e.code : u.code);
}

/** parse(), or the usage (and exit) when it throws BadOption or UsageError; InfoWanted's text, exit 0. */
export function orUsage<T>(u: Usage, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    return usage(u, e);
  }
}

/** The UCSPI servers' "host port prog...", or UsageError when prog is missing. */
export function hostPortProg(rest: string[]): { host: string; port: string; prog: string[] } {
  const [host, port, ...prog] = rest;
  if (prog.length === 0) throw new UsageError();
  return { host, port, prog };
}
