// svscan at scale: 1,000 services in one process under the default limits,
// and under a tight descriptor limit, a line naming each directory it could
// not take up, taken up at a later scan once descriptors are free.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { daemon, ours, pidOf, run, service, supervised, tmp, waitFor, within } from './helpers/svdir';
import { sleep, which } from './helpers/common';

const prlimit = which('prlimit');

const SLEEPER = '#!/bin/sh\nexec sleep 1000\n';

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

t.test('1,000 services under the default limits', async (t) => {
  const dir = tmp(t);
  const names = Array.from({ length: 1000 }, (_, i) => `s${String(i).padStart(4, '0')}`);
  for (const n of names) service(dir, n, { run: SLEEPER });
  const scan = daemon(t, ours('svscan'), [], dir);
  await waitFor('1,000 services up', () => names.every((n) => pidOf(path.join(dir, n))), 180_000);
  const fds = fdCount(scan.proc.pid!);
  t.ok(fds <= 3 * 1000 + 64, `svscan holds ${fds} descriptors for 1,000 services`);
  t.comment(`descriptors: ${fds}`);
  const st = await run(ours('svstat'), [names[0], names[999]], dir);
  t.match(st.stdout, /^s0000: up \(pid \d+\) \d+ seconds\ns0999: up \(pid \d+\) \d+ seconds\n$/);
  t.equal(scan.stderr(), '');
  scan.proc.kill('SIGTERM');
  t.equal(await within('svscan stops 1,000 services', scan.exited, 120_000), 0);
  t.ok(names.every((n) => pidOf(path.join(dir, n)) === 0), 'every service down');
});

t.test('a tight descriptor limit: each directory not taken up is named, then taken up later', {
  skip: prlimit ? false : 'needs prlimit (util-linux)',
}, async (t) => {
  const dir = tmp(t);
  const names = Array.from({ length: 120 }, (_, i) => `s${String(i).padStart(3, '0')}`);
  for (const n of names) service(dir, n, { run: SLEEPER });
  const scan = daemon(t, prlimit!, ['--nofile=300:300', ours('svscan')], dir);
  const refused = () => new Set([...scan.stderr().matchAll(/^svscan: warning: unable to start (\S+): process cannot open more files$/gm)].map((m) => m[1]));
  const up = () => names.filter((n) => pidOf(path.join(dir, n)) && supervised(path.join(dir, n)));
  await waitFor('every directory up or named', () => up().length + refused().size === names.length && up().length > 0, 60_000);
  const taken = up();
  const named = [...refused()];
  t.ok(taken.length >= 60, `${taken.length} taken up under 300 descriptors`);
  t.ok(named.length > 0, `${named.length} named`);
  t.same(named.filter((n) => taken.includes(n)), [], 'none named that runs');
  t.same(scan.stderr().split('\n').filter((l) => l && !/^svscan: warning: unable to start s\d+: process cannot open more files$/.test(l)), [],
    'no other complaint');
  // A restart under the limit is not held up by a 60-second sleep.
  const p0 = pidOf(path.join(dir, taken[0]));
  await run(ours('svc'), ['-t', taken[0]], dir);
  await waitFor('restarted', () => { const p = pidOf(path.join(dir, taken[0])); return p && p !== p0; }, 10_000);
  // Free descriptors: remove as many running services as were refused, and rescan.
  for (const n of taken.slice(-named.length)) fs.rmSync(path.join(dir, n), { recursive: true });
  await sleep(500);
  scan.proc.kill('SIGALRM');
  await waitFor('the refused ones taken up', () => named.every((n) => pidOf(path.join(dir, n))), 30_000);
  scan.proc.kill('SIGTERM');
  t.equal(await within('svscan exit', scan.exited, 60_000), 0);
});
