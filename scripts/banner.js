// The first lines of every command's bundle (scripts/bundle.js puts them
// there), run before any module. bin/<command> (scripts/launcher.js)
// moved every NODE_*, UV_* and OPENSSL_* variable aside as UCSPI_SAVED_<name>
// so that none of them could reach the command's own Node, and recorded the
// soft descriptor limit before Node raised it (UCSPI_NOFILE), which of fds
// 0, 1, 2 were closed (UCSPI_CLOSED_FDS) and which signals were ignored
// (UCSPI_SIGIGN). Here: the variables go back, for the programs the command
// runs; the limit goes back (with the addon); the ignored signals are
// ignored again (with the addon; without it, caught and dropped), so that
// under nohup the command survives HUP and its programs inherit the ignored
// HUP, as the originals' do; the process is called by the command's name
// (comm: pidof, pgrep -x, killall; with the addon, ps shows the arguments
// too); SIGUSR1 never opens Node's inspector (the launcher's flags keep it
// shut) and, with the addon, does what it does to the originals: the
// process dies.
{
  const e = process.env, S = 'UCSPI_SAVED_', n = e.UCSPI_NOFILE, ign = e.UCSPI_SIGIGN, s = [];
  delete e.UCSPI_NOFILE;
  delete e.UCSPI_SIGIGN;
  // Which of fds 0, 1, 2 were closed at start (lib/stdfd.ts reads it here; no child inherits it).
  Object.defineProperty(process, 'ucspiClosedFds', { value: e.UCSPI_CLOSED_FDS });
  delete e.UCSPI_CLOSED_FDS;
  // The compiled bin/<command> (native/launcher.c) runs the bundle itself and
  // says by what path it was started: argv[1], as the sh form's $0 is.
  if (e.UCSPI_BIN !== undefined) {
    process.argv[1] = require('path').resolve(e.UCSPI_BIN);
    delete e.UCSPI_BIN;
  }
  for (const k of Object.keys(e)) if (k.startsWith(S)) { s.push(k.slice(S.length), e[k]); delete e[k]; }
  for (let i = 0; i < s.length; i += 2) e[s[i]] = s[i + 1];
  // The addon, loaded here once for the whole command: src/native.ts (loadNative) takes this
  // module, with the file and the error, from process.ucspiAddon instead of loading it again.
  // Its start-up functions are declared there (Startup) with the rest. Not found is no error
  // (the pure-Node install: native.ts tells the two apart).
  const file = require('path').join(__dirname, '..', '..', 'build', 'Release', 'ucspi.node');
  let addon = null, error;
  if (!e.UCSPI_NO_NATIVE) {
    try {
      addon = require(file);
    } catch (err) {
      // No addon: see below for each thing it would have done.
      error = err;
    }
  }
  Object.defineProperty(process, 'ucspiAddon', { value: { file, addon, error } });
  if (n !== undefined && addon) {
    try {
      addon.setNofile(n === 'unlimited' ? -1 : Number(n));
    } catch {
      // As without the addon: the programs get the limit Node raised (documented in tcpsvd(8)).
    }
  }
  // The signals ignored at start, by number (lib/ignored.ts reads them here).
  const ignored = [];
  if (ign && /^[0-9a-fA-F]{1,16}$/.test(ign)) {
    const mask = BigInt(`0x${ign}`);
    for (let sig = 1; sig <= 64; sig++) if (sig !== 9 && sig !== 19 && (mask >> BigInt(sig - 1)) & 1n) ignored.push(sig);
  }
  Object.defineProperty(process, 'ucspiIgnored', { value: ignored });
  let natively = false;
  if (ignored.length && addon) {
    try { addon.ignoreAgain(ign); natively = true; } catch { /* as without the addon */ }
  }
  if (ignored.length && !natively) {
    const names = require('os').constants.signals;
    for (const name of Object.keys(names)) {
      // Node cannot listen for these; SIGPIPE it ignores itself.
      if (!ignored.includes(names[name]) || /^SIG(KILL|STOP|PIPE|SEGV|BUS|FPE|ILL)$/.test(name)) continue;
      const drop = () => {};
      drop.ucspiDrop = true; // lib/ignored.ts: not the command's own
      try { process.on(name, drop); } catch { /* not a signal Node can catch */ }
    }
  }
  // The name and arguments, as the original's argv (src/lib/title.ts).
  const name = require('path').basename(process.argv[1] || 'node');
  try {
    if (!(addon && addon.setArgv([name, ...process.argv.slice(2)]) && (addon.setComm(name), true))) process.title = name;
  } catch {
    // A title that cannot be set leaves Node's.
  }
  // SIGUSR1 (10): Node's own handler would start the inspector, which the
  // launcher's flags keep from listening; the originals die of it, and from
  // here on ours does too.
  if (!ignored.includes(10)) {
    let native = false;
    if (addon) {
      try { addon.sigDefault(10); native = true; } catch { /* as without the addon */ }
    }
    if (!native) process.on('SIGUSR1', function u() { process.removeListener('SIGUSR1', u); process.kill(process.pid, 'SIGUSR1'); });
  }
}
