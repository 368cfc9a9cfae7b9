// Our runsv beside /usr/bin/runsv, driven by runit's sv: finish arguments,
// the log service and its pipe, x (stop, then the log, then exit), TERM,
// the lock, usage; the outputs must match.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, cmdline, control, daemon, normalize, ours, pidOf, run, service, tmp, waitFor, within } from './helpers/svdir';
import { needReference, reference, sleep, which } from './helpers/common';

const { skip } = needReference('runsv', 'sv');

/** A scenario under the reference runsv and under ours, at once: [theirs, ours]. */
function sideBySide(t: Test, scenario: (t: Test, supervisor: string) => Promise<string[]>): Promise<string[][]> {
  return Promise.all([scenario(t, reference('runsv')), scenario(t, ours('runsv'))]);
}

/** sv exit on ./svc, then how the supervisor left: its exit code and what it wrote to stderr. */
async function svExit(d: ReturnType<typeof daemon>, dir: string): Promise<string[]> {
  await run(reference('sv'), ['exit', './svc'], dir);
  return [`exit ${await within('supervisor exit', d.exited, 20_000)}`, `stderr ${d.stderr()}`];
}

async function runitScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', {
    // HUP ignored, so that "sv hup" leaves the run alive under both supervisors.
    run: '#!/bin/sh\necho started\ntrap "" HUP\nexec sleep 100\n',
    finish: '#!/bin/sh\necho "finish $*" >> ../fin.log\n',
    log: '#!/bin/sh\nexec cat >> ../../log.out\n',
  });
  const d = daemon(t, supervisor, ['svc'], dir);
  const out: string[] = [];
  const sv = async (...args: string[]) => {
    const r = await run(reference('sv'), [...args, './svc'], dir);
    out.push(`sv ${args.join(' ')} -> ${r.code} ${normalize(r.stdout)}${r.stderr}`);
  };
  await waitFor('up', () => pidOf(svc) && pidOf(path.join(svc, 'log')));
  await sv('status');
  await sv('-v', '-w', '5', 'down');
  await sv('-v', '-w', '5', 'up');
  // sv's own check may pass on the old run before its supervisor saw the
  // "t": wait for the new run before going on.
  const before = pidOf(svc);
  await sv('-v', '-w', '5', 'restart');
  const p = await waitFor('new run after restart', () => { const q = pidOf(svc); return q !== before && cmdline(q).startsWith('sleep') && q; });
  await sv('hup');
  await sv('kill');
  await waitFor('run again after kill and finish', () => { const q = pidOf(svc); return q && q !== p && cmdline(q).startsWith('sleep'); });
  await sv('once');
  // sv once does not wait: let the supervisor read its control first (want, byte 17, is 'd').
  await waitFor('once read', () => { try { return fs.readFileSync(path.join(svc, 'supervise', 'status'))[17] === 0x64; } catch { return false; } });
  await sv('status');
  const logger = pidOf(path.join(svc, 'log'));
  // x on the log service alone: ignored.
  fs.writeFileSync(path.join(svc, 'log', 'supervise', 'control'), 'x');
  await sv('status');
  await sv('exit');
  out.push(`exit ${await within('supervisor exit', d.exited, 20_000)}`);
  out.push(`logger gone: ${!alive(logger)}`);
  await sv('status');
  out.push(`finish: ${fs.readFileSync(path.join(dir, 'fin.log'), 'latin1')}`);
  out.push(`log: ${fs.readFileSync(path.join(dir, 'log.out'), 'latin1')}`);
  out.push(`files: ${fs.readdirSync(path.join(svc, 'supervise')).sort().join(' ')}`);
  out.push(`log files: ${fs.readdirSync(path.join(svc, 'log', 'supervise')).sort().join(' ')}`);
  out.push(`stat: ${fs.readFileSync(path.join(svc, 'supervise', 'stat'), 'latin1')}`);
  out.push(`pid: [${fs.readFileSync(path.join(svc, 'supervise', 'pid'), 'latin1')}]`);
  out.push(`stderr ${d.stderr()}`);
  return out;
}

t.test('sv drives our runsv as it drives /usr/bin/runsv (finish args, log service, exit)', { skip }, async (t) => {
  const [ref, mine] = await sideBySide(t, runitScenario);
  t.same(mine, ref);
  t.ok(ref.some((l) => l === 'sv status -> 0 run: ./svc: (pid N) Ss, want down; run: log: (pid N) Ss\n'), 'once is want down, as runsv');
});

