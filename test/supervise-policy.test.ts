// The restart policy files of a service directory (respawn-delay,
// respawn-backoff, respawn-max, respawn-period) under our svscan and our
// runsvdir: the delays the supervisor chose, read back from supervise/info
// by each run (never measured), the restarts counted, the service left down
// and said so, u as the override, svstat --long's report of it; then the
// pure rules (policy.ts) and the files' bytes (extra.ts).
import t, { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, daemon, ours, pidOf, run, service, tmp, waitFor } from './helpers/svdir';
import { needReference, reference } from './helpers/common';
import { decide, freshMemory, NO_POLICY, parseValue, readPolicy } from '../src/supervise/policy';
import { decodeInfo, decodeReady, encodeInfo, encodeReady, readExtended } from '../src/supervise/extra';
import { State, encodeStatus } from '../src/supervise/status';
import { extended } from '../src/supervise/svstat';

t.setTimeout(240_000);

interface Supervisor {
  name: string;
  /** Start the scanner over dir. */
  start(t: Test, dir: string): ReturnType<typeof daemon>;
  /** The administrator's "up" for service name, with our control tool of that family. */
  up(dir: string, name: string): Promise<unknown>;
  /** The line the supervisor says when it leaves name down. */
  stayDown(name: string, n: number, max: number, within: string): string;
  /** Its complaint about a policy file. */
  bad(name: string, file: string, why: string): string;
}

const SUPERVISORS: Supervisor[] = [
  {
    name: 'our svscan',
    start: (t, dir) => daemon(t, ours('svscan'), ['.'], dir),
    up: (dir, name) => run(ours('svc'), ['-u', name], dir),
    stayDown: (name, n, max, within) => `supervise: warning: ${name}: run ended again after ${n} restarts ${within} (respawn-max ${max}): left down until svc -u\n`,
    bad: (name, file, why) => `supervise: warning: ${name}/${file}: ${why}: ignored\n`,
  },
  {
    name: 'our runsvdir',
    start: (t, dir) => daemon(t, ours('runsvdir'), [dir], dir, { PATH: `${BIN}:${process.env.PATH}` }),
    up: (dir, name) => run(ours('sv'), ['up', `./${name}`], dir),
    stayDown: (name, n, max, within) => `runsv ${name}: warning: run ended again after ${n} restarts ${within} (respawn-max ${max}): left down until sv up\n`,
    bad: (name, file, why) => `runsv ${name}: warning: ${file}: ${why}: ignored\n`,
  },
];

/**
 * A run that waits (boundedly) until the supervisor published supervise/status
 * for this very run (its pid is this shell's) and supervise/info with it
 * (its status line is that status's label),
 * appends the delay it was started after to ../delays, and fails. TERM is
 * ignored, so that a down never cuts a run between its two lines.
 */
const REPORTER = `#!/bin/sh
trap "" TERM
echo x >> ../starts
i=0
while :; do
  p=$(od -An -tu4 -j12 -N4 supervise/status | tr -d ' \\n')
  s=$(od -An -tx1 -N12 supervise/status | tr -d ' \\n')
  l=$(sed -n 's/^status //p' supervise/info 2>/dev/null)
  [ "$p" = "$$" ] && [ -n "$s" ] && [ "$s" = "$l" ] && break
  i=$((i+1)); [ $i -gt 500 ] && break
  sleep 0.01
done
sed -n 's/^delay //p' supervise/info >> ../delays
exit 1
`;

function lines(file: string): string[] {
  try { return fs.readFileSync(file, 'latin1').split('\n').filter(Boolean); } catch { return []; }
}

function info(svc: string) {
  try {
    const status = fs.readFileSync(path.join(svc, 'supervise', 'status'));
    return decodeInfo(fs.readFileSync(path.join(svc, 'supervise', 'info'), 'latin1'), status);
  } catch {
    return null;
  }
}

