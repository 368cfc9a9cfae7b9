// s6's readiness convention under our svscan and our runsvdir: notification-fd
// in the service directory, a pipe on that descriptor, a newline for ready.
// sv -w and svc --wait return only once supervise/ready is current (checked
// through the files, not by timing); a service that never says so times out
// in runit's words; readiness ends with the run; svstat --long reports it;
// Debian's supervisors know nothing of it, and our leftovers never pass for theirs.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, daemon, normalize, ours, pidOf, run, service, tmp, waitFor } from './helpers/svdir';
import { needReference, reference } from './helpers/common';
import { decodeReady } from '../src/supervise/extra';

t.setTimeout(240_000);

/** Says it is ready on fd after a while (a file the test makes), then runs on. */
const lateRun = (fd = 5) => `#!/bin/sh\nwhile [ ! -e ../go ]; do sleep 0.02; done\necho ready >&${fd}\nexec sleep 100\n`;
const LATE = lateRun();
/** Given the descriptor, never writes to it. */
const NEVER = '#!/bin/sh\nexec sleep 100\n';

/** Whether dir's supervise/ready goes with its current status. */
function readyNow(svc: string): boolean {
  try {
    const status = fs.readFileSync(path.join(svc, 'supervise', 'status'));
    return decodeReady(fs.readFileSync(path.join(svc, 'supervise', 'ready'), 'latin1'), status) !== null;
  } catch {
    return false;
  }
}

/** The unix second of dir's last status change. */
function statusSec(svc: string): number {
  return Number(fs.readFileSync(path.join(svc, 'supervise', 'status')).readBigUInt64BE(0) - (1n << 62n) - 10n);
}

function withFd(svc: string, fd = 5): string {
  fs.writeFileSync(path.join(svc, 'notification-fd'), `${fd}\n`);
  return svc;
}

const SCANNERS: Array<{ name: string; start: (t: Test, dir: string) => ReturnType<typeof daemon> }> = [
  { name: 'our svscan', start: (t, dir) => daemon(t, ours('svscan'), ['.'], dir) },
  { name: 'our runsvdir', start: (t, dir) => daemon(t, ours('runsvdir'), [dir], dir, { PATH: `${BIN}:${process.env.PATH}` }) },
];

