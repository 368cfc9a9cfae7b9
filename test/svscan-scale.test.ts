// svscan at scale: 1,000 services in one process under the default limits,
// and under a tight descriptor limit, a line naming each directory it could
// not take up, taken up at a later scan once descriptors are free.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { control, daemon, ours, pidOf, run, service, supervised, tmp, waitFor, within } from './helpers/svdir';
import { sleep, which } from './helpers/common';

const prlimit = which('prlimit');

const SLEEPER = '#!/bin/sh\nexec sleep 1000\n';

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * A predicate for waitFor: whether ok(name) holds for every name. Names are
 * checked in order and the ones found ok are not read again, so that a poll
 * every 20 ms does not read a thousand files each time (which took as much
 * CPU as the svscan under test).
 */
function allOf(names: string[], ok: (name: string) => unknown): () => boolean {
  let i = 0;
  return () => {
    while (i < names.length && ok(names[i])) i++;
    return i === names.length;
  };
}

t.test('1,000 services under the default limits', async (t) => {
  const dir = tmp(t);
  const names = Array.from({ length: 1000 }, (_, i) => `s${String(i).padStart(4, '0')}`);
  for (const n of names) service(dir, n, { run: SLEEPER });
  const scan = daemon(t, ours('svscan'), [], dir);
  await waitFor('1,000 services up', allOf(names, (n) => pidOf(path.join(dir, n))), 180_000);
  const fds = fdCount(scan.proc.pid!);
  t.ok(fds <= 3 * 1000 + 64, `svscan holds ${fds} descriptors for 1,000 services`);
  t.comment(`descriptors: ${fds}`);
  const st = await run(ours('svstat'), [names[0], names[999]], dir);
  t.match(st.stdout, /^s0000: up \(pid \d+\) \d+ seconds\ns0999: up \(pid \d+\) \d+ seconds\n$/);
  t.equal(scan.stderr(), '');
  scan.proc.kill('SIGINT');
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
  scan.proc.kill('SIGINT');
  t.equal(await within('svscan exit', scan.exited, 60_000), 0);
});

// The soft descriptor limit as /proc/<pid>/limits shows it.
function softNofile(pid: number | 'self'): string {
  return /^Max open files\s+(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'latin1'))?.[1] ?? '';
}
const hardNofile = /^Max open files\s+\S+\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'latin1'))?.[1] ?? '';
const roomAbove1024 = hardNofile === 'unlimited' || Number(hardNofile) >= 4096;
// A run (or log/run) that records the soft limit it started with, then stays.
const RECORDER = '#!/bin/sh\nsed -n "s/^Max open files *\\([^ ]*\\).*/\\1/p" /proc/self/limits > nofile.seen\nexec sleep 1000\n';
// What a recorder wrote, once it is whole (the shell creates the file before sed writes).
function seen(file: string): string | undefined {
  try {
    const v = fs.readFileSync(file, 'latin1');
    return v.endsWith('\n') ? v.trim() : undefined;
  } catch {
    return undefined;
  }
}
const LOG_RECORDER = '#!/bin/sh\nsed -n "s/^Max open files *\\([^ ]*\\).*/\\1/p" /proc/self/limits > nofile.seen\nexec cat > /dev/null\n';