async function termScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  service(dir, 'svc', {
    run: '#!/bin/sh\ntrap "echo bye; exit 0" TERM\necho hello\nwhile :; do sleep 0.1; done\n',
    log: '#!/bin/sh\nexec cat >> ../../log.out\n',
  });
  const d = daemon(t, supervisor, ['svc'], dir);
  await waitFor('hello logged', () => fs.readFileSync(path.join(dir, 'log.out'), 'latin1') === 'hello\n');
  d.proc.kill('SIGTERM');
  const code = await within('exit on TERM', d.exited, 20_000);
  return [`exit ${code}`, `log: ${fs.readFileSync(path.join(dir, 'log.out'), 'latin1')}`, `stderr ${d.stderr()}`];
}

t.test('TERM: the service stops, its last line is logged, runsv exits 0', { skip }, async (t) => {
  const [ref, mine] = await sideBySide(t, termScenario);
  t.same(mine, ref);
});

t.test('lock, usage and bad directories as /usr/bin/runsv', { skip }, async (t) => {
  const dir = tmp(t);
  service(dir, 'a', { run: '#!/bin/sh\nexec sleep 100\n' });
  service(dir, 'b', { run: '#!/bin/sh\nexec sleep 100\n' });
  daemon(t, reference('runsv'), ['a'], dir);
  daemon(t, ours('runsv'), ['b'], dir);
  await waitFor('both up', () => pidOf(path.join(dir, 'a')) && pidOf(path.join(dir, 'b')));
  const refOnRef = await run(reference('runsv'), ['a'], dir);
  t.same([refOnRef.code, refOnRef.stderr], [111, 'runsv a: fatal: unable to lock supervise/lock: temporary failure\n']);
  for (const [who, target] of [['ours on theirs', 'a'], ['ours on ours', 'b']]) {
    const r = await run(ours('runsv'), [target], dir);
    t.same([r.code, r.stderr], [111, `runsv ${target}: fatal: unable to lock supervise/lock: temporary failure\n`], who);
  }
  const supOnOurs = await run(reference('supervise'), ['b'], dir);
  t.same([supOnOurs.code, supOnOurs.stderr], [111, 'supervise: fatal: unable to acquire b/supervise/lock: temporary failure\n']);
  const refMissing = await run(reference('runsv'), ['nonexistent'], dir);
  const mineMissing = await run(ours('runsv'), ['nonexistent'], dir);
  t.same([mineMissing.code, mineMissing.stderr], [refMissing.code, refMissing.stderr]);
  for (const args of [[], ['a', 'b']]) {
    const r = await run(ours('runsv'), args, dir);
    const ref = await run(reference('runsv'), args, dir);
    t.equal(r.code, ref.code, `usage exit code: ${args.join(' ')}`);
    t.equal(r.stderr.replace(ours('runsv'), 'PROG'), ref.stderr.replace(reference('runsv'), 'PROG'), 'usage line, with the program as called');
  }
});

/** State letter of pid in /proc (T when stopped), '' when gone. */
function procState(pid: number): string {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

async function customScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', {
    // ALRM ignored: a (its script not executable) sends it, and the run stays.
    run: '#!/bin/sh\ntrap "" ALRM\nexec sleep 100\n',
    log: '#!/bin/sh\nexec cat >> ../../log.out\n',
  });
  fs.mkdirSync(path.join(svc, 'control'));
  const script = (letter: string, body: string) =>
    fs.writeFileSync(path.join(svc, 'control', letter), `#!/bin/sh\necho "control ${letter}" >> ../custom.log\n${body}`, { mode: 0o755 });
  // h and p replace their signal (exit 0); t does not (exit 1); u, d and x run beside.
  script('h', 'echo "h to the log"\nexit 0\n');
  script('p', 'exit 0\n');
  script('t', 'exit 1\n');
  script('u', 'exit 0\n');
  script('d', 'exit 0\n');
  script('x', 'exit 0\n');
  // Not executable: ignored.
  fs.writeFileSync(path.join(svc, 'control', 'a'), '#!/bin/sh\necho "control a" >> ../custom.log\n', { mode: 0o644 });
  const d = daemon(t, supervisor, ['svc'], dir);
  const out: string[] = [];
  const sv = async (...args: string[]) => {
    const r = await run(reference('sv'), [...args, './svc'], dir);
    out.push(`sv ${args.join(' ')} -> ${r.code} ${normalize(r.stdout)}${r.stderr}`);
  };
  await waitFor('up', () => pidOf(svc) && pidOf(path.join(svc, 'log')));
  const first = pidOf(svc);
  await sv('hup');
  await sv('alarm');
  await sv('-v', 'pause');
  out.push(`after hup, alarm and pause: same run ${pidOf(svc) === first}, state ${procState(first)}`);
  await sv('-v', '-w', '5', 'down');
  await sv('-v', '-w', '5', 'up');
  await sv('exit');
  out.push(`exit ${await within('supervisor exit', d.exited, 20_000)}`);
  // The scripts run in the service directory, as run does.
  out.push(`custom: ${fs.readFileSync(path.join(dir, 'custom.log'), 'latin1')}`);
  out.push(`log: ${fs.readFileSync(path.join(dir, 'log.out'), 'latin1')}`);
  out.push(`stderr ${d.stderr()}`);
  return out;
}

