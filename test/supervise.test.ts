// Our supervise driven by the real control tools, side by side with the real
// supervisors: /usr/bin/svc+svstat+svok against /usr/bin/supervise and ours,
// /usr/bin/sv against /usr/bin/runsv and ours; the outputs must match.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needReference, reference } from './helpers/common';
import {
  alive, cmdline, control, daemon, normalize, ours, pausedOf, pidOf, run, service, supervised, tmp, waitFor, within,
} from './helpers/svdir';

const SLEEPER = '#!/bin/sh\nexec sleep 100\n';

async function daemontoolsScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: SLEEPER });
  const d = daemon(t, supervisor, ['svc'], dir);
  const out: string[] = [];
  const note = async (cmd: string, args: string[]) => {
    const r = await run(cmd, args, dir);
    out.push(`${path.basename(cmd)} ${args.join(' ')} -> ${r.code} ${normalize(r.stdout)}${r.stderr}`);
  };
  const svc_ = (flag: string) => run(reference('svc'), [flag, 'svc'], dir);
  const p0 = await waitFor('first start', () => pidOf(svc));
  await note(reference('svstat'), ['svc']);
  await note(reference('svok'), ['svc']);
  await svc_('-d');
  await waitFor('down', () => pidOf(svc) === 0);
  t.notOk(alive(p0), 'svc -d killed the run');
  await note(reference('svstat'), ['svc']);
  await svc_('-u');
  const p1 = await waitFor('up again', () => pidOf(svc));
  await note(reference('svstat'), ['svc']);
  await svc_('-t');
  await waitFor('restart after -t', () => { const p = pidOf(svc); return p && p !== p1; });
  await svc_('-p');
  await waitFor('paused', () => pausedOf(svc));
  await note(reference('svstat'), ['svc']);
  await svc_('-c');
  await waitFor('continued', () => !pausedOf(svc));
  await svc_('-o');
  await note(reference('svstat'), ['svc']);
  await svc_('-d');
  await waitFor('down', () => pidOf(svc) === 0);
  await note(reference('svstat'), ['svc']);
  await svc_('-x');
  out.push(`exit ${await within('supervisor exit', d.exited)}`);
  await note(reference('svok'), ['svc']);
  await note(reference('svstat'), ['svc']);
  out.push(`stderr ${d.stderr()}`);
  return out;
}

t.test('daemontools svc/svstat/svok drive ours as they drive /usr/bin/supervise', needReference('supervise', 'svc', 'svstat', 'svok'), async (t) => {
  const [ref, mine] = await Promise.all([daemontoolsScenario(t, reference('supervise')), daemontoolsScenario(t, ours('supervise'))]);
  t.same(mine, ref);
});

async function runitScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', {
    // HUP ignored, so that "sv hup" leaves the run alive under both supervisors.
    run: '#!/bin/sh\necho started\ntrap "" HUP\nexec sleep 100\n',
    finish: '#!/bin/sh\necho "finish $*" >> ../fin.log\n',
  });
  const d = daemon(t, supervisor, ['svc'], dir);
  const out: string[] = [];
  const sv = async (...args: string[]) => {
    const r = await run(reference('sv'), [...args, './svc'], dir);
    out.push(`sv ${args.join(' ')} -> ${r.code} ${normalize(r.stdout)}${r.stderr}`);
  };
  await waitFor('up', () => pidOf(svc));
  await sv('status');
  await sv('-v', '-w', '5', 'down');
  await sv('-v', '-w', '5', 'up');
  // sv's own check may pass on the old run before its supervisor saw the
  // "t" (true with runsv too): wait for the new run before going on.
  const before = pidOf(svc);
  await sv('-v', '-w', '5', 'restart');
  const p = await waitFor('new run after restart', () => { const q = pidOf(svc); return q !== before && cmdline(q).startsWith('sleep') && q; });
  await sv('hup');
  await sv('kill');
  await waitFor('run again after kill and finish', () => { const q = pidOf(svc); return q && q !== p && cmdline(q).startsWith('sleep'); });
  await sv('once');
  await sv('status');
  // runsv's x stops the service; daemontools' (ours) leaves it running: bring it down first.
  await sv('-v', '-w', '5', 'down');
  await sv('exit');
  out.push(`exit ${await within('supervisor exit', d.exited)}`);
  await sv('status');
  out.push(`finish: ${fs.readFileSync(path.join(dir, 'fin.log'), 'latin1')}`);
  out.push(`stderr ${d.stderr()}`);
  return out;
}

