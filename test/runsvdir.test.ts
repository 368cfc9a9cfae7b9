// Our runsvdir beside /usr/bin/runsvdir: the scanner's rules (dot-directories,
// rename by device and inode, TERM on removal, log as an empty file), the log
// argument in the process title, TERM and HUP, usage; and Debian's runsvdir
// running our runsv, one process per service.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, alive, daemon, normalize, ours, pidOf, run, service, tmp, waitFor, within } from './helpers/svdir';
import { needReference, reference, sleep } from './helpers/common';

const { skip } = needReference('runsvdir', 'runsv', 'sv');
t.setTimeout(300_000);

const SLEEP = '#!/bin/sh\nexec sleep 100\n';

/** sv status of every entry of dir (dot-names too), through runit's sv. */
async function statusAll(dir: string): Promise<string> {
  const names = fs.readdirSync(dir).filter((n) => n !== 'log.out').sort();
  const r = await run(reference('sv'), ['status', ...names.map((n) => `./${n}`)], dir);
  return `${r.code} ${normalize(r.stdout)}`;
}

async function rules(t: Test, runsvdir: string): Promise<string[]> {
  const dir = tmp(t);
  service(dir, 'a', { run: SLEEP, log: '#!/bin/sh\nexec cat >/dev/null\n' });
  service(dir, 'b', { run: SLEEP });
  fs.writeFileSync(path.join(dir, 'b', 'log'), '');
  service(dir, '.hidden', { run: SLEEP });
  fs.writeFileSync(path.join(dir, 'plainfile'), '');
  const d = daemon(t, runsvdir, [dir], dir, { PATH: `${BIN}:${process.env.PATH}` });
  const out: string[] = [];
  await waitFor('a, a/log and b up', () => pidOf(path.join(dir, 'a')) && pidOf(path.join(dir, 'a', 'log')) && pidOf(path.join(dir, 'b')));
  out.push(await statusAll(dir));
  // Renamed: same service, same run.
  const bPid = pidOf(path.join(dir, 'b'));
  fs.renameSync(path.join(dir, 'b'), path.join(dir, 'c'));
  // Taken up complete: filled as a dot-directory, then renamed.
  fs.renameSync(path.join(dir, '.hidden'), path.join(dir, 'd'));
  await waitFor('d up', () => pidOf(path.join(dir, 'd')), 20_000);
  out.push(`c kept its run: ${pidOf(path.join(dir, 'c')) === bPid}`);
  // Removed: its supervisor is told to stop it.
  const aPid = pidOf(path.join(dir, 'a'));
  const aLog = pidOf(path.join(dir, 'a', 'log'));
  fs.renameSync(path.join(dir, 'a'), path.join(dir, '..', `${path.basename(dir)}-a`));
  t.teardown(() => fs.rmSync(path.join(dir, '..', `${path.basename(dir)}-a`), { recursive: true, force: true }));
  await waitFor('a stopped', () => !alive(aPid) && !alive(aLog), 20_000);
  out.push(await statusAll(dir));
  // x: the supervisor leaves, and is started again.
  const dPid = pidOf(path.join(dir, 'd'));
  await run(reference('sv'), ['exit', './d'], dir);
  await waitFor('d again', () => { const p = pidOf(path.join(dir, 'd')); return p && p !== dPid; }, 20_000);
  out.push(await statusAll(dir));
  // Not compared: runit's runsv may complain about files of the directory
  // that went away; ours stops its service quietly.
  t.equal(runsvdir === ours('runsvdir') ? d.stderr() : '', '', 'nothing on stderr');
  return out;
}

t.test('scanner rules, as /usr/bin/runsvdir with /usr/bin/runsv', { skip }, async (t) => {
  const [ref, mine] = await Promise.all([rules(t, reference('runsvdir')), rules(t, ours('runsvdir'))]);
  t.same(mine, ref);
});

