// Pure parts of the supervisor: the status layout, svstat's words, svc's
// option parsing, the control letters. Expected bytes were checked against
// files written by /usr/bin/supervise (18 bytes) and /usr/bin/runsv (20).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { State, decodeStatus, encodeStatus, statText } from '../src/supervise/status';
import { describe } from '../src/supervise/svstat';
import { command } from '../src/supervise/commands';
import { readRestarts, restartsText } from '../src/supervise/service';

t.test('status round trip and layout', async (t) => {
  const s = { when: { sec: 1795442912, nano: 123456789 }, pid: 5819, paused: false, want: 'u' as const, term: false, state: State.Run };
  const b = encodeStatus(s);
  t.equal(b.length, 20);
  // TAI64 label of 1795442912 (as /usr/bin/runsv wrote it), pid little-endian, 'u', run.
  t.equal(b.subarray(0, 8).toString('hex'), '400000006b0448ea');
  t.equal(b.subarray(12).toString('hex'), 'bb16000000750001');
  t.same(decodeStatus(b), s);
  t.equal(encodeStatus({ ...s, want: 'o' })[17], 0, 'once is daemontools\' 0');
  t.equal(encodeStatus({ ...s, term: true, paused: true })[16], 1);
});

t.test('decode daemontools 18 bytes', async (t) => {
  // Written by /usr/bin/supervise for a running service.
  const b = Buffer.from('400000006b0448ea0a06fa7caa1500000075', 'hex');
  t.match(decodeStatus(b), { pid: 0x15aa, want: 'u', state: State.Run, term: false, when: { sec: 1795442912 } });
  t.equal(decodeStatus(b.subarray(0, 17)), null);
});

t.test('svstat words', async (t) => {
  const mk = (pid: number, want: 'u' | 'd' | 'o', paused = false) =>
    encodeStatus({ when: { sec: 1000, nano: 0 }, pid, paused, want, term: false, state: pid ? State.Run : State.Down });
  const cases: Array<[Buffer, boolean, number | null, string]> = [
    [mk(12, 'u'), false, null, 'up (pid 12) 5 seconds'],
    [mk(12, 'u'), true, null, 'up (pid 12) 5 seconds, normally down'],
    [mk(12, 'd'), false, null, 'up (pid 12) 5 seconds, want down'],
    [mk(12, 'u', true), false, null, 'up (pid 12) 5 seconds, paused'],
    [mk(12, 'o'), false, 3, 'up (pid 12) 5 seconds, restarts 3'],
    [mk(0, 'd'), false, null, 'down 5 seconds, normally up'],
    [mk(0, 'u'), true, null, 'down 5 seconds, want up'],
    [mk(0, 'd'), true, 0, 'down 5 seconds, restarts 0'],
    [Buffer.alloc(3), false, null, 'unable to read supervise/status: bad format'],
  ];
  for (const [status, normallyDown, restarts, want] of cases)
    t.equal(describe({ status, normallyDown, now: 1005, restarts }), want);
  t.equal(describe({ status: mk(1, 'u'), normallyDown: false, now: 990, restarts: null }), 'up (pid 1) 0 seconds', 'a future time counts as 0');
});

t.test('runit stat text', async (t) => {
  const s = { when: { sec: 0, nano: 0 }, pid: 1, paused: false, want: 'd' as const, term: true, state: State.Finish };
  t.equal(statText(s, false), 'finish, got TERM, want down\n');
  t.equal(statText({ ...s, state: State.Down, term: false }, false), 'down\n');
  t.equal(statText({ ...s, state: State.Run, term: false, paused: true }, true), 'run, paused, want exit\n');
});


t.test('control letters', async (t) => {
  t.same(command('k'), { kind: 'signal', signal: 'SIGKILL' });
  t.same(command('1'), { kind: 'signal', signal: 'SIGUSR1' });
  t.same(command('q'), { kind: 'signal', signal: 'SIGQUIT' });
  t.same(command('x'), { kind: 'exit' });
  t.equal(command('z'), undefined);
  t.equal(command('\n'), undefined);
  t.equal(command('constructor'[0]), command('c'));
});

t.test('supervise/restarts goes with one status only', async (t) => {
  const s = { when: { sec: 1795442912, nano: 5 }, pid: 7, paused: false, want: 'u' as const, term: false, state: State.Run };
  const b = encodeStatus(s);
  const text = restartsText(4, b);
  t.equal(text, '4 400000006b0448ea00000005\n');
  t.equal(readRestarts(b, () => text), 4);
  // A later status (another start, or another supervisor) makes it stale.
  t.equal(readRestarts(encodeStatus({ ...s, when: { sec: 1795442913, nano: 0 } }), () => text), null);
  // The bare count an earlier version wrote, garbage, no file: nothing shown.
  t.equal(readRestarts(b, () => '4\n'), null);
  t.equal(readRestarts(b, () => '4 zz\n'), null);
  t.equal(readRestarts(b, () => { throw new Error('ENOENT'); }), null);
  // daemontools' 18-byte status carries the label too.
  t.equal(readRestarts(b.subarray(0, 18), () => text), 4);
});

t.test('calledAs: the bare name when $PATH leads to this very script, else the path', async (t) => {
  const { calledAs } = await import('../src/supervise/progname');
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'progname-')));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const d of ['a', 'b']) {
    fs.mkdirSync(path.join(dir, d));
    fs.writeFileSync(path.join(dir, d, 'runsv'), '', { mode: 0o755 });
  }
  const saved = { argv1: process.argv[1], PATH: process.env.PATH };
  t.teardown(() => { process.argv[1] = saved.argv1; process.env.PATH = saved.PATH; });
  process.argv[1] = path.join(dir, 'b', 'runsv');
  process.env.PATH = `${path.join(dir, 'b')}:/usr/bin`;
  t.equal(calledAs('runsv'), 'runsv');
  process.env.PATH = `${path.join(dir, 'a')}:${path.join(dir, 'b')}`;
  t.equal(calledAs('runsv'), path.join(dir, 'b', 'runsv'), 'another runsv comes first: called by path');
  process.env.PATH = '/nonexistent';
  t.equal(calledAs('runsv'), path.join(dir, 'b', 'runsv'));
});