t.test('runit sv drives ours as it drives /usr/bin/runsv (finish args)', needReference('runsv', 'sv'), async (t) => {
  const [ref, mine] = await Promise.all([runitScenario(t, reference('runsv')), runitScenario(t, ours('supervise'))]);
  // The one documented difference: "once" is stored as daemontools does
  // (want byte 0, so svstat says nothing), where runsv stores "want down".
  const i = ref.findIndex((l) => l.startsWith('sv once'));
  t.equal(ref[i + 1], 'sv status -> 0 run: ./svc: (pid N) Ss, want down\n');
  ref[i + 1] = ref[i + 1].replace(', want down', '');
  t.same(mine, ref);
});

t.test('the lock is the one both originals take', needReference('supervise', 'runsv'), async (t) => {
  const dir = tmp(t);
  const a = service(dir, 'a', { run: SLEEPER });
  const b = service(dir, 'b', { run: SLEEPER });
  daemon(t, reference('supervise'), ['a'], dir);
  daemon(t, ours('supervise'), ['b'], dir);
  await waitFor('both up', () => pidOf(a) && pidOf(b));
  const refOnOurs = await run(reference('supervise'), ['b'], dir);
  const oursOnRef = await run(ours('supervise'), ['a'], dir);
  const oursOnOurs = await run(ours('supervise'), ['b'], dir);
  const refOnRef = await run(reference('supervise'), ['a'], dir);
  t.equal(refOnRef.code, 111);
  t.equal(refOnRef.stderr, 'supervise: fatal: unable to acquire a/supervise/lock: temporary failure\n');
  t.same([oursOnRef.code, oursOnRef.stderr], [refOnRef.code, refOnRef.stderr]);
  t.same([refOnOurs.code, refOnOurs.stderr], [111, 'supervise: fatal: unable to acquire b/supervise/lock: temporary failure\n']);
  t.same([oursOnOurs.code, oursOnOurs.stderr], [refOnOurs.code, refOnOurs.stderr]);
  const runsvOnOurs = await run(reference('runsv'), ['b'], dir);
  t.same([runsvOnOurs.code, runsvOnOurs.stderr], [111, 'runsv b: fatal: unable to lock supervise/lock: temporary failure\n'],
    'runsv refuses a directory we supervise');
});

t.test('usage and bad directories as the original', needReference('supervise'), async (t) => {
  const dir = tmp(t);
  for (const args of [[], ['nonexistent']]) {
    const [ref, mine] = await Promise.all([run(reference('supervise'), args, dir), run(ours('supervise'), args, dir)]);
    t.same([mine.code, mine.stderr], [ref.code, ref.stderr], args.join(' '));
  }
});

t.test('missing or non-executable run: reported in supervise\'s words, retried, paced', needReference('supervise'), async (t) => {
  const dir = tmp(t);
  const refDir = service(dir, 'ref', {});
  const ourDir = service(dir, 'ours', {});
  const ref = daemon(t, reference('supervise'), ['ref'], dir);
  const mine = daemon(t, ours('supervise'), ['ours'], dir);
  const lines = (s: string) => s.split('\n').filter(Boolean);
  await waitFor('two reports each', () => lines(ref.stderr()).length >= 2 && lines(mine.stderr()).length >= 2);
  t.equal(lines(mine.stderr())[0], lines(ref.stderr())[0].replace('ref/', 'ours/'));
  t.equal(lines(mine.stderr())[0], 'supervise: fatal: unable to start ours/run: file does not exist');
  t.ok(supervised(ourDir), 'still supervising');
  for (const d of [refDir, ourDir]) fs.writeFileSync(path.join(d, 'run'), 'not executable\n');
  const n = lines(mine.stderr()).length;
  await waitFor('access denied', () => lines(mine.stderr()).length > n + 1 && lines(ref.stderr()).some((l) => l.endsWith('access denied')));
  const last = lines(mine.stderr()).pop()!;
  t.equal(last, lines(ref.stderr()).pop()!.replace('ref/', 'ours/'));
  t.equal(last, 'supervise: fatal: unable to start ours/run: access denied');
  fs.writeFileSync(path.join(ourDir, 'run'), SLEEPER, { mode: 0o755 });
  fs.chmodSync(path.join(ourDir, 'run'), 0o755);
  // The pid is the run's from the start; it becomes sleep once sh has exec'd it.
  const pid = await waitFor('started once run is fixed', () => { const p = pidOf(ourDir); return p && cmdline(p).startsWith('sleep') && p; });
  t.match(cmdline(pid), /^sleep 100/);
});