for (const sup of SUPERVISORS) {
  t.test(`${sup.name}: respawn-backoff doubles the delay from respawn-delay up to its cap`, async (t) => {
    const dir = tmp(t);
    const svc = service(dir, 'bo', { run: REPORTER });
    fs.writeFileSync(path.join(svc, 'respawn-delay'), '0.1\n');
    fs.writeFileSync(path.join(svc, 'respawn-backoff'), '1\n');
    const d = sup.start(t, dir);
    await waitFor('seven starts reported', () => lines(path.join(dir, 'delays')).length >= 7, 30_000);
    // Stop the loop, and let the last run finish its report.
    await run(ours('svc'), ['-d', 'bo'], dir);
    await waitFor('down', () => !pidOf(svc));
    const delays = lines(path.join(dir, 'delays'));
    t.same(delays.slice(0, 7), ['-', '100', '200', '400', '800', '1000', '1000'], 'first start undelayed, then doubling, capped at 1 s');
    t.equal(lines(path.join(dir, 'starts')).length, delays.length, 'one report per start: no start went unaccounted');
    t.equal(d.stderr(), '', 'nothing said');
  });

  t.test(`${sup.name}: respawn-delay alone, and the originals' pacing without it`, async (t) => {
    const dir = tmp(t);
    const svc = service(dir, 'dl', { run: REPORTER });
    fs.writeFileSync(path.join(svc, 'respawn-delay'), '0.25');
    // runsv writes supervise/info only for a directory that asks for something.
    const plain = service(dir, 'plain', { run: '#!/bin/sh\nexec sleep 100\n' });
    sup.start(t, dir);
    await waitFor('three starts reported', () => lines(path.join(dir, 'delays')).length >= 3, 30_000);
    await run(ours('svc'), ['-d', 'dl'], dir);
    await waitFor('down', () => !pidOf(svc));
    t.same(lines(path.join(dir, 'delays')).slice(0, 3), ['-', '250', '250']);
    await waitFor('plain up', () => pidOf(plain));
    const files = fs.readdirSync(path.join(plain, 'supervise')).sort();
    if (sup.name === 'our runsvdir') t.same(files, ['control', 'lock', 'ok', 'pid', 'stat', 'status'], "runsv's files only");
    else t.ok(files.includes('info'), 'our supervise keeps supervise/info for every service');
  });

  t.test(`${sup.name}: more than respawn-max restarts within respawn-period leave it down; u starts over`, async (t) => {
    const dir = tmp(t);
    const svc = service(dir, 'mx', { run: '#!/bin/sh\necho x >> ../starts\nexit 2\n' });
    fs.writeFileSync(path.join(svc, 'respawn-delay'), '0.05\n');
    fs.writeFileSync(path.join(svc, 'respawn-max'), '2\n');
    fs.writeFileSync(path.join(svc, 'respawn-period'), '60\n');
    const d = sup.start(t, dir);
    const leftDown = () => { const i = info(svc); return i?.respawn && 'stayDown' in i.respawn ? i : null; };
    const first = await waitFor('left down', leftDown, 30_000);
    t.equal(lines(path.join(dir, 'starts')).length, 3, 'the first start and two restarts');
    t.same(first.respawn, { stayDown: { restarts: 2, max: 2, periodMs: 60_000 } });
    t.same(first.lastExit, { code: 2 });
    const line = sup.stayDown('mx', 2, 2, 'within 60 seconds');
    // Said before supervise/info was written; it may still be on its way through the pipe.
    await waitFor('the line', () => d.stderr().length >= line.length);
    t.equal(d.stderr(), line, 'said once, in the log');
    t.equal(fs.readFileSync(path.join(svc, 'supervise', 'stat'), 'latin1'), 'down, respawn-max reached\n');
    const long = await run(ours('svstat'), ['--long', 'mx'], dir);
    t.match(long.stdout, /^mx: down \d+ seconds, normally up\n {2}uptime: -\n {2}restarts: 2\n {2}last exit: exit code 2\n {2}ready: -\n {2}respawn: left down: run ended again after 2 restarts within 60 seconds \(respawn-max 2\)\n$/);
    t.match((await run(ours('svstat'), ['mx'], dir)).stdout, /^mx: down \d+ seconds, normally up\n$/, "svstat's own line unchanged");
    // The override: the count starts over, three more starts, down again.
    await sup.up(dir, 'mx');
    await waitFor('six starts', () => lines(path.join(dir, 'starts')).length >= 6, 30_000);
    const again = await waitFor('left down again', () => { const i = leftDown(); return i && i.restarts >= 4 && i; }, 30_000);
    t.equal(lines(path.join(dir, 'starts')).length, 6, 'u gave it two restarts again, not one');
    t.equal(again.restarts, 4, 'restarts since supervision began');
    await waitFor('the second line', () => d.stderr().length >= 2 * line.length);
    t.equal(d.stderr(), line.repeat(2));
  });

  t.test(`${sup.name}: a bad policy file is named with its line, said once, and ignored`, async (t) => {
    const dir = tmp(t);
    const svc = service(dir, 'bad', { run: '#!/bin/sh\necho x >> ../starts\nexit 1\n' });
    fs.writeFileSync(path.join(svc, 'respawn-delay'), 'soon\n');
    fs.writeFileSync(path.join(svc, 'respawn-max'), '3\nplease\n');
    fs.writeFileSync(path.join(svc, 'notification-fd'), '1\n');
    const d = sup.start(t, dir);
    // The originals' pacing, a second a start: three starts are three reads of the files.
    await waitFor('three starts', () => lines(path.join(dir, 'starts')).length >= 3, 30_000);
    await run(ours('svc'), ['-d', 'bad'], dir);
    const said = [
      sup.bad('bad', 'respawn-delay', 'line 1: not a number of seconds: "soon"'),
      sup.bad('bad', 'respawn-max', 'line 2: one value expected, on line 1 only'),
      sup.bad('bad', 'notification-fd', 'line 1: descriptor 1 out of range 3 to 1023'),
    ].join('');
    await waitFor('the complaints', () => d.stderr().length >= said.length);
    t.equal(d.stderr(), said);
  });
}

