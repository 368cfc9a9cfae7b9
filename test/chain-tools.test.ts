// tai64n, fghack, readproctitle and svscanboot, ours beside daemontools'
// where there is one.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, SpawnSyncOptions } from 'node:child_process';

const BIN = path.resolve(__dirname, '..', 'bin');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chain-tools-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const absent = (cmd: string): string | false => (fs.existsSync(`/usr/bin/${cmd}`) ? false : `/usr/bin/${cmd} absent`);

interface Out { status: number | null; stdout: string; stderr: string }
function run(file: string, args: string[], opts: SpawnSyncOptions = {}): Out {
  const r = spawnSync(file, args, { cwd: dir, input: '', encoding: 'latin1', timeout: 15000, killSignal: 'SIGKILL', ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}
const both = (cmd: string, args: string[], opts: SpawnSyncOptions = {}) =>
  [run(`/usr/bin/${cmd}`, args, opts), run(path.join(BIN, cmd), args, opts)];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('tai64n: a label per line, now, the bytes untouched', { skip: absent('tai64n') }, async (t) => {
  const input = 'one\n\ntwo \t\0x\nlast without newline';
  const before = Math.floor(Date.now() / 1000);
  const [want, got] = both('tai64n', [], { input });
  const after = Math.ceil(Date.now() / 1000);
  t.equal(got.status, 0);
  const strip = (s: string) => s.replace(/^@[0-9a-f]{24} /gm, '@L ');
  t.equal(strip(got.stdout), strip(want.stdout));
  t.equal(strip(got.stdout), '@L one\n@L \n@L two \t\0x\n@L last without newline');
  for (const m of got.stdout.matchAll(/^@([0-9a-f]{16})/gm)) {
    const sec = Number(BigInt('0x' + m[1]) - (1n << 62n) - 10n);
    t.ok(sec >= before && sec <= after, `label ${m[1]} is now`);
  }
  const labels = [...got.stdout.matchAll(/^@([0-9a-f]{24})/gm)].map((m) => m[1]);
  t.same([...labels].sort(), labels, 'labels in order');
  const lt = spawnSync('/usr/bin/tai64nlocal', { input: got.stdout, encoding: 'latin1', timeout: 15000 });
  t.match(lt.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} one\n/, "the reference's tai64nlocal reads our labels");
  const [w2, g2] = both('tai64n', [], { input: '' });
  t.same(g2, w2, 'empty input');
});

t.test('fghack', { skip: absent('fghack') }, async (t) => {
  for (const args of [[], ['no-such-prog-here'], ['/nonexistent/prog'], ['sh', '-c', 'exit 3'], ['sh', '-c', 'kill $$'],
    ['sh', '-c', '(sleep 1; echo from the background) & echo foreground; exit 5'],
    ['sh', '-c', 'exec ls /proc/self/fd']]) {
    const [want, got] = both('fghack', args);
    t.same(got, want, args.join(' '));
  }
});

/** The title ps shows for pid, as ps -o args does. */
function title(pid: number): string {
  return spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'latin1', timeout: 5000 }).stdout.trimEnd();
}

t.test('readproctitle: the last bytes read, in ps', { skip: absent('readproctitle') }, async (t) => {
  for (const args of [[], ['abcd'], ['x', '']]) {
    const [want, got] = both('readproctitle', args);
    t.same(got, want, `exit code for ${JSON.stringify(args)}`);
  }
  const shown: Record<string, string> = {};
  for (const file of ['/usr/bin/readproctitle', path.join(BIN, 'readproctitle')]) {
    const c = spawn(file, ['service', 'errors:', '.'.repeat(30)], { argv0: 'readproctitle', stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      c.stdin!.write('first line\nsec\0ond line, long enough to push the first one out\n');
      const end = Date.now() + 10000;
      let s = '';
      while (Date.now() < end && !(s = title(c.pid!)).endsWith('first one out')) await sleep(100);
      shown[file] = s;
      c.stdin!.end();
      await new Promise((r) => c.once('exit', r));
    } finally {
      c.kill('SIGKILL');
    }
  }
  const [want, got] = Object.values(shown);
  t.equal(got, want);
  t.equal(got, 'readproctitle service errors: ... to push the first one out', 'the window: its first 3 bytes, then the last 27 read');
});

t.test('svscanboot: svscan on $SVSCANDIR, its errors in the title', async (t) => {
  const scan = path.join(dir, 'scan');
  const svc = path.join(scan, 'noisy');
  fs.mkdirSync(svc, { recursive: true });
  fs.writeFileSync(path.join(svc, 'run'), '#!/bin/sh\necho $$ >pid\necho "noisy service complains" >&2\nexec sleep 100\n', { mode: 0o755 });
  const c = spawn(path.join(BIN, 'svscanboot'), [], { env: { PATH: process.env.PATH, SVSCANDIR: scan }, detached: true, stdio: 'ignore' });
  // The service runs in its own process group: its pid file says which.
  t.teardown(() => {
    for (const pid of [-c.pid!, Number(fs.existsSync(path.join(svc, 'pid')) ? fs.readFileSync(path.join(svc, 'pid'), 'latin1') : NaN)]) {
      try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });
  const end = Date.now() + 30000;
  let found = '';
  while (Date.now() < end && !found) {
    const ps = spawnSync('ps', ['-o', 'args=', '-s', String(c.pid)], { encoding: 'latin1', timeout: 5000 }).stdout;
    found = ps.split('\n').map((l) => l.trimEnd()).find((l) => l.startsWith('readproctitle service errors: ') && l.includes('noisy service complains')) ?? '';
    if (!found) await sleep(200);
  }
  t.match(found, /^readproctitle service errors: \.+noisy service complains$/, 'the service\'s stderr shows in the title');
  t.ok(fs.existsSync(path.join(svc, 'supervise', 'status')), 'supervised in $SVSCANDIR');
  process.kill(-c.pid!, 'SIGTERM');
  await new Promise((r) => { c.once('exit', r); setTimeout(r, 10000); });
});
