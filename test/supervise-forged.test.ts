// A supervise/status left in a directory (or put there: a directory moved
// into a scan dir brings its own) names a pid and a start time; any process
// could be named there. Daemontools' supervise and runit's runsv ignore it:
// they start ./run and never signal that process. Ours, each supervisor
// beside the original it stands in for.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, control, daemon, ours, pidOf, service, tmp, waitFor } from './helpers/svdir';
import { needReference, reference, spawn } from './helpers/common';
import { State, encodeStatus } from '../src/supervise/status';
import { taiNow } from '../src/lib/tai64';

t.setTimeout(120_000);
const { skip } = needReference('supervise', 'svscan', 'runsv', 'runsvdir');

/** When pid started, in seconds since the epoch, from /proc. */
function startedAt(pid: number): number {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const ticks = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[19]);
  const btime = Number(/^btime (\d+)/m.exec(fs.readFileSync('/proc/stat', 'latin1'))![1]);
  return btime + ticks / 100;
}

/**
 * svc's directory with a status naming victim, up and running since victim
 * started; the supervisor (cmd args in dir) is then started. What happened
 * to ./run and to victim, as words to compare.
 */
async function forged(t: Test, cmd: string, args: string[]): Promise<string[]> {
  const dir = tmp(t);
  const victim = spawn('sleep', ['100'], { cwd: dir, stdio: 'ignore' });
  const gone = new Promise((res) => victim.once('exit', res));
  t.teardown(() => { victim.kill('SIGKILL'); return gone; });
  const svc = service(dir, 'svc', { run: '#!/bin/sh\necho started >> ../starts\nexec sleep 100\n' });
  fs.mkdirSync(path.join(svc, 'supervise'), { mode: 0o700 });
  const status = encodeStatus({ when: taiNow(Math.floor(startedAt(victim.pid!) * 1e6)), pid: victim.pid!, paused: false, want: 'u', term: false, state: State.Run });
  fs.writeFileSync(path.join(svc, 'supervise', 'status'), status);
  // The reference scanners run the reference supervise and runsv, from PATH.
  daemon(t, cmd, args, dir);
  const starts = path.join(path.dirname(svc), 'starts');
  await waitFor('./run started', () => fs.existsSync(starts) && pidOf(svc) && pidOf(svc) !== victim.pid, 20_000);
  const pid = pidOf(svc);
  const out = [`status names: ${pid === victim.pid ? 'victim' : 'run'}`];
  control(svc, 'd');
  await waitFor('run stopped', () => !alive(pid), 20_000);
  out.push(`victim alive after d: ${alive(victim.pid!)}`, `starts: ${fs.readFileSync(starts, 'latin1').split('\n').length - 1}`);
  return out;
}

t.test('a forged status is not adopted: ./run starts, the process named is left alone', { skip }, async (t) => {
  const expect = ['status names: run', 'victim alive after d: true', 'starts: 1'];
  for (const [prog, args] of [['supervise', ['svc']], ['runsv', ['svc']], ['svscan', ['.']], ['runsvdir', ['.']]] as const) {
    const [ref, mine] = await Promise.all([forged(t, reference(prog), [...args]), forged(t, ours(prog), [...args])]);
    t.same(ref, expect, `${prog}: the original`);
    t.same(mine, ref, `${prog}: ours as the original`);
  }
});
