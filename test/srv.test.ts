// srv over three supervisors: our svscan, runit's runsvdir + runsv, and
// daemontools' svscan + supervise. Each gets its own temp dirs ($SRVDIR with
// the service, $SVDIR for the scanner); everything is killed at teardown.
import t, { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, daemon, killUnder, ours, pidOf, run, service, supervised, tmp, waitFor } from './helpers/svdir';
import { findReference, needReference, reference, sleep } from './helpers/common';
import { catches } from '../src/srv/wake';

const SRV = ours('srv');

/** A scanner: ours, or a reference one (needs[0]) with the supervisor it starts by name (needs[1]). */
interface Scanner { name: string; needs: string[]; restarts: boolean }
const SCANNERS: Scanner[] = [
  { name: 'our svscan', needs: [], restarts: true },
  { name: "runit's runsvdir", needs: ['runsvdir', 'runsv'], restarts: false },
  { name: "daemontools' svscan", needs: ['svscan', 'supervise'], restarts: false },
];

// A run with a long-lived child (for the process tree), that notes each HUP
// and leaves, taking its child along, on TERM.
const RUN = `#!/bin/sh
sleep 1000 &
trap 'echo hup >> hups' HUP
trap 'kill $!; exit 0' TERM
while :; do sleep 0.1; done
`;

/** first: directories searched before the system's (where the reference supervisors are). */
function setup(t: Test, first: string[] = []) {
  const root = tmp(t);
  const srvdir = path.join(root, 'sv');
  const svdir = path.join(root, 'service');
  fs.mkdirSync(svdir);
  fs.mkdirSync(path.join(srvdir), { recursive: true });
  const dir = service(srvdir, 'demo', { run: RUN, log: '#!/bin/sh\nexec multilog t ./main\n' });
  // The reference scanners must start the reference supervisors and multilog.
  const dirs = [...new Set([...first, '/usr/bin', '/bin', path.dirname(SRV)])];
  const env = { SVDIR: svdir, SRVDIR: srvdir, PATH: dirs.join(':') };
  const srv = (...args: string[]) => run(SRV, args, root, env);
  return { root, srvdir, svdir, dir, env, srv };
}

// Every test has its own directories and supervisors (and kills only what
// runs under them): they run side by side.
t.jobs = 5;

