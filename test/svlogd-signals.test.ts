// svlogd's signals, timed rotation and UDP forwarding, ours and runit's
// side by side: the same directories and datagrams after the same steps.
import t from 'tap';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, IMPLS, oldFiles, start, unstamp } from './helpers/svlogd';
import { tmp, waitFor, within } from './helpers/svdir';

// Signals sent before the handlers are in place would kill: both install
// them before opening the directories, so wait for current to be open.
async function ready(pid: number, dir: string): Promise<void> {
  await waitFor('current to be open', () => fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === path.join(dir, 'current');
    } catch {
      return false;
    }
  }));
}

const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : -1);

type Steps = (s: { root: string; dir: string; proc: ReturnType<typeof start> }) => Promise<void>;

// Runs the same steps against each implementation; returns what each left.
async function both(t: any, args: string[], config: string | null, steps: Steps): Promise<Map<string, { code: number | null; stderr: string; dir: string }>> {
  const out = new Map();
  for (const [who, cmd, skip] of IMPLS) {
    if (skip) continue;
    const root = tmp(t);
    const dir = path.join(root, 'main');
    fs.mkdirSync(dir);
    if (config !== null) fs.writeFileSync(path.join(dir, 'config'), config);
    const proc = start(t, cmd, [...args, 'main'], root);
    await ready(proc.proc.pid!, dir);
    await steps({ root, dir, proc });
    const code = await within(`${who} to exit`, proc.exited, 20_000);
    out.set(who, { code, stderr: unstamp(proc.stderr()), dir: describe(dir) });
  }
  return out;
}

function same(t: any, res: Map<string, unknown>): void {
  const ours = res.get('ours');
  t.ok(ours, 'ours ran');
  if (res.has('runit')) t.same(ours, res.get('runit'), 'the same as runit');
}

t.test('ALRM rotates a non-empty current, and only that', async (t) => {
  const res = await both(t, ['-v'], null, async ({ dir, proc }) => {
    proc.proc.kill('SIGALRM'); // empty: nothing happens
    // Wait till it is seen: a signal and input arriving together may be
    // taken in either order.
    await waitFor('the signal', () => proc.stderr().includes('sigalarm received.'));
    proc.proc.stdin!.write('one\ntwo\n');
    await waitFor('two lines', () => size(path.join(dir, 'current')) === 8);
    proc.proc.kill('SIGALRM');
    await waitFor('an old file', () => oldFiles(dir).length === 1);
    t.equal(fs.readFileSync(path.join(dir, oldFiles(dir)[0]), 'latin1'), 'one\ntwo\n');
    proc.proc.stdin!.end('three\n');
  });
  same(t, res);
  t.match(res.get('ours')!.dir, /^@L\.s 744 8 "one\\ntwo\\n"\ncurrent 744 6 "three\\n"/);
});

t.test('HUP reads config again', async (t) => {
  const res = await both(t, ['-v'], null, async ({ dir, proc }) => {
    proc.proc.stdin!.write('before\n');
    await waitFor('a line', () => size(path.join(dir, 'current')) === 7);
    fs.writeFileSync(path.join(dir, 'config'), 'p>> \n-*skip*\n');
    proc.proc.kill('SIGHUP');
    await waitFor('config read', () => proc.stderr().includes('read: main/config'));
    proc.proc.stdin!.end('after\nskip me\n');
  });
  same(t, res);
  t.match(res.get('ours')!.dir, /current 744 16 "before\\n>> after\\n"/);
  t.match(res.get('ours')!.stderr, /sighangup received\.\nsvlogd: info: close: main\nsvlogd: info: read: main\/config\nsvlogd: info: append: main\/current/);
});

// runit reads the line to its end, then drops it whole; ours writes it
// (a deliberate difference, in svlogd(8)). Everything else is the same.
t.test('TERM in the middle of a line: the line is finished and kept, the rest left unread', async (t) => {
  const res = await both(t, [], null, async ({ dir, proc }) => {
    proc.proc.stdin!.write('first\nhalf');
    await waitFor('the first line', () => size(path.join(dir, 'current')) === 6);
    proc.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    t.equal(proc.proc.exitCode, null, 'still running, waiting for the end of the line');
    proc.proc.stdin!.write(' done\nnever read\n');
  });
  const ours = res.get('ours')!;
  t.equal(ours.code, 0);
  t.match(ours.dir, /current 744 16 "first\\nhalf done\\n"/);
  const ref = res.get('runit');
  if (ref) {
    t.same({ ...ours, dir: ours.dir.replace('16 "first\\nhalf done\\n"', '6 "first\\n"') }, ref, 'otherwise the same as runit');
  }
});

t.test('TERM between lines exits at once, and waits for a processor', async (t) => {
  const res = await both(t, ['-l', '10', '-b', '20'], 's30\n!sleep 1; cat\n', async ({ dir, proc }) => {
    proc.proc.stdin!.write('0123456789012345678901234567\n');
    await waitFor('rotation', () => oldFiles(dir).length === 1);
    proc.proc.kill('SIGTERM');
  });
  same(t, res);
  t.match(res.get('ours')!.dir, /^@L\.s 744 29 "0123456789012345678901234567\\n"\n(.*\n)*current 744 0 ""\n(.*\n)*state 644 0 ""/);
});

t.test('t: a timed rotation, only of a non-empty current', async (t) => {
  const res = await both(t, [], 't1\n', async ({ dir, proc }) => {
    proc.proc.stdin!.write('tick\n');
    await waitFor('a timed rotation', () => oldFiles(dir).length === 1, 10_000);
    await new Promise((r) => setTimeout(r, 1500)); // an empty current stays
    t.equal(oldFiles(dir).length, 1);
    proc.proc.stdin!.end();
  });
  same(t, res);
});

t.test('u and U: the same datagrams as runit, to a loopback listener', async (t) => {
  const sock = dgram.createSocket('udp4');
  t.teardown(() => sock.close());
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const port = sock.address().port;
  let got: string[] = [];
  sock.on('message', (m) => got.push(m.toString('latin1')));
  const input = 'alpha\nbeta\n' + 'x'.repeat(30) + '\nsecret\n';
  const grams = new Map<string, string[]>();
  for (const [mode, extra] of [['u', ''], ['U', '']]) {
    void extra;
    got = [];
    const res = await both(t, ['-tt', '-l', '20', '-b', '40'], `${mode}127.0.0.1:${port}\npsrv: \n-secret\n`, async ({ proc }) => {
      proc.proc.stdin!.end(input);
    });
    await waitFor('datagrams', () => got.length >= 3 * res.size, 5000);
    same(t, res);
    const half = got.length / res.size;
    const runs = [got.slice(0, half), got.slice(half)].map((g) => g.map(unstamp));
    if (res.size === 2) t.same(runs[0], runs[1], `${mode}: the same datagrams`);
    grams.set(mode, runs[0]);
    if (mode === 'U') t.match(res.get('ours')!.dir, /current 744 0 ""/, 'U: nothing in current');
  }
  t.same(grams.get('u'), ['PTIME srv: alpha\n', 'PTIME srv: beta\n', `PTIME srv: ${'x'.repeat(20)}...\n`]);
});
