// svlogd on a full disk (a 64 KiB tmpfs mounted for the test, unmounted at
// teardown; skipped where mounting is not allowed): with N below n it
// deletes the oldest old files as runit's does, and otherwise it pauses,
// says so, and goes on when there is room again, without losing a line.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, IMPLS, OURS, start, unstamp } from './helpers/svlogd';
import { tmp, waitFor, within } from './helpers/svdir';

function smallDisk(t: any): string | null {
  const d = tmp(t);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return null;
  }
  t.teardown(() => {
    try { execFileSync('umount', ['-l', d], { stdio: 'ignore', timeout: 10_000 }); } catch { /* gone */ }
  });
  return d;
}

let canMount: string | false = false;
{
  const probe = { fns: [] as Array<() => unknown>, teardown(fn: () => unknown) { this.fns.push(fn); } };
  if (smallDisk(probe) === null) canMount = 'cannot mount a tmpfs here (needs root)';
  for (const fn of probe.fns.reverse()) fn();
}

const input = Array.from({ length: 30000 }, (_, i) => `${i + 1}\n`).join('');

t.test('N below n: the oldest old files make room, as runit does', { skip: canMount }, async (t) => {
  const res = new Map<string, { code: number | null; stderr: string; dir: string; kept: string }>();
  for (const [who, cmd, skip] of IMPLS) {
    if (skip) continue;
    const disk = smallDisk(t)!;
    const dir = path.join(disk, 'log');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config'), 's8000\nn20\nN2\n');
    const p = start(t, cmd, ['log'], disk);
    p.proc.stdin!.end(input);
    const code = await within(`${who} to exit`, p.exited, 30_000);
    const files = [...fs.readdirSync(dir).filter((f) => f.startsWith('@')).sort(), 'current'];
    const kept = files.map((f) => fs.readFileSync(path.join(dir, f), 'latin1')).join('');
    res.set(who, { code, stderr: unstamp(p.stderr()), dir: describe(dir), kept });
  }
  const ours = res.get('ours')!;
  t.equal(ours.code, 0);
  t.match(ours.stderr, /^(svlogd: warning: out of disk space, delete: log\/@T\.s\n)+$/);
  t.ok(ours.kept.endsWith('29999\n30000\n'), 'up to the last line');
  t.ok(input.endsWith('\n' + ours.kept), 'the end of the input, from a line boundary, with no gap');
  const ref = res.get('runit');
  if (ref) t.same(ours, ref, 'the same as runit');
});

t.test('N = n: it pauses while the disk is full, then nothing is lost', { skip: canMount }, async (t) => {
  const disk = smallDisk(t)!;
  const dir = path.join(disk, 'log');
  fs.mkdirSync(dir);
  // Fill most of the disk, so that the log hits the limit.
  const filler = path.join(disk, 'filler');
  fs.writeFileSync(filler, Buffer.alloc(52 * 1024));
  const some = input.slice(0, input.indexOf('\n5000\n') + 6); // 24 KB
  const p = start(t, OURS, [dir], disk);
  p.proc.stdin!.write(some);
  await waitFor('the pause message', () => p.stderr().includes('svlogd: pausing: unable to write to current: '), 15_000);
  t.match(p.stderr(), new RegExp(`^svlogd: pausing: unable to write to current: ${dir}: out of disk space\n`));
  fs.unlinkSync(filler);
  p.proc.stdin!.end();
  t.equal(await within('svlogd to exit', p.exited, 30_000), 0);
  const files = [...fs.readdirSync(dir).filter((f) => f.startsWith('@')).sort(), 'current'];
  t.equal(files.map((f) => fs.readFileSync(path.join(dir, f), 'latin1')).join(''), some, 'every line, in order');
});
