// daemontools' division of labour: supervise supervises its directory only,
// svscan starts a second supervise for dir/log; x leaves the service alone.
// Differential: /usr/bin/svscan running our supervise, and our svscan driven
// by /usr/bin/svc, svstat and svok, each beside the all-daemontools run.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, daemon, normalize, ours, pidOf, run, service, tmp, waitFor, within } from './helpers/svdir';
import { needReference, reference, sleep } from './helpers/common';

const SLEEPER = '#!/bin/sh\nexec sleep 100\n';
const { skip } = needReference('svscan', 'supervise', 'svc', 'svstat', 'svok');
/** A PATH on which svscan finds the reference supervise. */
const refPath = () => `${path.dirname(reference('supervise'))}:/usr/bin:/bin`;

/** x: the supervisor stays while the run runs, leaves it running, exits once it is down. */
async function exitScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: SLEEPER, log: '#!/bin/sh\ntouch ../../log-ran\nexec cat\n' });
  const d = daemon(t, supervisor, ['svc'], dir);
  const out: string[] = [];
  const note = async (cmd: string, args: string[]) => {
    const r = await run(cmd, args, dir);
    out.push(`${path.basename(cmd)} ${args.join(' ')} -> ${r.code} ${normalize(r.stdout)}${r.stderr}`);
  };
  const p0 = await waitFor('up', () => pidOf(svc));
  await run(reference('svc'), ['-x', 'svc'], dir);
  // Give a supervisor that would (wrongly) stop the run or leave at once the time to do it.
  await sleep(700);
  out.push(`run alive after -x: ${alive(p0)}`);
  out.push(`supervisor alive after -x: ${d.proc.exitCode === null}`);
  await note(reference('svok'), ['svc']);
  await note(reference('svstat'), ['svc']);
  await run(reference('svc'), ['-d', 'svc'], dir);
  out.push(`exit ${await within('supervisor exit', d.exited)}`);
  out.push(`run alive after -d: ${alive(p0)}`);
  await note(reference('svstat'), ['svc', 'svc/log']);
  out.push(`log/supervise made: ${fs.existsSync(path.join(svc, 'log', 'supervise'))}`);
  out.push(`log/run ran: ${fs.existsSync(path.join(dir, 'log-ran'))}`);
  out.push(`stderr ${d.stderr()}`);
  return out;
}

t.test('supervise: dir only, and svc -x leaves the service running until it is down', { skip }, async (t) => {
  const [ref, mine] = await Promise.all([exitScenario(t, reference('supervise')), exitScenario(t, ours('supervise'))]);
  t.same(mine, ref);
  t.equal(ref[0], 'run alive after -x: true');
});

/** A tree under svscan: a logged service and a plain one; observed with the daemontools tools. */
async function scanScenario(t: Test, scanner: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const dir = tmp(t);
  const a = service(dir, 'a', {
    run: '#!/bin/sh\necho "a started"\nexec sleep 100\n',
    log: '#!/bin/sh\nexec cat >> ../../a.log\n',
  });
  const b = service(dir, 'b', { run: SLEEPER });
  const scan = daemon(t, scanner, [dir], dir, env);
  const out: string[] = [];
  const note = async (cmd: string, args: string[]) => {
    const r = await run(cmd, args, dir);
    out.push(`${path.basename(cmd)} ${args.join(' ')} -> ${r.code} ${normalize(r.stdout)}${r.stderr}`);
  };
  await waitFor('a, a/log and b up', () => pidOf(a) && pidOf(path.join(a, 'log')) && pidOf(b));
  await waitFor('a logged', () => fs.readFileSync(path.join(dir, 'a.log'), 'latin1') === 'a started\n');
  await note(reference('svstat'), ['a', 'a/log', 'b']);
  for (const d of ['a', 'a/log', 'b']) await note(reference('svok'), [d]);
  await run(reference('svc'), ['-d', 'b'], dir);
  await waitFor('b down', () => pidOf(b) === 0);
  await note(reference('svstat'), ['b']);
  // -dx: b's supervisor leaves; svscan takes b up again within its 5 s rescan.
  await run(reference('svc'), ['-x', 'b'], dir);
  await waitFor('b up again by rescan', () => pidOf(b), 15_000);
  await note(reference('svstat'), ['b']);
  // The log service restarts; its service's next line still reaches the file.
  const l1 = pidOf(path.join(a, 'log'));
  await run(reference('svc'), ['-t', 'a/log'], dir);
  await waitFor('a/log restarted', () => { const p = pidOf(path.join(a, 'log')); return p && p !== l1; });
  await run(reference('svc'), ['-t', 'a'], dir);
  await waitFor('a logged twice', () => fs.readFileSync(path.join(dir, 'a.log'), 'latin1') === 'a started\na started\n');
  out.push(`stderr ${scan.stderr()}`);
  return out;
}

