// npm run bundle writes to dist/cmd.new; this moves each bundle into dist/cmd
// with rename(2), so a command started during a rebuild (a test, a running
// demo) loads either the old bundle or the new one, never half a file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'dist', 'cmd.new');
const to = path.join(root, 'dist', 'cmd');
fs.mkdirSync(to, { recursive: true });
for (const f of fs.readdirSync(from)) fs.renameSync(path.join(from, f), path.join(to, f));
fs.rmdirSync(from);