t.test('soft limit 1024: svscan raises its own and takes up 1,000 services, each run gets 1024', {
  skip: !prlimit ? 'needs prlimit (util-linux)' : !roomAbove1024 ? `the hard descriptor limit (${hardNofile}) leaves no room above 1024` : false,
}, async (t) => {
  const dir = tmp(t);
  const names = Array.from({ length: 1000 }, (_, i) => `s${String(i).padStart(4, '0')}`);
  for (const n of names) service(dir, n, { run: RECORDER });
  const scan = daemon(t, prlimit!, ['--nofile=1024:', ours('svscan')], dir);
  await waitFor('1,000 services up', allOf(names, (n) => pidOf(path.join(dir, n))), 300_000);
  t.not(softNofile(scan.proc.pid!), '1024', `svscan runs with a soft limit of ${softNofile(scan.proc.pid!)}`);
  t.ok(fdCount(scan.proc.pid!) > 1024, `svscan holds ${fdCount(scan.proc.pid!)} descriptors`);
  await waitFor('every run recorded its limit', allOf(names, (n) => seen(path.join(dir, n, 'nofile.seen')) !== undefined), 60_000);
  const limits = new Set(names.map((n) => seen(path.join(dir, n, 'nofile.seen'))));
  t.same([...limits], ['1024'], 'every run saw the soft limit svscan was started with');
  // The pid svstat reports is the run's own (the limit stage execs it).
  const pid = pidOf(path.join(dir, names[0]));
  t.equal(fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim(), 'sleep');
  t.equal(scan.stderr(), '');
  scan.proc.kill('SIGINT');
  t.equal(await within('svscan stops 1,000 services', scan.exited, 120_000), 0);
});

t.test('soft limit 1024: runsv and supervise raise their own, run, log/run and finish get 1024', {
  skip: !prlimit ? 'needs prlimit (util-linux)' : !roomAbove1024 ? `the hard descriptor limit (${hardNofile}) leaves no room above 1024` : false,
}, async (t) => {
  for (const sup of ['runsv', 'supervise']) {
    const dir = tmp(t);
    const d = service(dir, 'a', { run: RECORDER, finish: '#!/bin/sh\nsed -n "s/^Max open files *\\([^ ]*\\).*/\\1/p" /proc/self/limits > finish.seen\n',
      log: sup === 'runsv' ? LOG_RECORDER : undefined });
    const s = daemon(t, prlimit!, ['--nofile=1024:', ours(sup), 'a'], dir);
    await waitFor(`${sup}: run recorded`, () => seen(path.join(d, 'nofile.seen')) !== undefined && pidOf(d), 30_000);
    t.not(softNofile(s.proc.pid!), '1024', `${sup} runs with a soft limit of ${softNofile(s.proc.pid!)}`);
    t.equal(seen(path.join(d, 'nofile.seen')), '1024', `${sup}: run`);
    if (sup === 'runsv') {
      await waitFor('log/run recorded', () => seen(path.join(d, 'log', 'nofile.seen')) !== undefined, 30_000);
      t.equal(seen(path.join(d, 'log', 'nofile.seen')), '1024', 'runsv: log/run');
    }
    control(d, 'd');
    await waitFor(`${sup}: finish recorded`, () => seen(path.join(d, 'finish.seen')) !== undefined, 30_000);
    t.equal(seen(path.join(d, 'finish.seen')), '1024', `${sup}: finish`);
    s.proc.kill('SIGTERM');
    await within(`${sup} exit`, s.exited, 30_000);
  }
});

t.test('soft limit 1024: a run that cannot be started is reported as without the limit stage', {
  skip: !prlimit ? 'needs prlimit (util-linux)' : !roomAbove1024 ? `the hard descriptor limit (${hardNofile}) leaves no room above 1024` : false,
}, async (t) => {
  const lines: string[] = [];
  for (const limit of [[], ['--nofile=1024:']]) {
    const dir = tmp(t);
    const d = service(dir, 'a', { run: 'exec sleep 1000\n' });
    fs.chmodSync(path.join(d, 'run'), 0o644);
    const s = daemon(t, prlimit!, [...limit, ours('supervise'), 'a'], dir);
    await waitFor('a complaint', () => s.stderr().includes('\n') && s.stderr(), 15_000);
    lines.push(s.stderr().split('\n')[0]);
    s.proc.kill('SIGTERM');
    await within('supervise exit', s.exited, 30_000);
  }
  t.equal(lines[1], lines[0]);
  t.match(lines[0], /^supervise: \w+: unable to start a\/run: /, lines[0]);
});