t.test('Debian\'s svstat and sv read the status of a service with a policy', needReference('svstat', 'sv'), async (t) => {
  const dir = tmp(t);
  const svc = service(dir, 'p', { run: '#!/bin/sh\nexec sleep 100\n' });
  fs.writeFileSync(path.join(svc, 'respawn-max'), '5\n');
  fs.writeFileSync(path.join(svc, 'notification-fd'), '4\n');
  SUPERVISORS[0].start(t, dir);
  await waitFor('up', () => pidOf(svc));
  const theirs = await run(reference('svstat'), ['p'], dir);
  const mine = await run(ours('svstat'), ['p'], dir);
  t.equal(mine.stdout.replace(/\d+ seconds/, 'S seconds'), theirs.stdout.replace(/\d+ seconds/, 'S seconds'));
  const sv = await run(reference('sv'), ['status', './p'], dir);
  t.match(sv.stdout, /^run: \.\/p: \(pid \d+\) \d+s$/m);
  t.equal(fs.statSync(path.join(svc, 'supervise', 'status')).size, 20);
});

t.test('the policy rules', async (t) => {
  const p = { ...NO_POLICY, delayMs: 100, capMs: 1000 };
  const mem = freshMemory();
  const waits = [0, 1, 2, 3, 4, 5].map(() => { const d = decide(p, mem, 0, 10, 990); return d.kind === 'start' ? d.waitMs : -1; });
  t.same(waits, [100, 200, 400, 800, 1000, 1000]);
  const d = decide(p, mem, 0, 2000, 0);
  t.same(d, { kind: 'start', waitMs: 100, viaPolicy: true }, 'a run that lasted twice the cap starts the doubling over');
  t.same(decide(NO_POLICY, freshMemory(), 0, 10, 990), { kind: 'start', waitMs: 990, viaPolicy: false }, "no policy: the originals' pacing");
  t.same(decide({ ...NO_POLICY, capMs: 4000 }, freshMemory(), 0, 10, 990), { kind: 'start', waitMs: 1000, viaPolicy: true }, 'backoff without respawn-delay starts at a second');

  const max = { ...NO_POLICY, max: 2, periodMs: 1000 };
  const m = freshMemory();
  t.same([0, 100, 200].map((now) => decide(max, m, now, 10, 0).kind), ['start', 'start', 'stay-down'], 'max 2: two restarts, then down');
  t.equal(decide(max, m, 1200, 10, 0).kind, 'start', 'restarts older than the period no longer count');
  const forever = { ...NO_POLICY, max: 1 };
  const f = freshMemory();
  t.same([0, 1e9].map((now) => decide(forever, f, now, 10, 0).kind), ['start', 'stay-down'], 'without a period: since last asked up');

  t.equal(parseValue('respawn-delay', '0\n'), 0);
  t.equal(parseValue('respawn-delay', ' 2.5 \n'), 2500);
  t.equal(parseValue('respawn-period', '0'), 'line 1: must be more than 0 seconds');
  t.equal(parseValue('respawn-backoff', '1e3'), 'line 1: not a number of seconds: "1e3"');
  t.equal(parseValue('respawn-max', '-1'), 'line 1: not a whole number: "-1"');
  t.equal(parseValue('notification-fd', '3\n\n'), 3, 'empty lines after the value are no second value');
  t.equal(parseValue('notification-fd', '2'), 'line 1: descriptor 2 out of range 3 to 1023');

  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'respawn-period'), '10');
  fs.writeFileSync(path.join(dir, 'respawn-max'), '0');
  const said: string[] = [];
  const read = readPolicy(dir, (file, why) => said.push(`${file}: ${why}`));
  t.same(read, NO_POLICY, 'respawn-max 0 is no limit, and a period without a limit is nothing');
  t.same(said, ['respawn-period: no respawn-max to go with']);

  const loop = freshMemory();
  for (let now = 0; now < 10_000; now++) decide({ ...NO_POLICY, delayMs: 10 }, loop, now, 10, 0);
  t.same(loop.starts, [], 'without respawn-max no restart is remembered: a service failing for ever keeps no growing list');

  // A FIFO among the files must not stop the one process that supervises every service.
  const fifo = tmp(t);
  const mk = spawnSync('mkfifo', [path.join(fifo, 'respawn-delay')]);
  t.equal(mk.status, 0, 'mkfifo');
  fs.writeFileSync(path.join(fifo, 'respawn-max'), '9'.repeat(5000));
  const heard: string[] = [];
  t.same(readPolicy(fifo, (file, why) => heard.push(`${file}: ${why}`)), NO_POLICY);
  t.same(heard, ['respawn-delay: unable to read: not a regular file', 'respawn-max: unable to read: file too big']);
});