for (const sc of SCANNERS) {
  t.test(`srv over ${sc.name}`, needReference(...sc.needs), async (t) => {
    const refs = sc.needs.map((n) => reference(n));
    const { root, svdir, dir, env, srv } = setup(t, refs.map((f) => path.dirname(f)));
    const cmd = refs[0] ?? ours('svscan');
    const start = () => daemon(t, cmd, [svdir], svdir, env);
    start();

    let r = await srv('--list');
    t.equal(r.code, 0, 'list before add');
    t.match(r.stdout, /^SERVICE +STATUS +PID +TIME\ndemo +- +- +-\ndemo\/log +- +- +-\n$/, 'not supervised: -');

    r = await srv('-w', '3', '--add', 'demo');
    t.equal(r.code, 0, `add: ${r.stderr}`);
    t.match(r.stdout, /^demo: up \(pid \d+\) \d+s\n$/);
    t.equal(fs.readlinkSync(path.join(svdir, 'demo')), dir, 'linked from the available dir');
    await waitFor('log up', () => pidOf(path.join(dir, 'log')));
    const pid = pidOf(dir);

    r = await srv('-l');
    t.equal(r.code, 0);
    t.match(r.stdout, new RegExp(`^demo +up +${pid} +\\d+s$`, 'm'), 'list: up with its pid');
    t.match(r.stdout, new RegExp(`^demo/log +up +${pidOf(path.join(dir, 'log'))} +\\d+s$`, 'm'), 'list: the log service');

    r = await srv('--info', 'demo');
    t.equal(r.code, 0);
    t.match(r.stdout, `managed:    yes (${path.join(svdir, 'demo')} -> ${dir})`);
    t.match(r.stdout, /^status: +up/m);
    t.match(r.stdout, new RegExp(`^pid: +${pid}$`, 'm'));
    t.match(r.stdout, new RegExp(`^processes:\\n  ${pid} /bin/sh ./run\\n(    \\d+ .*\\n)*    \\d+ sleep 1000\\n`, 'm'), 'the run and its children');
    t.match(r.stdout, /^started: +\d+ seconds ago, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    t.match(r.stdout, sc.restarts ? /^restarts: +0$/m : /^restarts: +-$/m, 'restart count only where current');
    t.match(r.stdout, /^logged: +yes$/m);
    t.match(r.stdout, `log dir:    ${path.join(dir, 'log', 'main')}\n`);
    t.match(r.stdout, /^log status: up/m);

    r = await srv('--reload', 'demo');
    t.equal(r.code, 0, 'reload');
    await waitFor('HUP noted', () => fs.existsSync(path.join(dir, 'hups')), 5000);
    t.equal(pidOf(dir), pid, 'HUP leaves the run alive');

    r = await srv('-w', '5', '--restart', 'demo');
    t.equal(r.code, 0, `restart: ${r.stderr}`);
    const pid2 = pidOf(dir);
    t.not(pid2, pid, 'a new run');
    t.match(r.stdout, `demo: up (pid ${pid2})`);

    r = await srv('-w', '5', '--down', 'demo');
    t.equal(r.code, 0, `down: ${r.stderr}`);
    t.match(r.stdout, /^demo: down \d+s\n$/);
    t.ok(fs.existsSync(path.join(dir, 'down')), 'down file created');
    t.equal(pidOf(dir), 0);

    // A reboot: every process of the tree killed at once, the scanner started again.
    killUnder(root);
    await waitFor('all gone', () => !supervised(dir) && !supervised(path.join(dir, 'log')));
    start();
    await waitFor('supervised again', () => supervised(dir) && supervised(path.join(dir, 'log')));
    await sleep(1500);
    t.equal(pidOf(dir), 0, 'still down after the reboot');
    r = await srv('-l', 'demo');
    t.match(r.stdout, /^demo +down +- +\d+s$/m);

    r = await srv('-w', '5', '-u', 'demo');
    t.equal(r.code, 0, `up: ${r.stderr}`);
    t.notOk(fs.existsSync(path.join(dir, 'down')), 'up removes the down file');
    t.ok(pidOf(dir), 'up again');

    r = await srv('--env', 'demo', 'GREETING=hello world', 'EMPTY=', 'GONE');
    t.equal(r.code, 0, 'env');
    // daemontools' envdir and runit's chpst read it, where they are installed.
    const envdir = findReference('envdir');
    if (envdir) {
      const seen = await run(envdir, [path.join(dir, 'env'), 'sh', '-c', 'echo "$GREETING|${EMPTY-unset}|${GONE-unset}"'], root, { GONE: 'inherited' });
      t.equal(seen.stdout, 'hello world||unset\n', "daemontools' envdir reads it");
    }
    const chpst = findReference('chpst');
    if (chpst) {
      const seen = await run(chpst, ['-e', path.join(dir, 'env'), 'sh', '-c', 'echo "$GREETING|${EMPTY-unset}|${GONE-unset}"'], root, { GONE: 'inherited' });
      t.equal(seen.stdout, 'hello world||unset\n', "runit's chpst -e reads it");
    }

    const runPid = pidOf(dir);
    const logPid = pidOf(path.join(dir, 'log'));
    r = await srv('-w', '5', '--del', 'demo');
    t.equal(r.code, 0, `del: ${r.stderr}`);
    t.equal(r.stdout, 'demo: removed\n');
    t.notOk(fs.existsSync(path.join(svdir, 'demo')), 'unlinked');
    t.notOk(supervised(dir) || supervised(path.join(dir, 'log')), 'both supervisors left');
    await waitFor('run and log gone', () => !alive(runPid) && !alive(logPid), 5000);
    t.ok(fs.existsSync(path.join(dir, 'run')), 'the service itself is kept');
  });
}

t.test('errors name the service and the file; exit codes', async (t) => {
  const { srvdir, svdir, dir, srv } = setup(t);
  let r = await srv('--up', 'nosuch');
  t.equal(r.code, 1);
  t.match(r.stderr, `srv: warning: nosuch: no such service: neither ${path.join(svdir, 'nosuch')} nor ${path.join(srvdir, 'nosuch')} exists`);

  r = await srv('--up', 'demo');
  t.equal(r.code, 1, 'no supervisor');
  t.match(r.stderr, `srv: warning: demo: unable to control ${path.join(dir, 'supervise/control')}: supervise not running`);

  r = await srv('-w', '0', '--add', 'demo');
  t.equal(r.code, 1, 'no scanner');
  t.match(r.stderr, /^srv: warning: demo: linked, but .*supervise\/ok has no supervisor after 5 seconds/);

  r = await srv('--del', 'nosuch');
  t.equal(r.code, 1);
  t.match(r.stderr, `not managed: ${path.join(svdir, 'nosuch')} does not exist`);

  fs.mkdirSync(path.join(svdir, 'plain'));
  r = await srv('--del', 'plain');
  t.equal(r.code, 1);
  t.match(r.stderr, 'is no link');
  t.ok(fs.existsSync(path.join(svdir, 'plain')), 'not removed');

  for (const bad of [[], ['--bogus'], ['--up'], ['--up', '../x'], ['--env', 'demo'], ['--env', 'demo', '=x'],
                     ['-w', 'x', '-l'], ['--peers', 'demo', '-q'], ['--peers', 'demo', '-e', 'A=b'],
                     ['--peers', 'demo', '-g', '../etc'], ['--peers', 'demo', '-g', '1.2.3.4', '-m', 'ten']]) {
    r = await srv(...bad);
    t.equal(r.code, 100, `usage: ${bad.join(' ')}`);
    t.match(r.stderr, /usage: srv /);
  }
  r = await srv('--help');
  t.equal(r.code, 0);
  t.match(r.stdout, /^usage: srv /);

  // The env dir cannot be made: a system error, 111.
  fs.writeFileSync(path.join(dir, 'env'), 'a file');
  r = await srv('--env', 'demo', 'A=b');
  t.equal(r.code, 111);
  t.match(r.stderr, `srv: warning: demo: unable to create ${path.join(dir, 'env')}`);
});

/** dir/supervise with an ok FIFO held open for reading: what makes a directory supervised. */
function withOk(t: Test, dir: string): string {
  const sup = path.join(dir, 'supervise');
  fs.mkdirSync(sup);
  execFileSync('mkfifo', [path.join(sup, 'ok')], { timeout: 5000 });
  const fd = fs.openSync(path.join(sup, 'ok'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(fd));
  return sup;
}

t.test("runit's supervise/stat and pid stand in for an unreadable supervise/status", async (t) => {
  const { dir, srv } = setup(t);
  const sup = withOk(t, dir);
  fs.writeFileSync(path.join(sup, 'status'), 'short');
  fs.writeFileSync(path.join(sup, 'stat'), 'run\n');
  fs.writeFileSync(path.join(sup, 'pid'), '4242\n');
  let r = await srv('-l', 'demo');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^demo +up +4242 +-$/m);
  fs.unlinkSync(path.join(sup, 'stat'));
  r = await srv('-l', 'demo');
  t.match(r.stdout, /^demo +- +- +-$/m, 'neither: unknown');
  t.match(r.stderr, `srv: warning: demo: unable to read ${path.join(sup, 'status')}: bad format (5 bytes)`);
});

t.test('--env and --down never write through a planted link', async (t) => {
  const { root, dir, srv } = setup(t);
  const victim = path.join(root, 'victim');
  fs.writeFileSync(victim, 'root only\n', { mode: 0o600 });
  fs.mkdirSync(path.join(dir, 'env'));
  fs.symlinkSync(victim, path.join(dir, 'env', '.VAR.srv-tmp'));
  let r = await srv('--env', 'demo', 'VAR=x');
  t.equal(r.code, 0, r.stderr);
  t.equal(fs.readFileSync(victim, 'utf8'), 'root only\n', 'the link target is unchanged');
  t.equal(fs.statSync(victim).mode & 0o777, 0o600, 'and keeps its mode');
  t.equal(fs.readFileSync(path.join(dir, 'env', 'VAR'), 'utf8'), 'x\n', 'the variable is written');
  t.same(fs.readdirSync(path.join(dir, 'env')).filter((n) => n !== '.VAR.srv-tmp' && n.startsWith('.')), [], 'no temporary file left');

  // down, a link to a file that does not exist: not created (nor anything there).
  const nowhere = path.join(root, 'nologin');
  fs.symlinkSync(nowhere, path.join(dir, 'down'));
  r = await srv('--down', 'demo');
  t.equal(r.code, 111);
  t.match(r.stderr, `srv: warning: demo: ${path.join(dir, 'down')} is a link to nothing: not changed`);
  t.notOk(fs.existsSync(nowhere), 'nothing created where the link points');
});

t.test('only service directories: a link in $SVDIR to any other directory is left alone', async (t) => {
  const { root, svdir, srv } = setup(t);
  // A root-like tree: bin -> usr/bin, a directory without a run file.
  const usrbin = path.join(root, 'usr', 'bin');
  fs.mkdirSync(usrbin, { recursive: true });
  fs.writeFileSync(path.join(usrbin, 'ls'), '');
  fs.symlinkSync(usrbin, path.join(svdir, 'bin'));
  let r = await srv('-w', '0', '--del', 'bin');
  t.equal(r.code, 1);
  t.match(r.stderr, `srv: warning: bin: ${path.join(svdir, 'bin')} is no service directory (no ${path.join(usrbin, 'run')}): not changed`);
  t.notMatch(r.stdout, 'removed');
  t.ok(fs.lstatSync(path.join(svdir, 'bin')).isSymbolicLink(), 'the link stays');
  for (const args of [['--down', 'bin'], ['--env', 'bin', 'A=b'], ['--peers', 'bin', '-g', '1.2.3.4'], ['--up', 'bin'], ['--info', 'bin']]) {
    r = await srv('-w', '0', ...args);
    t.equal(r.code, 1, args.join(' '));
    t.match(r.stderr, 'is no service directory', `${args[0]}: named as no service directory`);
  }
  t.same(fs.readdirSync(usrbin), ['ls'], 'nothing created in the directory');
  r = await srv('-l');
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout, /^bin /m, 'not listed');
  // A directory in $SRVDIR without a run file is no service either.
  fs.mkdirSync(path.join(root, 'sv', 'empty'));
  r = await srv('-w', '0', '--add', 'empty');
  t.equal(r.code, 1);
  t.match(r.stderr, 'is no service directory');
  t.notOk(fs.existsSync(path.join(svdir, 'empty')), 'not linked');
});

