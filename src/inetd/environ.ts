// The environment openbsd-inetd gives its programs: its own, laundered
// unless -E (these prefixes removed, as Debian's inetd removes them), plus
// the inetd_dummy variable it sets to make room for setproctitle.
const JUNK = [
  'CVS', 'DISPLAY=', 'EDITOR=', 'GROUP=', 'HOME=', 'IFS=', 'LD_', 'LOGNAME=', 'MAIL=', 'PATH=',
  'PRINTER=', 'PWD=', 'SHELL=', 'SHLVL=', 'SSH', 'TERM', 'TMP', 'USER=', 'VISUAL=',
];

export function programEnv(env: NodeJS.ProcessEnv, keep: boolean): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    const kv = `${k}=${v}`;
    if (!keep && JUNK.some((j) => kv.startsWith(j))) continue;
    out[k] = v;
  }
  out.inetd_dummy = 'x'.repeat(99);
  return out;
}
