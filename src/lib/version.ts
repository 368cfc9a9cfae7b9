// The version line our commands print for -V where the original prints its
// own source id ("$Id: ... $"): the same form, naming this implementation and
// its version, never the original's id.
export function versionLine(prog: string): string {
  const { version } = require('../../../package.json') as { version: string };
  return `$Id: ucspi-node ${prog} ${version} $`;
}
