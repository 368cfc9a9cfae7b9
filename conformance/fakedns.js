#!/usr/bin/env node
'use strict';
// Starts the project's fake DNS server (test/helpers/fakedns.ts, as built by
// `npm run build`) on 127.53.x.y:53, answering only what the suites assume:
// 127.0.0.1 <-> localhost. Every other name is NXDOMAIN. Prints the bare
// address (for $DNSCACHEIP: djb's resolver always asks port 53) and runs
// until it is killed. Needs root (port 53); the harness runs it inside the
// suite's own network namespace, so nothing leaves loopback.
const path = require('node:path');
const { startFakeDns } = require(path.join(__dirname, '..', 'dist', 'test', 'helpers', 'fakedns.js'));

startFakeDns({
  '127.0.0.1': { ptr: 'localhost' },
  localhost: { a: ['127.0.0.1'] },
}, { port53: true }).then((dns) => {
  process.stdout.write(dns.addr + '\n');
  const stop = () => dns.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}, (e) => {
  process.stderr.write(`fakedns: ${e.message}\n`);
  process.exit(111);
});