for (const sc of SCANNERS) {
  t.test(`${sc.name}: sv -w 5 up returns once the run said it is ready`, async (t) => {
    const dir = tmp(t);
    const svc = withFd(service(dir, 'late', { run: LATE, down: true }));
    const d = sc.start(t, dir);
    await waitFor('supervised', () => fs.existsSync(path.join(svc, 'supervise', 'status')));
    let returned = false;
    const pending = run(ours('sv'), ['-w', '5', 'up', './late'], dir).finally(() => { returned = true; });
    // Up, but not ready: sv is still waiting, and says so nowhere yet.
    await waitFor('run up', () => pidOf(svc));
    const long = await run(ours('svstat'), ['--long', 'late'], dir);
    t.match(long.stdout, /\n {2}ready: no\n/, 'svstat --long: not ready');
    t.notOk(readyNow(svc), 'not ready before it says so');
    // Long enough up for sv to have looked at it more than once.
    await waitFor('the run a second old', () => Math.floor(Date.now() / 1000) > statusSec(svc));
    t.notOk(returned, 'sv still waiting for ready');
    fs.writeFileSync(path.join(dir, 'go'), '');
    const r = await pending;
    t.ok(readyNow(svc), 'supervise/ready was current when sv returned');
    t.equal(r.code, 0);
    t.match(r.stdout, /^ok: run: \.\/late: \(pid \d+\) \d+s, normally down\n$/);
    const after = await run(ours('svstat'), ['--long', 'late'], dir);
    t.match(after.stdout, /^late: up \(pid \d+\) \d+ seconds, normally down\n {2}uptime: \d+ seconds\n {2}restarts: 0\n {2}last exit: -\n {2}ready: yes, \d+ seconds\n {2}respawn: -\n$/);
    // A restart: sv waits for the new run's readiness (the old one's no longer
    // counts). runit's sv takes a run started in an earlier second than its
    // own start for the old one: let that second pass first.
    await waitFor('the run a second old', () => Math.floor(Date.now() / 1000) > statusSec(svc));
    const before = pidOf(svc);
    const rr = await run(ours('sv'), ['-w', '5', 'restart', './late'], dir);
    t.equal(rr.code, 0, 'restart ok');
    t.not(pidOf(svc), before, 'a new run');
    t.ok(readyNow(svc), 'and it is ready');
    t.match((await run(ours('svstat'), ['--long', 'late'], dir)).stdout, /\n {2}restarts: 1\n {2}last exit: signal 15 \(SIGTERM\)\n {2}ready: yes/);
    // Down: readiness goes with the run.
    await run(ours('sv'), ['-w', '5', 'down', './late'], dir);
    t.notOk(fs.existsSync(path.join(svc, 'supervise', 'ready')), 'supervise/ready removed');
    t.match((await run(ours('svstat'), ['--long', 'late'], dir)).stdout, /\n {2}uptime: -\n(.*\n){2} {2}ready: -\n/);
    t.equal(d.stderr(), '');
  });

  t.test(`${sc.name}: svc --wait waits for up and ready, and names a service late`, async (t) => {
    const dir = tmp(t);
    const late = withFd(service(dir, 'late', { run: lateRun(7), down: true }), 7);
    const never = withFd(service(dir, 'never', { run: NEVER, down: true }));
    sc.start(t, dir);
    await waitFor('supervised', () => fs.existsSync(path.join(late, 'supervise', 'status')) && fs.existsSync(path.join(never, 'supervise', 'status')));
    const pending = run(ours('svc'), ['--wait', '5', '-u', 'late'], dir);
    await waitFor('run up', () => pidOf(late));
    t.notOk(readyNow(late));
    fs.writeFileSync(path.join(dir, 'go'), '');
    const r = await pending;
    t.same([r.code, r.stdout, r.stderr], [0, '', '']);
    t.ok(readyNow(late), 'ready when svc returned');
    const n = await run(ours('svc'), ['--wait=1', '-u', 'never'], dir);
    t.same([n.code, n.stderr], [111, 'svc: warning: timeout: never not up and ready after 1 seconds\n']);
    t.ok(pidOf(never), 'up all the same');
    t.match((await run(ours('svstat'), ['--long', 'never'], dir)).stdout, /\n {2}ready: no\n/);
    const down = await run(ours('svc'), ['--wait', '5', '-d', 'late', 'never'], dir);
    t.same([down.code, pidOf(late), pidOf(never)], [0, 0, 0], 'down, both');
    const bad = await run(ours('svc'), ['--wait', 'soon', '-u', 'late'], dir);
    t.equal(bad.code, 100);
    t.match(bad.stderr, /^svc: --wait: not a number of seconds: soon\nsvc options: /);
  });

  t.test(`${sc.name}: a run that never says it is ready makes sv -w 1 up time out as runit's sv does`, needReference('sv'), async (t) => {
    const dir = tmp(t);
    withFd(service(dir, 'never', { run: NEVER, down: true }));
    // The same wait with runit's own reason to wait: a ./check that fails.
    const chk = service(dir, 'chk', { run: NEVER, down: true });
    fs.writeFileSync(path.join(chk, 'check'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    sc.start(t, dir);
    await waitFor('supervised', () => fs.existsSync(path.join(dir, 'never', 'supervise', 'status')) && fs.existsSync(path.join(chk, 'supervise', 'status')));
    const [mine, theirs] = await Promise.all([
      run(ours('sv'), ['-w', '1', 'up', './never'], dir),
      run(reference('sv'), ['-w', '1', 'up', './chk'], dir),
    ]);
    t.equal(mine.code, 1);
    t.same([mine.code, normalize(mine.stdout).replace('never', 'X'), mine.stderr], [theirs.code, normalize(theirs.stdout).replace('chk', 'X'), theirs.stderr]);
    t.match(mine.stdout, /^timeout: run: \.\/never: \(pid \d+\) \d+s, normally down\n$/);
    // Runit's sv knows nothing of readiness: up is up to it.
    const ref = await run(reference('sv'), ['-w', '1', 'up', './never'], dir);
    t.equal(ref.code, 0);
  });
}

t.test('readiness under Debian\'s runsv: none, and our files left behind are not current', needReference('runsv', 'sv'), async (t) => {
  const dir = tmp(t);
  const svc = withFd(service(dir, 'svc', { run: '#!/bin/sh\necho >&5\nexec sleep 100\n' }));
  const mine = daemon(t, ours('runsv'), ['svc'], dir);
  await waitFor('ready under ours', () => readyNow(svc));
  t.match((await run(ours('svstat'), ['--long', 'svc'], dir)).stdout, /\n {2}ready: yes/);
  // Ours leaves (x), the service with it; supervise/info stays behind.
  await run(ours('sv'), ['exit', './svc'], dir);
  await mine.exited;
  t.ok(fs.existsSync(path.join(svc, 'supervise', 'info')), 'our info is still there');
  daemon(t, reference('runsv'), ['svc'], dir);
  await waitFor('up under Debian\'s runsv', () => pidOf(svc) && fs.readFileSync(path.join(svc, 'supervise', 'stat'), 'latin1') === 'run\n');
  const long = await run(ours('svstat'), ['--long', 'svc'], dir);
  t.match(long.stdout, /^svc: up \(pid \d+\) \d+ seconds\n {2}uptime: \d+ seconds\n {2}restarts: -\n {2}last exit: -\n {2}ready: -\n {2}respawn: -\n$/, 'what it can: the uptime');
  // Nothing to wait for: runsv gave no descriptor.
  const r = await run(ours('sv'), ['-w', '2', 'up', './svc'], dir);
  t.same([r.code, normalize(r.stdout)], [0, 'ok: run: ./svc: (pid N) Ss\n']);
  const sv = await run(ours('sv'), ['status', './svc'], dir);
  const ref = await run(reference('sv'), ['status', './svc'], dir);
  t.equal(normalize(sv.stdout), normalize(ref.stdout), 'sv status as runit\'s');
});

t.test('svstat --long under daemontools\' supervise: the status, and nothing more', needReference('supervise'), async (t) => {
  const dir = tmp(t);
  const svc = withFd(service(dir, 'svc', { run: '#!/bin/sh\nexec sleep 100\n' }));
  fs.writeFileSync(path.join(svc, 'respawn-max'), '3\n');
  daemon(t, reference('supervise'), ['svc'], dir);
  await waitFor('up', () => pidOf(svc));
  const long = await run(ours('svstat'), ['--long', 'svc', 'nosuch'], dir);
  t.match(long.stdout, /^svc: up \(pid \d+\) \d+ seconds\n {2}uptime: \d+ seconds\n {2}restarts: -\n {2}last exit: -\n {2}ready: -\n {2}respawn: -\nnosuch: unable to chdir: file does not exist\n$/);
});
