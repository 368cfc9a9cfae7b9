// Our svscan's scanner rules: dot-directories ignored (the atomic way to add
// a service is to fill .name, then rename it), directories known by device
// and inode (a rename keeps the service running), a removed directory's
// service sent TERM, an empty regular file named log meaning "no log
// service"; and svc's $SVDIR look-up for bare names.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, daemon, ours, pidOf, run, service, supervised, tmp, waitFor } from './helpers/svdir';
import { findReference, sleep } from './helpers/common';

const SLEEPER = '#!/bin/sh\nexec sleep 100\n';

t.test('add by renaming a dot-directory; rename keeps the service; removal sends TERM', async (t) => {
  const dir = tmp(t);
  const first = service(dir, 'first', { run: SLEEPER });
  const scan = daemon(t, ours('svscan'), [], dir);
  const rescan = () => scan.proc.kill('SIGALRM');
  // svscan's handlers are in place once it has taken up a service.
  await waitFor('svscan ready', () => pidOf(first));
  // Filled under a dot-name: not taken up, even across rescans.
  const hidden = service(dir, '.new', { run: '#!/bin/sh\necho $$ >> ../starts\nexec sleep 100\n' });
  rescan();
  await sleep(500);
  t.notOk(fs.existsSync(path.join(hidden, 'supervise')), 'dot-directory left alone');
  fs.renameSync(hidden, path.join(dir, 'web'));
  rescan();
  const web = path.join(dir, 'web');
  const p0 = await waitFor('web up after the rename', () => pidOf(web));
  // Its pid is in the status file as soon as it is started, before its run
  // script has run a line: wait for the script itself, here and below.
  const starts = () => { try { return fs.readFileSync(path.join(dir, 'starts'), 'latin1'); } catch { return ''; } };
  await waitFor('web\'s run wrote its pid', () => starts() === `${p0}\n`);

  // Renamed while running: same process, supervised under the new name.
  fs.renameSync(web, path.join(dir, 'www'));
  rescan();
  const www = path.join(dir, 'www');
  const st = await waitFor('www supervised', () => supervised(www) && pidOf(www));
  t.equal(st, p0, 'not restarted by the rename');
  t.ok(alive(p0));
  // Its supervisor writes under the new name, and restarts it from there.
  await run(ours('svc'), ['-t', 'www'], dir);
  const p1 = await waitFor('restarted in www', () => { const p = pidOf(www); return p && p !== p0 && p; });
  await waitFor('www\'s run wrote its pid', () => starts().split('\n').length > 2);
  t.equal(starts(), `${p0}\n${p1}\n`, 'run started once per start');

  // Removed: its run is sent TERM (it says so) and is not started again.
  const term = service(dir, 'term', {
    run: '#!/bin/sh\ntrap "echo TERM >> ../term.log; exit 0" TERM\necho $$ > ../term.ready\nwhile :; do sleep 0.1; done\n',
  });
  rescan();
  const pt = await waitFor('term up', () => pidOf(term));
  // Not before its trap is set: a TERM sent earlier kills the shell silently.
  await waitFor('term\'s trap set', () => fs.existsSync(path.join(dir, 'term.ready')) &&
    fs.readFileSync(path.join(dir, 'term.ready'), 'latin1') === `${pt}\n`);
  fs.renameSync(term, path.join(dir, '.gone'));
  rescan();
  await waitFor('TERM received', () => fs.existsSync(path.join(dir, 'term.log')));
  await waitFor('term stopped', () => !alive(pt));
  t.equal(fs.readFileSync(path.join(dir, 'term.log'), 'latin1'), 'TERM\n');
  t.equal(scan.stderr(), '');
});

t.test('log: a directory is a log service, an empty file means none, anything else is reported', async (t) => {
  const dir = tmp(t);
  const plain = service(dir, 'plain', { run: '#!/bin/sh\necho plain >> ../out\nexec sleep 100\n' });
  fs.writeFileSync(path.join(plain, 'log'), '');
  const bad = service(dir, 'bad', { run: SLEEPER });
  fs.writeFileSync(path.join(bad, 'log'), 'exec multilog ./main\n');
  const scan = daemon(t, ours('svscan'), [], dir);
  await waitFor('plain up', () => pidOf(plain));
  await waitFor('plain ran', () => fs.existsSync(path.join(dir, 'out')));
  t.notOk(fs.existsSync(path.join(plain, 'log', 'supervise')));
  const line = 'svscan: warning: unable to start bad/log: not a directory (an empty file means no log service)\n';
  await waitFor('bad reported', () => scan.stderr().includes(line));
  // svscan tries again at every scan (every 5 s), as the original does, and
  // says it again each time: on a slow machine a second scan may have come.
  t.same([...new Set(scan.stderr().split('\n').filter((l) => l !== ''))], [line.trimEnd()], 'that line, nothing else');
  t.notOk(supervised(bad), 'not taken up half');
  // Fixed: taken up at the next scan.
  fs.writeFileSync(path.join(bad, 'log'), '');
  scan.proc.kill('SIGALRM');
  await waitFor('bad up once fixed', () => pidOf(bad));
});

t.test('svc looks a bare name up in $SVDIR when it is not a directory here', async (t) => {
  const dir = tmp(t);
  const svdir = path.join(dir, 'sv');
  fs.mkdirSync(svdir);
  const a = service(svdir, 'a', { run: SLEEPER });
  const here = path.join(dir, 'here');
  fs.mkdirSync(here);
  daemon(t, ours('svscan'), [svdir], dir);
  const p0 = await waitFor('a up', () => pidOf(a));
  const r = await run(ours('svc'), ['-d', 'a'], here, { SVDIR: svdir });
  t.same([r.code, r.stderr], [0, '']);
  await waitFor('a down', () => pidOf(a) === 0);
  t.notOk(alive(p0));
  // Without $SVDIR: the original's message for a name that is not here.
  const plain = await run(ours('svc'), ['-u', 'a'], here, { SVDIR: '' });
  const refSvc = findReference('svc');
  const ref = refSvc ? await run(refSvc, ['-u', 'a'], here) : null;
  t.equal(plain.stderr, 'svc: warning: unable to chdir to a: file does not exist\n');
  if (ref) t.same([plain.code, plain.stderr], [ref.code, ref.stderr], 'as /usr/bin/svc');
  // A directory by that name here wins over $SVDIR.
  service(here, 'a', {});
  const local = await run(ours('svc'), ['-u', 'a'], here, { SVDIR: svdir });
  t.equal(local.stderr, 'svc: warning: unable to control a: file does not exist\n');
  t.equal(pidOf(a), 0, 'the one in $SVDIR untouched');
});