t.test('control/<letter> scripts: run instead of the signal when they exit 0, as /usr/bin/runsv', { skip }, async (t) => {
  const [ref, mine] = await sideBySide(t, customScenario);
  t.same(mine, ref);
  t.match(ref.join('\n'), /control h/, 'the scripts ran');
});

/**
 * Commands written while a control script runs wait for it, then are done in
 * order: runsv does nothing else meanwhile; ours (one process for many
 * services under runsvdir) queues them for this service alone.
 */
async function waitingScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  // TERM ignored: the run outlives t and d, so the end state does not depend on a restart.
  const svc = service(dir, 'svc', { run: '#!/bin/sh\ntrap "" TERM\nwhile :; do sleep 0.1; done\n' });
  fs.mkdirSync(path.join(svc, 'control'));
  fs.writeFileSync(path.join(svc, 'control', 't'),
    '#!/bin/sh\necho "t start" >> ../custom.log\nwhile [ ! -e ../go ]; do sleep 0.05; done\necho "t end" >> ../custom.log\nexit 1\n', { mode: 0o755 });
  fs.writeFileSync(path.join(svc, 'control', 'h'), '#!/bin/sh\necho h >> ../custom.log\n', { mode: 0o755 });
  daemon(t, supervisor, ['svc'], dir);
  const custom = () => { try { return fs.readFileSync(path.join(dir, 'custom.log'), 'latin1'); } catch { return ''; } };
  const first = await waitFor('up', () => pidOf(svc));
  control(svc, 't');
  await waitFor('control/t running', () => custom() === 't start\n');
  control(svc, 'hd');
  fs.writeFileSync(path.join(dir, 'go'), '');
  await waitFor('t, h, then t again for d', () => custom().split('\n').length === 6, 20_000);
  const r = await run(reference('sv'), ['status', './svc'], dir);
  return [custom(), `same run: ${pidOf(svc) === first}`, normalize(r.stdout)];
}

t.test('commands written while a control script runs wait for it, as under /usr/bin/runsv', { skip }, async (t) => {
  const [ref, mine] = await sideBySide(t, waitingScenario);
  t.same(mine, ref);
  t.equal(ref[0], 't start\nt end\nh\nt start\nt end\n');
});

async function linkScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: '#!/bin/sh\nexec sleep 100\n', log: '#!/bin/sh\nexec cat >/dev/null\n' });
  // supervise/ kept elsewhere (a tmpfs under /run, typically): links to directories not made yet.
  fs.mkdirSync(path.join(dir, 'state'));
  fs.symlinkSync('../state/svc', path.join(svc, 'supervise'));
  fs.symlinkSync('../../state/svc-log', path.join(svc, 'log', 'supervise'));
  const d = daemon(t, supervisor, ['svc'], dir);
  await waitFor('up', () => pidOf(svc) && pidOf(path.join(svc, 'log')));
  const out: string[] = [];
  const r = await run(reference('sv'), ['status', './svc'], dir);
  out.push(normalize(r.stdout));
  out.push(`state: ${fs.readdirSync(path.join(dir, 'state')).sort().join(' ')}`);
  out.push(`files: ${fs.readdirSync(path.join(dir, 'state', 'svc')).sort().join(' ')}`);
  out.push(`mode: ${(fs.statSync(path.join(dir, 'state', 'svc')).mode & 0o777).toString(8)}`);
  out.push(`links kept: ${fs.lstatSync(path.join(svc, 'supervise')).isSymbolicLink()}`);
  out.push(...await svExit(d, dir));
  return out;
}

t.test('a supervise symbolic link is followed and its directory made, as /usr/bin/runsv', { skip }, async (t) => {
  const [ref, mine] = await sideBySide(t, linkScenario);
  t.same(mine, ref);
});