t.test('a service that dies at once is restarted at most once a second', async (t) => {
  const dir = tmp(t);
  service(dir, 'crash', { run: '#!/bin/sh\necho x >> ../starts\nexit 1\n' });
  const since = Date.now();
  daemon(t, ours('supervise'), ['crash'], dir);
  const starts = () => { try { return fs.readFileSync(path.join(dir, 'starts'), 'latin1').split('\n').filter(Boolean).length; } catch { return 0; } };
  await waitFor('four starts', () => starts() >= 4, 20_000);
  // Paced, at most one start per second since the supervisor began (plus the
  // first): a load that slows the machine can only lower the count, so this
  // bound holds however busy it is, where gaps between timestamps jitter.
  const n = starts();
  const seconds = (Date.now() - since) / 1000;
  t.ok(n <= Math.floor(seconds) + 1, `${n} starts in ${seconds.toFixed(1)} s`);
  const r = await run(ours('svstat'), ['-r', 'crash'], dir);
  t.match(r.stdout, /^crash: (up \(pid \d+\)|down) \d+ seconds(, normally up)?(, want up)?, restarts [3-9]\n$/);
  const plain = await run(ours('svstat'), ['crash'], dir);
  t.match(plain.stdout, /^crash: (up \(pid \d+\)|down) \d+ seconds(, normally up)?(, want up)?\n$/, 'no count without -r');
});

/**
 * 100 restarts of the service and 10 of its logger, every line accounted
 * for: the service writes 20 numbered lines then sleeps; a restart is asked
 * only once it sleeps (its lines are in the pipe), a logger restart only once
 * the log holds every line so far (a logger killed mid-copy loses its own buffer).
 */
async function noLoss(t: Test, logRun: string, logText: (svc: string) => string): Promise<void> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', {
    run: '#!/bin/sh\ni=0\nwhile [ $i -lt 20 ]; do echo "$$ $i"; i=$((i+1)); done\nexec sleep 100\n',
    log: logRun,
  });
  const log = path.join(svc, 'log');
  const d = daemon(t, ours('svscan'), ['.'], dir);
  const text = () => { try { return logText(svc); } catch { return ''; } };
  const pids: number[] = [];
  let loggers = 0;
  for (let r = 0; r <= 100; r++) {
    const pid = await waitFor(`run ${r}`, () => {
      const p = pidOf(svc);
      return p && !pids.includes(p) && cmdline(p).startsWith('sleep') && p;
    });
    pids.push(pid);
    if (r % 10 === 5) {
      await waitFor('log drained', () => text().includes(`${pid} 19\n`));
      const lp = pidOf(log);
      control(log, 't');
      await waitFor('logger restarted', () => { const p = pidOf(log); return p && p !== lp; });
      loggers++;
    }
    if (r < 100) control(svc, 't');
  }
  d.proc.kill('SIGTERM');
  t.equal(await within('svscan exit', d.exited, 20_000), 0);
  t.equal(loggers, 10);
  const got = text().split('\n').filter(Boolean);
  const want = pids.flatMap((p) => Array.from({ length: 20 }, (_, i) => `${p} ${i}`));
  t.equal(got.length, want.length, 'as many lines as written');
  t.same(got, want, 'every line, in order');
}

t.test('a logged service loses no line across restarts (cat as logger)', async (t) => {
  await noLoss(t, '#!/bin/sh\nexec cat >> ../../log.out\n', (svc) => fs.readFileSync(path.join(svc, '..', 'log.out'), 'latin1'));
});

const MULTILOG = ours('multilog');
t.test('a logged service loses no line across restarts (our multilog)', async (t) => {
  // multilog moves current aside (to @timestamp.s) when it starts again: read them all, oldest first.
  await noLoss(t, `#!/bin/sh\nexec ${MULTILOG} ./main\n`, (svc) => {
    const main = path.join(svc, 'log', 'main');
    const olds = fs.readdirSync(main).filter((f) => f.startsWith('@')).sort();
    return [...olds, 'current'].map((f) => fs.readFileSync(path.join(main, f), 'latin1')).join('');
  });
});
