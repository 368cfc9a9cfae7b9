// The signals that were ignored when the command started (nohup, a shell's
// background job, an administrator's trap '' ...). bin/ recorded them before
// Node set them back to the default, and scripts/banner.js ignored them
// again (process.ucspiIgnored). The originals' children inherit an ignored
// signal unless the original catches it (a caught one is the default again
// after exec); native/launch.cc keeps them so. A child started through
// child_process does not: libuv sets every signal back to the default in
// it. keepIgnored() starts it through sh, which ignores them again first.
import { constants } from 'node:os';

type Dropper = ((...a: unknown[]) => void) & { ucspiDrop?: true; ucspiAddition?: true };

/** Signal numbers ignored at start (none where bin/ did not record them). */
export function ignoredAtStart(): number[] {
  return (process as { ucspiIgnored?: number[] }).ucspiIgnored ?? [];
}

const NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/**
 * Whether the command catches sig as the original does (a listener of its
 * own, not the banner's dropper nor an addition of ours).
 */
function caught(sig: number): boolean {
  const name = NAMES.get(sig);
  if (!name) return false;
  return process.listeners(name).some((f) => !(f as Dropper).ucspiDrop && !(f as Dropper).ucspiAddition);
}

/**
 * Catches sig where the original does not (svscan's HUP, runsvdir's ALRM
 * ...): a signal ignored at start then stays ignored in the children, as
 * the original's children inherit it.
 */
export function onAddition(sig: NodeJS.Signals, handler: () => void): void {
  const f: Dropper = () => handler();
  f.ucspiAddition = true;
  process.on(sig, f);
}

/**
 * The signals a child must find ignored: those ignored at start, but for
 * SIGPIPE (Node's own, the default again in the originals' children) and
 * those the command now catches; sh's trap takes 1 to 31.
 */
export function ignoredForChildren(): number[] {
  return ignoredAtStart().filter((sig) => sig < 32 && sig !== constants.signals.SIGPIPE && !caught(sig));
}

/**
 * [file, args] for child_process.spawn: as they are, or, when a signal must
 * stay ignored, /bin/sh ignoring it and then becoming file with args (the
 * same process; argv[0] is then file). env: the environment the spawn
 * gives; sh adds PWD to it (or corrects it), so PWD is put back as env has
 * it, or unset.
 */
export function keepIgnored(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): [string, string[]] {
  const sigs = ignoredForChildren();
  if (!sigs.length) return [file, [...args]];
  const pwd = env === undefined ? '' : env.PWD === undefined ? 'unset PWD; ' : `PWD='${env.PWD.replaceAll("'", "'\\''")}'; `;
  return ['/bin/sh', ['-c', `trap '' ${sigs.join(' ')}; ${pwd}exec "$0" "$@"`, file, ...args]];
}

/**
 * keepIgnored for a spawn that names argv[0] apart: { file, args, argv0 }
 * to spread into the call (argv0 as asked when nothing must stay ignored;
 * through sh, the program's argv[0] is file).
 */
export function keepIgnoredAs(file: string, args: readonly string[], argv0?: string,
                              env?: NodeJS.ProcessEnv): { file: string; args: string[]; argv0?: string } {
  const [f, a] = keepIgnored(file, args, env);
  return f === file ? { file, args: a, argv0 } : { file: f, args: a };
}