async function logLockScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: '#!/bin/sh\nexec sleep 100\n', log: '#!/bin/sh\nexec cat >/dev/null\n' });
  fs.mkdirSync(path.join(svc, 'log', 'supervise'));
  // Another process holds the log service's lock for a while.
  const holder = daemon(t, which('flock')!, ['-x', path.join(svc, 'log', 'supervise', 'lock'), 'sleep', '2'], dir);
  await waitFor('lock held', () => fs.existsSync(path.join(svc, 'log', 'supervise', 'lock')));
  await sleep(200);
  const d = daemon(t, supervisor, ['svc'], dir);
  const out: string[] = [];
  await sleep(1000);
  out.push(`while held: alive ${d.proc.exitCode === null}, service started ${pidOf(svc) !== 0}`);
  await within('holder gone', holder.exited, 10_000);
  await waitFor('up once free', () => pidOf(svc) && pidOf(path.join(svc, 'log')));
  out.push(normalize((await run(reference('sv'), ['status', './svc'], dir)).stdout));
  out.push(...await svExit(d, dir));
  return out;
}

t.test('the log service\'s lock is waited for, as /usr/bin/runsv', { skip: skip || (!fs.existsSync(which('flock')!) && 'needs /usr/bin/flock') }, async (t) => {
  const [ref, mine] = await sideBySide(t, logLockScenario);
  t.same(mine, ref);
  t.equal(ref[0], 'while held: alive true, service started false');
});

async function pauseDownScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: '#!/bin/sh\nexec sleep 100\n', down: true });
  const d = daemon(t, supervisor, ['svc'], dir);
  await waitFor('supervised', () => fs.existsSync(path.join(svc, 'supervise', 'stat')));
  const out: string[] = [];
  const look = async (what: string) => {
    const st = fs.readFileSync(path.join(svc, 'supervise', 'status'));
    const r = await run(reference('sv'), ['status', './svc'], dir);
    out.push(`${what}: paused byte ${st[16]}, stat ${fs.readFileSync(path.join(svc, 'supervise', 'stat'), 'latin1').trim()}, ${normalize(r.stdout).trim()}`);
  };
  // runsv writes stat, then status: wait for both (a supervisor that does
  // not get there in time shows it in the look that follows).
  const paused = (want: boolean) => waitFor(want ? 'pause taken' : 'cont taken',
    () => fs.readFileSync(path.join(svc, 'supervise', 'status'))[16] === (want ? 1 : 0)
      && fs.readFileSync(path.join(svc, 'supervise', 'stat'), 'latin1').includes('paused') === want, 2000).catch(() => undefined);
  await run(reference('sv'), ['pause', './svc'], dir);
  await paused(true);
  await look('p while down');
  await run(reference('sv'), ['-v', 'up', './svc'], dir);
  await look('then up');
  await run(reference('sv'), ['-v', 'down', './svc'], dir);
  await run(reference('sv'), ['pause', './svc'], dir);
  await paused(true);
  await run(reference('sv'), ['cont', './svc'], dir);
  await paused(false);
  await look('p then c while down');
  out.push(...await svExit(d, dir));
  return out;
}

t.test('p on a service that is down is kept until c or a start, as /usr/bin/runsv', { skip }, async (t) => {
  const [ref, mine] = await sideBySide(t, pauseDownScenario);
  t.same(mine, ref);
});

async function stuckFinishScenario(t: Test, supervisor: string): Promise<string[]> {
  const dir = tmp(t);
  const svc = service(dir, 'svc', { run: '#!/bin/sh\nexit 3\n', finish: '#!/bin/sh\nexec sleep 100\n' });
  const d = daemon(t, supervisor, ['svc'], dir);
  // runsv writes the finish state before the finish pid: wait for both.
  await waitFor('in finish', () => { try { return fs.readFileSync(path.join(svc, 'supervise', 'status'))[19] === 2 && pidOf(svc); } catch { return false; } });
  const fin = pidOf(svc);
  const r = await run(reference('sv'), ['-w', '1', 'force-shutdown', './svc'], dir);
  const out = [`force-shutdown -> ${r.code} ${normalize(r.stdout)}`];
  out.push(`exit ${await within('supervisor exit', d.exited, 20_000)}`);
  out.push(`finish left running: ${alive(fin)}`, `stderr ${d.stderr()}`);
  return out;
}

t.test('force-shutdown while finish hangs: runsv leaves, finish runs on, as /usr/bin/runsv', { skip }, async (t) => {
  const [ref, mine] = await sideBySide(t, stuckFinishScenario);
  t.same(mine, ref);
});
