// npm's install step: bin/<command> for the installing Node, then the native
// addon (build/Release/ucspi.node), built with node-gyp. It is optional: without it every command still works through Node
// alone, so a failed build ends the install normally, said once, plainly.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// First bin/<command> for the Node that installs the package: the commands
// start it by its path, wherever PATH leads (scripts/launcher.js).
try {
  require('./launcher').writeLaunchers(root);
} catch (e) {
  process.stderr.write(`ucspi-node: bin/ kept as packed (for ${'`node`'} on PATH): ${e.message}\n`);
}
// npm hands install scripts its own node-gyp; a bare checkout may have one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, ...pre] = gyp ? [process.execPath, gyp] : ['node-gyp'];
// Headers from the running Node's own prefix (Debian's /usr, a tarball's or
// nvm's directory): no download.
const nodedir = path.resolve(process.execPath, '..', '..');
const r = spawnSync(cmd, [...pre, 'rebuild', `--nodedir=${nodedir}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (r.status === 0) {
  // Built with it: the compiled form of bin/<command> (native/launcher.c).
  try {
    require('./launcher').writeLaunchers(root);
  } catch (e) {
    process.stderr.write(`ucspi-node: bin/ kept in its sh form: ${e.message}\n`);
  }
  process.exit(0);
}

const why = r.error ? `${cmd}: ${r.error.message}`
  : (`${r.stderr}`.split('\n').filter((l) => /error|not found|No such/i.test(l)).slice(0, 3).join('\n  ') || `node-gyp exited ${r.status}`);
const text = `ucspi-node: the native addon was not built (build/Release/ucspi.node):
  ${why}
ucspi-node: every command still works, through Node alone. What is lost is the
  fast path: tcpserver and tcpsvd accept clients through net.Server and start
  prog with child_process instead of accept(2) and posix_spawn in the addon
  (more CPU per connection, and clients over -c wait in the server instead of
  the kernel backlog); supervise and multilog take their locks through flock(1).
ucspi-node: to build it, install gcc, g++, make and python3, then run
  npm rebuild ucspi-node        (add -g for a global install)
`;
process.stderr.write(text);
// npm shows an install script's output only when it fails (or with
// --foreground-scripts): when stderr is not the terminal, say it there too.
if (!process.stderr.isTTY) {
  try {
    require('node:fs').writeFileSync('/dev/tty', text);
  } catch {
    // no terminal (CI): the message is in npm's output with --foreground-scripts
  }
}
process.exit(0);
