// Our runsv beside /usr/bin/runsv, driven by runit's sv: finish arguments,
// the log service and its pipe, x (stop, then the log, then exit), TERM,
// the lock, usage; the outputs must match.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, cmdline, daemon, normalize, ours, pidOf, run, service, tmp, waitFor, within } from './helpers/svdir';
import { needReference, reference } from './helpers/common';

const { skip } = needReference('runsv', 'sv');

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
  const [ref, mine] = await Promise.all([runitScenario(t, reference('runsv')), runitScenario(t, ours('runsv'))]);
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
  const [ref, mine] = await Promise.all([termScenario(t, reference('runsv')), termScenario(t, ours('runsv'))]);
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