t.test('/usr/bin/svscan runs our supervise as it runs its own', { skip }, async (t) => {
  const linked = tmp(t);
  // A PATH whose supervise is ours, everything else Debian's.
  fs.symlinkSync(ours('supervise'), path.join(linked, 'supervise'));
  const PATH = `${linked}:${refPath()}`;
  const [ref, mine] = await Promise.all([
    scanScenario(t, reference('svscan'), { PATH: refPath() }),
    scanScenario(t, reference('svscan'), { PATH }),
  ]);
  t.same(mine, ref);
  t.notMatch(mine.join('\n'), /unable to acquire/);
});

t.test('our svscan, driven by the daemontools tools, as /usr/bin/svscan with its supervise', { skip }, async (t) => {
  const [ref, mine] = await Promise.all([
    scanScenario(t, reference('svscan'), { PATH: refPath() }),
    scanScenario(t, ours('svscan'), {}),
  ]);
  t.same(mine, ref);
});

t.test('runit sv on a service under our svscan', needReference('sv'), async (t) => {
  const dir = tmp(t);
  const a = service(dir, 'a', { run: SLEEPER, log: '#!/bin/sh\nexec cat > /dev/null\n' });
  daemon(t, ours('svscan'), [dir], dir);
  await waitFor('a and a/log up', () => pidOf(a) && pidOf(path.join(a, 'log')));
  const st = await run(reference('sv'), ['status', './a'], dir);
  t.equal(normalize(st.stdout), 'run: ./a: (pid N) Ss; run: log: (pid N) Ss\n');
  const down = await run(reference('sv'), ['-w', '5', 'down', './a'], dir);
  t.equal(normalize(down.stdout), 'ok: down: ./a: Ss, normally up\n');
  const up = await run(reference('sv'), ['-w', '5', 'up', './a'], dir);
  t.equal(normalize(up.stdout), 'ok: run: ./a: (pid N) Ss\n');
});

t.test('supervise/restarts left by an earlier supervisor is not shown as current', { skip }, async (t) => {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: SLEEPER });
  const first = daemon(t, ours('supervise'), ['svc'], dir);
  const p0 = await waitFor('up', () => pidOf(svc));
  t.match((await run(ours('svstat'), ['-r', 'svc'], dir)).stdout, /^svc: up \(pid \d+\) \d+ seconds, restarts 0\n$/);
  await run(reference('svc'), ['-dx', 'svc'], dir);
  await within('exit', first.exited);
  t.notOk(alive(p0));
  t.ok(fs.existsSync(path.join(svc, 'supervise', 'restarts')), 'our count is still on disk');
  daemon(t, reference('supervise'), ['svc'], dir);
  await waitFor('up under /usr/bin/supervise', () => pidOf(svc));
  const r = await run(ours('svstat'), ['-r', 'svc'], dir);
  t.match(r.stdout, /^svc: up \(pid \d+\) \d+ seconds\n$/, 'no count: it belongs to the status of another supervisor');
});

/** Each d sends TERM (and CONT) again while the run is alive, not only the first. */
async function againScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: '#!/bin/sh\ntrap "echo TERM >> ../terms" TERM\nwhile :; do sleep 0.1; done\n' });
  daemon(t, supervisor, ['svc'], dir);
  const terms = () => { try { return fs.readFileSync(path.join(dir, 'terms'), 'latin1'); } catch { return ''; } };
  const p0 = await waitFor('up', () => pidOf(svc));
  await run(reference('svc'), ['-d', 'svc'], dir);
  await waitFor('the first TERM', () => terms() === 'TERM\n');
  await run(reference('svc'), ['-d', 'svc'], dir);
  await waitFor('the second TERM', () => terms() === 'TERM\nTERM\n');
  const st = await run(reference('svstat'), ['svc'], dir);
  return [`same run: ${pidOf(svc) === p0}`, normalize(st.stdout)];
}

t.test('supervise: a second d sends TERM again, as /usr/bin/supervise', { skip }, async (t) => {
  const [ref, mine] = await Promise.all([againScenario(t, reference('supervise')), againScenario(t, ours('supervise'))]);
  t.same(mine, ref);
});
