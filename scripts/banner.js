// The first lines of every command's bundle (scripts/bundle.js puts them
// there), run before any module. bin/'s sh prelude moved every NODE_*, UV_*
// and OPENSSL_* variable aside as UCSPI_SAVED_<name> so that none of them
// could reach the command's own Node, and recorded the soft descriptor limit
// before Node raised it (UCSPI_NOFILE), and which of fds 0, 1, 2 were closed
// (UCSPI_CLOSED_FDS). Here: the variables go back, for the
// programs the command runs; the limit goes back (with the addon); SIGUSR1
// does what it does to the originals (the process dies) instead of opening
// Node's inspector, which is closed if a SIGUSR1 came during start-up.
{
  const e = process.env, S = 'UCSPI_SAVED_', n = e.UCSPI_NOFILE, s = [];
  delete e.UCSPI_NOFILE;
  // Which of fds 0, 1, 2 were closed at start (lib/stdfd.ts reads it here; no child inherits it).
  Object.defineProperty(process, 'ucspiClosedFds', { value: e.UCSPI_CLOSED_FDS });
  delete e.UCSPI_CLOSED_FDS;
  for (const k of Object.keys(e)) if (k.startsWith(S)) { s.push(k.slice(S.length), e[k]); delete e[k]; }
  for (let i = 0; i < s.length; i += 2) e[s[i]] = s[i + 1];
  if (n !== undefined && !e.UCSPI_NO_NATIVE) {
    try {
      require(require('path').join(__dirname, '..', '..', 'build', 'Release', 'ucspi.node')).setNofile(n === 'unlimited' ? -1 : Number(n));
    } catch {
      // No addon: the programs get the limit Node raised (documented in tcpsvd(8)).
    }
  }
  process.on('SIGUSR1', function u() { process.removeListener('SIGUSR1', u); process.kill(process.pid, 'SIGUSR1'); });
  const i = require('inspector');
  if (i.url() !== undefined) i.close();
}