t.test('--add wakes a scanner that rescans on ALRM, and signals none that would die of it', async (t) => {
  const { root, srvdir, svdir, srv } = setup(t);
  const names = ['a', 'b', 'c', 'd'];
  for (const n of names) service(srvdir, n, { run: '#!/bin/sh\nexec sleep 1000\n' });
  // A scanner that never scans by itself, only on ALRM (as s6-svscan can be
  // run): it starts our supervise for each new entry. srv --add can only
  // succeed by waking it.
  const fake = path.join(root, 'fake', 'svscan');
  fs.mkdirSync(path.dirname(fake));
  fs.writeFileSync(fake, `const fs = require('fs'), { spawn } = require('child_process');
process.chdir(process.argv[2]);
const seen = new Set();
process.on('SIGALRM', () => {
  fs.appendFileSync('../alarms', 'x');
  for (const n of fs.readdirSync('.')) {
    if (n.startsWith('.') || seen.has(n)) continue;
    seen.add(n);
    spawn(${JSON.stringify(ours('supervise'))}, [n], { stdio: 'ignore' });
  }
});
setInterval(() => {}, 1 << 30);
`);
  const scanner = daemon(t, process.execPath, [fake, svdir], root);
  const pid = scanner.proc.pid!;
  await waitFor('the scanner in its directory, catching ALRM', () => {
    try { return fs.readlinkSync(`/proc/${pid}/cwd`) === svdir && catches(pid, 14); } catch { return false; }
  });
  const r = await srv('-w', '1', '--add', ...names);
  t.equal(r.code, 0, `add: ${r.stderr}`);
  for (const n of names) t.match(r.stdout, new RegExp(`^${n}: up \\(pid \\d+\\) \\d+s$`, 'm'), `${n} up`);
  t.equal(fs.readFileSync(path.join(root, 'alarms'), 'utf8'), 'x', 'one wake-up for the four services');
  t.equal(scanner.proc.exitCode, null, 'the scanner lives on');
});

