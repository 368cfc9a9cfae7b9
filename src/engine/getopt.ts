// getopt(3)'s complaints, worded as djb's sgetopt prints them, from commander's errors.
export function getoptComplaint(prog: string, e: unknown): string | undefined {
  const err = e as { code?: string; message?: string };
  const ch = /'-([^'])/.exec(err.message ?? '')?.[1];
  if (err.code === 'commander.unknownOption' && ch) return `${prog}: illegal option -- ${ch}`;
  if (err.code === 'commander.optionMissingArgument' && ch) return `${prog}: option requires an argument -- ${ch}`;
  return undefined;
}
