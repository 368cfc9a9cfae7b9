// Our sv beside runit's /usr/bin/sv: every command on up, down, finishing,
// missing, unsupervised and log-bearing services, text and exit code; then
// against our runsv, our supervise, and daemontools' supervise.
import t, { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { daemon, normalize, ours, pidOf, run, service, tmp, waitFor } from './helpers/svdir';
import { findReference, needReference, reference, sleep } from './helpers/common';

const { skip } = needReference('runsv', 'sv');
const SV = ours('sv');
// Thirty commands, each on two trees of services, some waiting for -w.
t.setTimeout(600_000);

// HUP ignored: after sv hup or reload the run stays up, and sv's report of it does not race its restart.
const SLEEP = '#!/bin/sh\ntrap "" HUP\nexec sleep 100\n';
/** The services every command is tried on, in this order. */
const NAMES = ['up', 'down', 'fin', 'logged', 'nosv', 'stale', 'missing'];

function stateOf(dir: string): number {
  try { return fs.readFileSync(path.join(dir, 'supervise', 'status'))[19]; } catch { return -1; }
}

/** A tree of the services in NAMES, each supervised by one `supervisor dir` process. */
async function tree(t: Test, supervisor: string): Promise<string> {
  const dir = tmp(t);
  service(dir, 'up', { run: SLEEP });
  service(dir, 'down', { run: SLEEP, down: true });
  // run ends at once; finish stays: the service sits in its finish state.
  service(dir, 'fin', { run: '#!/bin/sh\nexit 3\n', finish: SLEEP });
  service(dir, 'logged', { run: '#!/bin/sh\necho hi\ntrap "" HUP\nexec sleep 100\n', log: '#!/bin/sh\nexec cat >/dev/null\n' });
  fs.writeFileSync(path.join(dir, 'logged', 'check'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  service(dir, 'nosv', { run: SLEEP });
  // supervise/ok with nobody reading it: what a supervisor that died leaves.
  service(dir, 'stale', { run: SLEEP });
  fs.mkdirSync(path.join(dir, 'stale', 'supervise'));
  execFileSync('mkfifo', [path.join(dir, 'stale', 'supervise', 'ok')], { timeout: 5000 });
  for (const n of ['up', 'down', 'fin', 'logged']) daemon(t, supervisor, [n], dir);
  await waitFor('services up', () => pidOf(path.join(dir, 'up')) && pidOf(path.join(dir, 'logged'))
    && pidOf(path.join(dir, 'logged', 'log')) && stateOf(path.join(dir, 'fin')) === 2
    && fs.existsSync(path.join(dir, 'down', 'supervise', 'status')));
  // Every status older than the sv about to run, whole seconds apart: the
  // t, k and o checks compare them with the second sv started in.
  await sleep(1100);
  return dir;
}

const say = (who: string, r: { code: number | null; stdout: string; stderr: string }) =>
  `${who} -> ${r.code}\n${normalize(r.stdout)}${r.stderr ? `stderr: ${r.stderr}` : ''}`;

/**
 * The same, lines sorted: while sv waits, services report in the order they
 * get there, which depends on how soon each supervisor reads its control.
 */
const sayAnyOrder = (who: string, r: { code: number | null; stdout: string; stderr: string }) =>
  `${who} -> ${r.code}\n${normalize(r.stdout).split('\n').sort().join('\n')}${r.stderr ? `stderr: ${r.stderr}` : ''}`;

/** One command on every service, by one sv on its own tree; the command's report. */
async function oneCommand(t: Test, sv: string, args: string[]): Promise<string> {
  const dir = await tree(t, reference('runsv'));
  const r = await run(sv, [...args, ...NAMES], dir, { SVDIR: dir, SVWAIT: '' });
  return sayAnyOrder(args.join(' '), r);
}

const COMMANDS = [
  ['status'], ['up'], ['down'], ['once'], ['pause'], ['cont'], ['hup'], ['alarm'], ['interrupt'],
  ['quit'], ['1'], ['2'], ['term'], ['kill'], ['exit'],
  ['-w', '1', 'start'], ['-w', '1', 'stop'], ['-w', '1', 'reload'], ['-w', '1', 'restart'],
  ['-w', '1', 'shutdown'], ['-w', '1', 'force-stop'], ['-w', '1', 'force-reload'],
  ['-w', '1', 'force-restart'], ['-w', '1', 'force-shutdown'], ['-w', '1', 'try-restart'],
  ['-w', '1', 'check'], ['-v', '-w', '1', 'up'], ['-v', '-w', '1', 'down'], ['-v', '-w', '1', 'pause'],
  ['-v', '-w', '1', 'exit'],
];

// The tests below are independent (each its own directories and supervisors): they run side by side.
t.jobs = 3;

t.test('every command, ours against /usr/bin/sv, on services under /usr/bin/runsv', { skip, timeout: 600_000 }, async (t) => {
  // Each command on its own two trees, a subtest each: its trees are torn
  // down when it ends. Most of a command's time is waiting (for the trees to
  // come up, for the status ages, for -w), so several run at once.
  t.jobs = 6;
  for (const args of COMMANDS) {
    t.test(args.join(' '), async (t) => {
      const [ref, mine] = await Promise.all([oneCommand(t, reference('sv'), args), oneCommand(t, SV, args)]);
      t.equal(mine, ref, args.join(' '));
    });
  }
});

t.test('status and check read the same services as /usr/bin/sv', { skip }, async (t) => {
  const dir = await tree(t, reference('runsv'));
  for (const args of [['status'], ['s'], ['-v', 'status'], ['check'], ['-w', '1', 'check']]) {
    for (const names of [NAMES, ['up', 'logged'], ['logged/'], ['./up', `${dir}/fin`]]) {
      // Both only read: they run at the same time.
      const [ref, mine] = await Promise.all([run(reference('sv'), [...args, ...names], dir, { SVDIR: dir }),
        run(SV, [...args, ...names], dir, { SVDIR: dir })]);
      t.equal(say('ours', mine), say('ours', ref), `${args.join(' ')} ${names.join(' ')}`);
    }
  }
  // A log that is not a directory, a down file that cannot be stat'ed.
  fs.rmSync(path.join(dir, 'up', 'supervise'), { recursive: true, force: true });
  fs.writeFileSync(path.join(dir, 'nosv', 'log'), '');
  for (const names of [['nosv'], ['up']]) {
    const [ref, mine] = await Promise.all([run(reference('sv'), ['status', ...names], dir, { SVDIR: dir }),
      run(SV, ['status', ...names], dir, { SVDIR: dir })]);
    t.equal(say('ours', mine), say('ours', ref), `status ${names.join(' ')}`);
  }
});

t.test('usage, options and exit codes as /usr/bin/sv', { skip }, async (t) => {
  const dir = tmp(t);
  const cases = [[], ['-V'], ['-z', 'up', 'x'], ['-w'], ['-w5'], ['bogus', 'x'], ['r', 'x'], ['f', 'x'], ['up'],
    ['status', 'missing'], ['-w', 'x', 'start', 'missing'], ['--', 'status', 'missing'], ['status', '']];
  // Nothing here changes the directory: every case at once.
  const results = await Promise.all(cases.map((args) => Promise.all([run(reference('sv'), args, dir, { SVDIR: dir }),
    run(SV, args, dir, { SVDIR: dir })])));
  cases.forEach((args, i) => {
    const [ref, mine] = results[i];
    t.equal(say('sv', mine), say('sv', ref), args.join(' ') || '(none)');
  });
  // Ninety-nine at most.
  const many = Array.from({ length: 120 }, (_, i) => `m${i}`);
  const r = await run(SV, ['status', ...many], dir, { SVDIR: dir });
  t.equal(r.code, 99);
  t.equal((await run(reference('sv'), ['status', ...many], dir, { SVDIR: dir })).code, 99);
});

t.test('called by another name: an LSB init script', { skip }, async (t) => {
  const dir = tmp(t);
  service(dir, 'web', { run: SLEEP });
  service(dir, 'idle', { run: SLEEP, down: true });
  daemon(t, reference('runsv'), ['web'], dir);
  daemon(t, reference('runsv'), ['idle'], dir);
  await waitFor('web up', () => pidOf(path.join(dir, 'web')) && fs.existsSync(path.join(dir, 'idle', 'supervise', 'status')));
  // The service is the link's name: the reference's links are named n.ref,
  // and find their service through a $SVDIR of n.ref links.
  const links = path.join(dir, 'init.d');
  const refdir = path.join(dir, 'ref');
  fs.mkdirSync(links);
  fs.mkdirSync(refdir);
  for (const n of ['web', 'idle', 'gone']) {
    fs.symlinkSync(reference('sv'), path.join(links, `${n}.ref`));
    fs.symlinkSync(SV, path.join(links, n));
    if (n !== 'gone') fs.symlinkSync(path.join(dir, n), path.join(refdir, `${n}.ref`));
  }
  for (const n of ['web', 'idle', 'gone']) {
    for (const args of [['status'], [], ['bogus'], ['stat'], ['-w', '1', 'check'], ['-v', 'status']]) {
      const mine = await run(path.join(links, n), args, dir, { SVDIR: dir });
      const ref = await run(path.join(links, `${n}.ref`), args, dir, { SVDIR: refdir });
      t.equal(say(n, mine), say(n, ref).replaceAll(`${n}.ref`, n), `${n} ${args.join(' ')}`);
    }
  }
});

/** up, down and exit through sv with -v against one supervisor process per service. */
async function driven(t: Test, supervisor: string, sv: string): Promise<string[]> {
  const dir = tmp(t);
  service(dir, 'svc', { run: SLEEP, log: '#!/bin/sh\nexec cat >/dev/null\n' });
  const d = daemon(t, supervisor, ['svc'], dir);
  await waitFor('up', () => pidOf(path.join(dir, 'svc')) && pidOf(path.join(dir, 'svc', 'log')));
  const out: string[] = [];
  for (const args of [['status'], ['-v', 'down'], ['status'], ['-v', 'up'], ['-v', 'once'], ['status'],
    ['-v', 'pause'], ['-v', 'cont'], ['-v', 'restart'], ['-v', 'exit']]) {
    // sv -v restart takes a status written in the second it started as already
    // restarted (runit's sv compares whole seconds): start it in a later second
    // than the status 'cont' wrote, so every run waits for the new one.
    if (args[1] === 'restart') await sleep(1020 - (Date.now() % 1000));
    out.push(say(args.join(' '), await run(sv, [...args, './svc'], dir)));
  }
  await d.exited;
  out.push(say('status after exit', await run(sv, ['status', './svc'], dir)));
  return out;
}

t.test('our sv drives Debian\'s runsv and ours as /usr/bin/sv does', { skip }, async (t) => {
  const [ref, onRef, onOurs] = await Promise.all([driven(t, reference('runsv'), reference('sv')),
    driven(t, reference('runsv'), SV), driven(t, ours('runsv'), SV)]);
  t.same(onRef, ref);
  t.same(onOurs, ref);
});

t.test('against supervise: ours, and daemontools\' where runit\'s sv reads its status', { skip }, async (t) => {
  // daemontools' supervise is optional here: without it, ours alone.
  // Every supervisor and sv pair on its own directory, all at once.
  const sups = [ours('supervise'), findReference('supervise')];
  if (!sups[1]) t.comment('reference supervise not on PATH: daemontools\' part left out');
  await Promise.all(sups.map(async (sup) => {
    if (!sup) return;
    const outs = await Promise.all([reference('sv'), SV].map(async (sv) => {
      const dir = tmp(t);
      service(dir, 'svc', { run: SLEEP });
      daemon(t, sup, ['svc'], dir);
      await waitFor('up', () => pidOf(path.join(dir, 'svc')));
      const out: string[] = [];
      for (const args of [['status'], ['hup'], ['-w', '1', 'stop'], ['status'], ['-w', '1', 'start'], ['-v', 'exit']]) {
        out.push(say(args.join(' '), await run(sv, [...args, './svc'], dir)));
      }
      return out;
    }));
    t.same(outs[1], outs[0], sup);
  }));
});
