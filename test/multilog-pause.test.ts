// A rotation that fails: multilog says what failed in the original's words,
// pauses five seconds, tries that step again and goes on where it stopped,
// losing no line. Ours with the addon (the rotation in one native call),
// ours without it, and /usr/bin/multilog, side by side on the same input
// and the same obstacle: a directory named previous, which current cannot
// be renamed over until it is taken away.
import t from 'tap';
import { type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findReference, needReference, ours, spawn, waitFor } from './helpers/common';

const OURS = ours('multilog');
const REF = findReference('multilog') ?? 'multilog';
const LABEL = /@[0-9a-f]{24}/g;

function exited(p: ChildProcess, ms = 30_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (p.exitCode !== null) return resolve(p.exitCode);
    const timer = setTimeout(() => reject(new Error('multilog did not exit')), ms);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

// Numbered lines of 40 bytes: `count` of them from `from` on.
function lines(from: number, count: number): string {
  let s = '';
  for (let i = from; i < from + count; i++) s += `line ${String(i).padStart(5, '0')} ${'.'.repeat(28)}\n`;
  return s;
}

// Every file of the directory with labels taken out: name, mode, contents.
function snapshot(dir: string): string[] {
  return fs.readdirSync(dir).sort().map((n) => {
    const p = path.join(dir, n);
    const st = fs.statSync(p);
    const body = st.isDirectory() ? '(dir)' : fs.readFileSync(p, 'latin1');
    return `${n.replace(LABEL, '@T')} ${(st.mode & 0o777).toString(8)} ${JSON.stringify(body)}`;
  });
}

interface Outcome { code: number | null; stderr: string; files: string[]; lines: string[] }

async function withObstacle(t: any, cmd: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'multilog-pause-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const main = path.join(root, 'main');
  const p = spawn(cmd, ['s4096', 'n10', './main'], { cwd: root, env, stdio: ['pipe', 'ignore', 'pipe'] });
  t.teardown(() => p.kill('SIGKILL'));
  let stderr = '';
  p.stderr!.on('data', (b: Buffer) => (stderr += b.toString('latin1')));
  const size = () => fs.statSync(path.join(main, 'current')).size;
  const logged = () => fs.readdirSync(main).filter((n) => n[0] === '@').reduce((sum, n) => sum + fs.statSync(path.join(main, n)).size, size());

  p.stdin!.write(lines(0, 25)); // 1000 bytes: far from the limit
  await waitFor('the first lines in current', () => size() === 1000);
  fs.mkdirSync(path.join(main, 'previous'));
  fs.writeFileSync(path.join(main, 'previous', 'x'), '');
  p.stdin!.write(lines(25, 75)); // past s - 2000: current is full
  await waitFor('the warning', () => stderr.includes('pausing'));
  fs.rmSync(path.join(main, 'previous'), { recursive: true });
  // The rest only once all of that is written: the original reads 1024
  // bytes at a time, ours more, so what it finds in the pipe after the
  // pause would be cut into reads differently.
  await waitFor('the rotation done and every line so far logged', () => logged() === 4000);
  p.stdin!.end(lines(100, 100));
  const code = await exited(p);
  const all = fs.readdirSync(main).filter((n) => n[0] === '@').sort().concat('current')
    .map((n) => fs.readFileSync(path.join(main, n), 'latin1')).join('');
  return { code, stderr: stderr.replace(LABEL, '@T'), files: snapshot(main), lines: all.split('\n') };
}

t.test('a failed rotation pauses, says why, and resumes where it stopped', needReference('multilog'), async (t) => {
  const base = { ...process.env };
  delete base.UCSPI_NO_NATIVE;
  const [ref, withAddon, without] = await Promise.all([
    withObstacle(t, REF, base),
    withObstacle(t, OURS, base),
    withObstacle(t, OURS, { ...base, UCSPI_NO_NATIVE: '1' }),
  ]);
  t.equal(ref.code, 0);
  t.equal(ref.stderr, 'multilog: warning: unable to rename current to previous in directory ./main, pausing: is a directory\n',
    'the reference met the obstacle as intended');
  t.same(ref.lines, lines(0, 200).split('\n'), 'the reference lost no line');
  for (const [name, o] of [['with the addon', withAddon], ['without the addon', without]] as const) {
    t.equal(o.code, 0, `${name}: exit code`);
    t.equal(o.stderr, ref.stderr, `${name}: the same warning`);
    t.same(o.files, ref.files, `${name}: the same files`);
    t.same(o.lines, ref.lines, `${name}: every line, once, in order`);
  }
});
