// svscan: one process for every service directory; rescans on its own and
// on ALRM; ignores dot-directories; stops a removed service; on INT brings
// every service down, then its log service, which logs the last lines (TERM
// hands them to a keeper: svscan-keeper.test.ts).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, daemon, normalize, ours, pidOf, run, service, supervised, tmp, waitFor, within } from './helpers/svdir';
import { needReference, reference } from './helpers/common';

const SLEEPER = '#!/bin/sh\nexec sleep 100\n';

t.test('svscan picks up, ignores, stops and shuts down', needReference('svstat'), async (t) => {
  const dir = tmp(t);
  const a = service(dir, 'a', {
    run: '#!/bin/sh\ntrap \'echo bye; exit 0\' TERM\necho hello\nwhile :; do sleep 0.1; done\n',
    log: '#!/bin/sh\nexec cat >> ../../a.log\n',
  });
  const b = service(dir, 'b', { run: SLEEPER });
  const hidden = service(dir, '.hidden', { run: '#!/bin/sh\ntouch ../ran\nexec sleep 100\n' });
  const scan = daemon(t, ours('svscan'), [], dir);
  await waitFor('a, a/log and b up', () => pidOf(a) && pidOf(path.join(a, 'log')) && pidOf(b));
  const st = await run(reference('svstat'), ['a', 'a/log', 'b'], dir);
  t.equal(normalize(st.stdout), 'a: up (pid N) S seconds\na/log: up (pid N) S seconds\nb: up (pid N) S seconds\n');
  await waitFor('hello logged', () => fs.readFileSync(path.join(dir, 'a.log'), 'latin1') === 'hello\n');
  t.notOk(fs.existsSync(path.join(hidden, 'supervise')), 'dot-directory left alone');

  // A new directory is found by the periodic rescan (every 5 s).
  const c = service(dir, 'c', { run: SLEEPER });
  await waitFor('c up by rescan', () => pidOf(c), 20_000);

  // A removed directory has its service stopped and is forgotten...
  const pb = pidOf(b);
  fs.rmSync(b, { recursive: true });
  scan.proc.kill('SIGALRM');
  await waitFor('b stopped', () => !alive(pb));
  // ...so that a new one by the same name is a new service.
  service(dir, 'b', { run: SLEEPER });
  scan.proc.kill('SIGALRM');
  const pb2 = await waitFor('b again', () => pidOf(b));
  t.not(pb2, pb);

  // A second svscan cannot take what the first holds, nor start duplicates.
  const pa = pidOf(a);
  const second = daemon(t, ours('svscan'), [], dir);
  await waitFor('second svscan refused', () => second.stderr().includes('supervise: fatal: unable to acquire a/log/supervise/lock: temporary failure\n')
    && second.stderr().includes('unable to acquire c/supervise/lock: temporary failure\n'));
  // It holds nothing: its TERM has nothing to hand over.
  second.proc.kill('SIGTERM');
  t.equal(await within('second svscan exit', second.exited), 0);
  t.equal(pidOf(a), pa);
  t.ok(alive(pa));

  // INT: every service down, its log service after it (so "bye" is logged), then exit 0.
  const pids = [pidOf(a), pidOf(path.join(a, 'log')), pidOf(b), pidOf(c)];
  scan.proc.kill('SIGINT');
  t.equal(await within('svscan exit', scan.exited), 0);
  t.equal(fs.readFileSync(path.join(dir, 'a.log'), 'latin1'), 'hello\nbye\n');
  for (const p of pids) t.notOk(alive(p), `pid ${p} gone`);
  for (const d of [a, path.join(a, 'log'), b, c]) t.notOk(supervised(d));
  const st2 = await run(reference('svstat'), ['a', 'a/log'], dir);
  t.equal(st2.stdout, 'a: supervise not running\na/log: supervise not running\n');
  t.equal(scan.stderr(), '');
});

t.test('svscan on a missing directory', needReference('svscan'), async (t) => {
  const dir = tmp(t);
  const [ref, mine] = await Promise.all([run(reference('svscan'), ['nonexistent'], dir), run(ours('svscan'), ['nonexistent'], dir)]);
  t.same([mine.code, mine.stderr], [ref.code, ref.stderr]);
});
