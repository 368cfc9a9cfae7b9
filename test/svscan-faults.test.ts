// Fault isolation in the scanners: one process supervises every service, so
// no service may stall or end it for the others. Each case puts one hostile
// service beside a plain one, provokes it, then kills the plain one's run:
// it must be started again, and must still answer control commands, while
// the hostile one hangs, floods or fails.
import t, { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, control, daemon, ours, pidOf, service, tmp, waitFor } from './helpers/svdir';
import { Service } from '../src/supervise/service';
import { spawn } from './helpers/common';

t.setTimeout(240_000);

const SLEEP = '#!/bin/sh\nexec sleep 100\n';

interface Hostile {
  /** Write the hostile service(s) into dir. */
  make(dir: string): void;
  /** Provoke it once the plain service is up. */
  provoke?(dir: string): void;
}

async function isolated(t: Test, scanner: 'svscan' | 'runsvdir', h: Hostile, args: string[] = []): Promise<void> {
  const dir = tmp(t);
  const good = service(dir, 'zgood', { run: SLEEP });
  h.make(dir);
  const d = daemon(t, ours(scanner), scanner === 'svscan' ? ['.'] : ['.', ...args], dir);
  const p1 = await waitFor('the plain service up', () => pidOf(good), 20_000);
  h.provoke?.(dir);
  process.kill(p1, 'SIGKILL');
  const p2 = await waitFor('the plain service started again', () => { const p = pidOf(good); return p && p !== p1 && p; }, 20_000);
  t.not(p2, p1, 'run started again');
  control(good, 'd');
  await waitFor('the plain service down on d', () => !alive(p2) && pidOf(good) === 0, 20_000);
  t.equal(d.proc.exitCode, null, `${scanner} still running`);
}

/** FIFOs where the supervisor writes its files: an open for writing would wait for a reader for ever. */
const fifos: Hostile = {
  make(dir) {
    const sup = path.join(service(dir, 'afifo', { run: SLEEP }), 'supervise');
    fs.mkdirSync(sup, { mode: 0o700 });
    for (const f of ['status.new', 'restarts.new', 'info.new', 'stat.new', 'pid.new']) execFileSync('mkfifo', [path.join(sup, f)]);
  },
};

/** runsv's control/t that never ends: runsv waits for it, and so does that service; not the others. */
const slowControl: Hostile = {
  make(dir) {
    const slow = service(dir, 'aslow', { run: SLEEP });
    fs.mkdirSync(path.join(slow, 'control'));
    fs.writeFileSync(path.join(slow, 'control', 't'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
  },
  provoke(dir) {
    control(path.join(dir, 'aslow'), 't');
  },
};

/** A run that floods a log service that never reads, and one that floods stderr. */
const floods: Hostile = {
  make(dir) {
    service(dir, 'aflood', { run: '#!/bin/sh\nexec yes flood\n', log: '#!/bin/sh\nexec sleep 1000\n' });
  },
};
const stderrFlood: Hostile = {
  make(dir) {
    service(dir, 'aflood', { run: '#!/bin/sh\nexec yes flood >&2\n' });
  },
};

/** A flood of control letters (c: continue, each a signal and a status written) into one service's FIFO. */
const controlFlood: Hostile = {
  make(dir) {
    service(dir, 'aflood', { run: SLEEP });
  },
  provoke(dir) {
    // Killed at teardown with everything whose directory is under dir.
    spawn('sh', ['-c', 'yes c | tr -d "\\n" > aflood/supervise/control'], { cwd: dir, stdio: 'ignore' });
  },
};

/** Files of the wrong kind: supervise a regular file, control a regular file, log a FIFO, run a directory. */
const wrongKinds: Hostile = {
  make(dir) {
    fs.writeFileSync(path.join(service(dir, 'a1', { run: SLEEP }), 'supervise'), '');
    const sup = path.join(service(dir, 'a2', { run: SLEEP }), 'supervise');
    fs.mkdirSync(sup);
    fs.writeFileSync(path.join(sup, 'control'), '');
    execFileSync('mkfifo', [path.join(service(dir, 'a3', { run: SLEEP }), 'log')]);
    fs.mkdirSync(path.join(service(dir, 'a4', {}), 'run'));
  },
};

for (const scanner of ['svscan', 'runsvdir'] as const) {
  t.test(`${scanner}: FIFOs for supervise/*.new do not stall the others`, (t) => isolated(t, scanner, fifos));
  t.test(`${scanner}: a run flooding a log that never reads does not stall the others`, (t) => isolated(t, scanner, floods));
  t.test(`${scanner}: files of the wrong kind do not stall the others`, (t) => isolated(t, scanner, wrongKinds));
  t.test(`${scanner}: a flood of control letters to one service does not stall the others`, (t) => isolated(t, scanner, controlFlood));
}
t.test('runsvdir: a control script that never ends does not stall the others', (t) => isolated(t, 'runsvdir', slowControl));
t.test('runsvdir: a run flooding stderr into the log argument does not stall the others', (t) =>
  isolated(t, 'runsvdir', stderrFlood, [`log: ${'.'.repeat(200)}`]));

/**
 * A fault inside one service's handling (here the owner's hook throws when
 * the service goes down): said as a warning; the process, this service's
 * next commands and another service in the same process go on. Before, the
 * exception escaped from the child's exit handler and ended the process.
 */
t.test('a fault in one service is said, and neither ends the process nor stops another', async (t) => {
  const dir = tmp(t);
  const said: string[] = [];
  const make = (name: string, exited: () => void) => {
    const d = service(dir, name, { run: SLEEP });
    return new Service(name, d, { stdin: 'inherit', stdout: 'inherit' }, { say: (l) => said.push(l), exited });
  };
  const bad = make('bad', () => { throw new Error('the hook failed'); });
  const good = make('good', () => {});
  t.teardown(() => { bad.close(); good.close(); });
  t.ok(bad.open() && good.open(), 'both taken up');
  const p1 = await waitFor('both up', () => bad.pid && good.pid && bad.pid);
  // x then d: down, then the throwing hook.
  bad.control('x');
  bad.control('d');
  await waitFor('the fault said', () => said.find((l) => l.includes('unexpected error: the hook failed')), 20_000);
  t.notOk(alive(p1), 'its run stopped');
  const g1 = good.pid;
  process.kill(g1, 'SIGKILL');
  await waitFor('the other service restarted', () => good.pid && good.pid !== g1, 20_000);
  good.control('d');
  await waitFor('the other service down on d', () => good.phase === 'down', 20_000);
});
