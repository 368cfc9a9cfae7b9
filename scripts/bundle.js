// npm run bundle: one esbuild bundle per command (dist/src/cmd/*.js, tsc's
// output) into dist/cmd, each starting with scripts/banner.js. The bundles
// are written to dist/cmd.new, then each is moved into dist/cmd with
// rename(2), so a command started during a rebuild (a test, a running demo)
// loads either the old bundle or the new one, never half a file. Then
// bin/<command> for each, for the Node running this (scripts/launcher.js).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'dist', 'src', 'cmd');
const from = path.join(root, 'dist', 'cmd.new');
const to = path.join(root, 'dist', 'cmd');
fs.rmSync(from, { recursive: true, force: true });
esbuild.buildSync({
  entryPoints: fs.readdirSync(src).filter((f) => f.endsWith('.js')).map((f) => path.join(src, f)),
  bundle: true,
  platform: 'node',
  target: 'node20',
  outdir: from,
  logLevel: 'warning',
  banner: { js: fs.readFileSync(path.join(__dirname, 'banner.js'), 'utf8') },
  // Run by the compiled bin/<command> (native/launcher.c), a bundle is the main module.
  footer: { js: 'if (require.main === module) module.exports.main(process.argv.slice(2));' },
});
fs.mkdirSync(to, { recursive: true });
for (const f of fs.readdirSync(from)) fs.renameSync(path.join(from, f), path.join(to, f));
fs.rmdirSync(from);
require('./launcher').writeLaunchers(root);