t.test('supervise/info and supervise/ready go with one status only', async (t) => {
  const status = encodeStatus({ when: { sec: 1795442912, nano: 5 }, pid: 7, paused: false, want: 'u', term: false, state: State.Run });
  const later = encodeStatus({ when: { sec: 1795442913, nano: 5 }, pid: 8, paused: false, want: 'u', term: false, state: State.Run });
  const i = { restarts: 3, lastExit: { signal: 9 }, notify: 5, respawn: { wait: { sec: 1795442914, nano: 500 } }, delay: 400 };
  const text = encodeInfo(i, status);
  t.equal(text, 'restarts 3\nexit signal 9\nnotify 5\nrespawn wait 400000006b0448ec000001f4\ndelay 400\nstatus 400000006b0448ea00000005\n');
  t.same(decodeInfo(text, status), i);
  t.equal(decodeInfo(text, later), null, 'another status: not current');
  t.equal(decodeInfo(text.replace('restarts 3', 'restarts x'), status), null, 'malformed: nothing');
  const down = { restarts: 0, lastExit: { code: -1 }, notify: null, respawn: { stayDown: { restarts: 2, max: 2, periodMs: null } }, delay: null };
  t.same(decodeInfo(encodeInfo(down, status), status), down);
  const ready = encodeReady({ sec: 1795442915, nano: 1000 }, status);
  t.equal(ready, '@400000006b0448ed000003e8 400000006b0448ea00000005\n');
  t.same(decodeReady(ready, status), { sec: 1795442915, nano: 1000 });
  t.equal(decodeReady(ready, later), null);
  const dir = tmp(t);
  fs.mkdirSync(path.join(dir, 'supervise'));
  t.same(readExtended(dir, status), { status: { when: { sec: 1795442912, nano: 5 }, pid: 7, paused: false, want: 'u', term: false, state: State.Run }, info: null, ready: null },
    'no extra files (Debian\'s supervisors): the status alone');
});

t.test("svstat --long's lines for each state of the policy", async (t) => {
  const up = { when: { sec: 1000, nano: 0 }, pid: 12, paused: false, want: 'u' as const, term: false, state: State.Run };
  const down = { ...up, pid: 0, state: State.Down };
  const base = { restarts: 4, lastExit: { code: 1 }, notify: null, respawn: null, delay: null };
  const cases: Array<[Parameters<typeof extended>[0], string]> = [
    [{ status: down, info: { ...base, respawn: { wait: { sec: 1012, nano: 400_000_000 } } }, ready: null },
      '\n  uptime: -\n  restarts: 4\n  last exit: exit code 1\n  ready: -\n  respawn: next start in 3 seconds'],
    [{ status: up, info: { ...base, delay: 400, lastExit: { signal: 9 }, notify: 5 }, ready: { sec: 1004, nano: 0 } },
      '\n  uptime: 10 seconds\n  restarts: 4\n  last exit: signal 9 (SIGKILL)\n  ready: yes, 6 seconds\n  respawn: started after a delay of 0.4 seconds'],
    [{ status: up, info: { ...base, notify: 5 }, ready: null },
      '\n  uptime: 10 seconds\n  restarts: 4\n  last exit: exit code 1\n  ready: no\n  respawn: -'],
    [{ status: down, info: { ...base, respawn: { stayDown: { restarts: 3, max: 3, periodMs: 1500 } } }, ready: null },
      '\n  uptime: -\n  restarts: 4\n  last exit: exit code 1\n  ready: -\n  respawn: left down: run ended again after 3 restarts within 1.5 seconds (respawn-max 3)'],
    [{ status: up, info: null, ready: null },
      '\n  uptime: 10 seconds\n  restarts: -\n  last exit: -\n  ready: -\n  respawn: -'],
  ];
  for (const [e, want] of cases) t.equal(extended(e, 1010), want);
});
