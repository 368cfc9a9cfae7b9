// acceptClose (native/accept.cc): an acceptor is freed only after both of its
// libuv handles have closed. libuv runs the close callbacks newest first, so
// freeing at the timer's left the poll handle's close to run in freed memory
// (inetd dropping a stream line, a TLS test's listener: an occasional SIGSEGV
// when another thread reused the memory meanwhile). glibc made to fill freed
// memory at once (no tcache, MALLOC_PERTURB_) turns that into a certain crash.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { addonFile } from '../src/native';

const file = addonFile();
const built = file !== undefined && fs.existsSync(file);

t.test('acceptOpen then acceptClose, twenty times, freed memory poisoned: the process lives on', { skip: built ? false : 'the addon is not built' }, (t) => {
  const script = `
    const a = require(${JSON.stringify(file)});
    const fs = require('node:fs');
    for (let i = 0; i < 20; i++) {
      const [fd] = a.listenTcp('127.0.0.1', 0, 8);
      const h = a.acceptOpen(fd, 1, false, () => {});
      a.acceptClose(h);
      fs.closeSync(fd);
    }
    setTimeout(() => process.stdout.write('alive'), 50);`;
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0', MALLOC_PERTURB_: '165' },
    encoding: 'utf8', timeout: 60_000,
  });
  t.equal(r.signal, null, `no signal (${r.stderr.trim().split('\n').slice(-1)[0] ?? ''})`);
  t.equal(r.status, 0);
  t.equal(r.stdout, 'alive');
  t.end();
});
