// Our svc, svok and svstat beside /usr/bin/svc, svok and svstat: same words,
// same exit codes, run against the real /usr/bin/supervise and against ours.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needReference, reference } from './helpers/common';
import { alive, daemon, normalize, ours, pausedOf, pidOf, run, service, supervised, tmp, waitFor, within } from './helpers/svdir';

const SLEEPER = '#!/bin/sh\nexec sleep 100\n';

/** A directory with supervised, unsupervised and broken entries. */
async function setup(t: Test, supervisor: string): Promise<string> {
  const dir = tmp(t);
  service(dir, 'up', { run: SLEEPER });
  service(dir, 'dn', { run: SLEEPER, down: true });
  service(dir, 'nosup', { run: SLEEPER });
  const stale = service(dir, 'stale', { run: SLEEPER });
  fs.writeFileSync(path.join(dir, 'file'), '');
  // A directory a supervisor has left: its FIFOs stay, nobody reads them.
  const gone = daemon(t, supervisor, ['stale'], dir);
  await waitFor('stale up', () => pidOf(stale));
  await run(reference('svc'), ['-dx', 'stale'], dir);
  await within('stale supervisor exit', gone.exited);
  daemon(t, supervisor, ['up'], dir);
  daemon(t, supervisor, ['dn'], dir);
  await waitFor('up and dn supervised', () => pidOf(path.join(dir, 'up')) && supervised(path.join(dir, 'dn')));
  return dir;
}

const ENTRIES = ['up', 'dn', 'nosup', 'stale', 'nonexistent', 'file'];

async function same(t: Test, dir: string, tool: string, args: string[], isOurs: boolean): Promise<void> {
  const [ref, mine] = await Promise.all([run(reference(tool), args, dir), run(ours(tool), args, dir)]);
  const out = mine.stdout;
  if (tool === 'svstat' && args.length) {
    // -r (ours) adds the count exactly where our supervisor wrote the current status.
    const r = await run(ours(tool), ['-r', ...args], dir);
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const counted = /, restarts \d+$/.test(line);
      t.equal(counted, isOurs && /^(up|dn): (up|down)/.test(line), `restarts shown with -r: ${line}`);
    }
    t.equal(normalize(r.stdout.replace(/, restarts \d+$/gm, '')), normalize(mine.stdout), 'otherwise the same lines');
  }
  t.same([mine.code, normalize(out), mine.stderr], [ref.code, normalize(ref.stdout), ref.stderr], `${tool} ${args.join(' ')}`);
}

for (const name of ['the reference supervise', 'ours']) {
  const isOurs = name === 'ours';
  const tools = ['svc', 'svstat', 'svok', ...(isOurs ? [] : ['supervise'])];
  const supervisor = () => (isOurs ? ours('supervise') : reference('supervise'));
  t.test(`svstat, svok, svc errors against ${name}`, needReference(...tools), async (t) => {
    const dir = await setup(t, supervisor());
    await same(t, dir, 'svstat', ENTRIES, isOurs);
    await same(t, dir, 'svstat', [], isOurs);
    for (const e of ENTRIES) await same(t, dir, 'svok', [e], isOurs);
    await same(t, dir, 'svok', [], isOurs);
    await same(t, dir, 'svc', ['-u', ...ENTRIES.slice(2)], isOurs);
    await same(t, dir, 'svc', ['-uz', 'up'], isOurs);
    await same(t, dir, 'svc', [], isOurs);
    await same(t, dir, 'svc', ['up'], isOurs);
  });

  t.test(`our svc drives ${name}`, needReference(...tools), async (t) => {
    const dir = await setup(t, supervisor());
    const up = path.join(dir, 'up');
    const dn = path.join(dir, 'dn');
    const svc = (...args: string[]) => run(ours('svc'), args, dir);
    const stat = async (d: string) => normalize((await run(reference('svstat'), [d], dir)).stdout);
    const p0 = pidOf(up);
    t.equal((await svc('-d', 'up')).code, 0);
    await waitFor('down', () => pidOf(up) === 0);
    t.equal(await stat('up'), 'up: down S seconds, normally up\n');
    await svc('-u', 'up');
    const p1 = await waitFor('up', () => pidOf(up));
    t.not(p1, p0);
    await svc('-p', 'up');
    await waitFor('paused', () => pausedOf(up));
    t.equal(await stat('up'), 'up: up (pid N) S seconds, paused\n');
    await svc('-c', 'up');
    await waitFor('continued', () => !pausedOf(up));
    await svc('-k', 'up');
    await waitFor('restarted after -k', () => { const p = pidOf(up); return p && p !== p1; });
    await svc('-o', 'dn');
    const pd = await waitFor('dn up once', () => pidOf(dn));
    t.equal(await stat('dn'), 'dn: up (pid N) S seconds, normally down\n');
    await svc('-t', 'dn');
    await waitFor('dn down after its one run', () => pidOf(dn) === 0);
    t.equal(await stat('dn'), 'dn: down S seconds\n');
    t.notOk(alive(pd), 'its one run is over');
    await svc('-dx', 'up', 'dn');
    await waitFor('both supervisors gone', () => !supervised(up) && !supervised(dn));
    t.equal(await stat('up'), 'up: supervise not running\n');
  });
}