t.test('/usr/bin/runsvdir runs our runsv, one process per service', { skip }, async (t) => {
  const dir = tmp(t);
  service(dir, 'a', { run: SLEEP, log: '#!/bin/sh\nexec cat >/dev/null\n' });
  service(dir, 'b', { run: SLEEP });
  const d = daemon(t, reference('runsvdir'), [dir], dir, { PATH: `${BIN}:${process.env.PATH}` });
  await waitFor('up', () => pidOf(path.join(dir, 'a')) && pidOf(path.join(dir, 'a', 'log')) && pidOf(path.join(dir, 'b')));
  const kids = fs.readFileSync(`/proc/${d.proc.pid}/task/${d.proc.pid}/children`, 'latin1').trim().split(/\s+/).map(Number);
  const cmds = kids.map((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0').filter(Boolean).slice(-2).join(' ')).sort();
  t.same(cmds, ['runsv a', 'runsv b'], 'each runsv shows as runsv and its directory, as the original');
  const r = await run(ours('sv'), ['status', './a', './b'], dir);
  t.match(normalize(r.stdout), 'run: ./a: (pid N) Ss; run: log: (pid N) Ss\nrun: ./b: (pid N) Ss\n');
});

/** The log argument as the process title shows it, the program's own name aside. */
function title(pid: number): string {
  const words = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').split(/\0| /);
  const at = words.findIndex((w) => w.startsWith('log:'));
  return words.slice(at).join(' ');
}

async function titled(t: Test, runsvdir: string): Promise<string[]> {
  const dir = tmp(t);
  service(dir, 'noisy', { run: '#!/bin/sh\necho "noisy wrote this" >&2\nexec sleep 100\n' });
  const log = `log: ${'.'.repeat(40)}`;
  const d = daemon(t, runsvdir, [dir, log], dir, { PATH: `${BIN}:${process.env.PATH}` });
  const out: string[] = [];
  const said = (d: { stderr: () => string }) => d.stderr().replaceAll(dir, 'DIR');
  await waitFor('the line in the title', () => title(d.proc.pid!).includes('this'));
  out.push(title(d.proc.pid!));
  const short = daemon(t, runsvdir, [path.join(dir, 'none'), 'log:'], dir);
  await waitFor('two complaints about the directory', () => said(short).split('unable to stat').length >= 3);
  out.push(`short: ${said(short).split('\n').slice(0, 4).join('\n')}`);
  return out;
}

t.test('the log argument: stderr scrolls through the process title', { skip }, async (t) => {
  const [ref, mine] = await Promise.all([titled(t, reference('runsvdir')), titled(t, ours('runsvdir'))]);
  t.same(mine.map((l) => l.replace(ours('runsvdir'), 'PROG')), ref.map((l) => l.replace(reference('runsvdir'), 'PROG')));
  t.equal(mine[0], `log: ${'.'.repeat(40 - 'noisy wrote this\n'.length)}noisy wrote this\n`);
});

async function signalled(t: Test, runsvdir: string, sig: NodeJS.Signals): Promise<string[]> {
  const dir = tmp(t);
  service(dir, 'a', { run: SLEEP, log: '#!/bin/sh\nexec cat >/dev/null\n' });
  const d = daemon(t, runsvdir, [dir], dir, { PATH: `${BIN}:${process.env.PATH}` });
  await waitFor('up', () => pidOf(path.join(dir, 'a')) && pidOf(path.join(dir, 'a', 'log')));
  const pid = pidOf(path.join(dir, 'a'));
  d.proc.kill(sig);
  const out = [`exit ${await within('runsvdir exit', d.exited, 20_000)}`];
  // HUP: until no supervisor is left; TERM: until one answers again.
  const want = sig === 'SIGHUP' ? 'fail' : 'run';
  for (let i = 0; i < 100 && !(await run(reference('sv'), ['status', './a'], dir)).stdout.startsWith(want); i++) {
    await sleep(100);
  }
  out.push(`run alive: ${alive(pid)}`, `same run: ${pidOf(path.join(dir, 'a')) === pid}`);
  const r = await run(reference('sv'), ['status', './a'], dir);
  out.push(normalize(r.stdout));
  // Whoever supervises it now leaves with the service.
  await run(reference('sv'), ['-w', '10', 'force-shutdown', './a'], dir);
  return out;
}

t.test('TERM leaves the services supervised and running; HUP stops them and exits 111', { skip }, async (t) => {
  for (const sig of ['SIGTERM', 'SIGHUP'] as NodeJS.Signals[]) {
    const [ref, mine] = await Promise.all([signalled(t, reference('runsvdir'), sig), signalled(t, ours('runsvdir'), sig)]);
    t.same(mine, ref, sig);
  }
});

t.test('usage as /usr/bin/runsvdir', { skip }, async (t) => {
  const dir = tmp(t);
  for (const args of [[], ['-P'], ['--']]) {
    const [ref, mine] = [await run(reference('runsvdir'), args, dir), await run(ours('runsvdir'), args, dir)];
    t.equal(mine.code, ref.code, args.join(' '));
    t.equal(mine.stderr.replace(ours('runsvdir'), 'PROG'), ref.stderr.replace(reference('runsvdir'), 'PROG'));
  }
});