t.test("--add next to daemontools' svscan: not signalled (ALRM would end it), found at its next scan", needReference('svscan', 'supervise'), async (t) => {
  const { srvdir, svdir, env, srv } = setup(t, [path.dirname(reference('svscan'))]);
  service(srvdir, 'a', { run: '#!/bin/sh\nexec sleep 1000\n' });
  const scanner = daemon(t, reference('svscan'), [svdir], svdir, env);
  await waitFor('svscan in its directory', () => { try { return fs.readlinkSync(`/proc/${scanner.proc.pid}/cwd`) === svdir; } catch { return false; } });
  t.notOk(catches(scanner.proc.pid!, 14), "daemontools' svscan does not catch ALRM");
  const r = await srv('-w', '3', '--add', 'a');
  t.equal(r.code, 0, `add: ${r.stderr}`);
  t.equal(scanner.proc.exitCode, null, 'svscan still runs');
  t.equal(scanner.proc.signalCode, null, 'and was not signalled to death');
});

t.test('commands go only to a FIFO: a supervise/control that is a link to a file is not written', async (t) => {
  const { root, dir, srv } = setup(t);
  const sup = withOk(t, dir);
  const victim = path.join(root, 'victim');
  fs.writeFileSync(victim, 'root:x:0:0\n', { mode: 0o600 });
  fs.symlinkSync(victim, path.join(sup, 'control'));
  // runit's stat and pid say the service runs: only the control file stands in the way.
  fs.writeFileSync(path.join(sup, 'status'), 'short');
  fs.writeFileSync(path.join(sup, 'stat'), 'run\n');
  fs.writeFileSync(path.join(sup, 'pid'), '4242\n');
  const r = await srv('-w', '0', '--up', 'demo');
  t.equal(r.code, 1);
  t.match(r.stderr, `srv: warning: demo: unable to control ${path.join(sup, 'control')}: not a FIFO`);
  t.equal(fs.readFileSync(victim, 'utf8'), 'root:x:0:0\n', 'the file is unchanged');
});

t.test('a FIFO in place of log/run or a supervise file does not hang srv', async (t) => {
  const { dir, srv } = setup(t);
  fs.rmSync(path.join(dir, 'log', 'run'));
  execFileSync('mkfifo', [path.join(dir, 'log', 'run')], { timeout: 5000 });
  const sup = path.join(dir, 'supervise');
  fs.mkdirSync(sup);
  for (const f of ['ok', 'status', 'stat', 'pid']) execFileSync('mkfifo', [path.join(sup, f)], { timeout: 5000 });
  const fd = fs.openSync(path.join(sup, 'ok'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(fd));
  const r = await srv('--info', 'demo');
  t.equal(r.code, 0, `srv --info finished: ${r.stderr}`);
  t.match(r.stdout, /^log dir: +-$/m, 'log/run not read');
  t.match(r.stdout, new RegExp(`^error: +unable to read ${path.join(sup, 'status')}: not a regular file$`, 'm'), 'the FIFO named');
});
