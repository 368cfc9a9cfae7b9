// runsvchdir, ours beside runit's (Debian's), each in a mount namespace of its
// own where a scratch directory is bound over /etc/runit: the real /etc is
// never touched. Same output, exit code and resulting directory.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, isRoot, killGroup, needReference, reference, scratch, spawn } from './helpers/common';

const tmp = scratch('runsvchdir');

function namespaces(): string | false {
  if (!isRoot) return 'needs root (a mount namespace over /etc/runit)';
  if (!fs.existsSync('/etc/runit')) return '/etc/runit is missing: nothing to bind the scratch directory over';
  const r = spawnSync('unshare', ['-m', 'true'], { timeout: 10_000 });
  return r.status === 0 ? false : `unshare -m is not allowed here (${r.error?.message ?? String(r.stderr).trim()})`;
}
const skip = namespaces() || needReference('runsvchdir').skip;

interface Out { status: number | null; stdout: string; stderr: string; tree: string[] }

/** What dir holds: name, type, link target; sorted. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return ['(no runsvdir)'];
  return fs.readdirSync(dir).sort().map((n) => {
    const st = fs.lstatSync(path.join(dir, n));
    if (st.isSymbolicLink()) return `${n} -> ${fs.readlinkSync(path.join(dir, n))}`;
    return `${n} ${st.isDirectory() ? 'dir' : 'file'}`;
  });
}

/** runsvchdir from binDir (called by name, as runit's prints argv[0]) with /etc/runit bound to a fresh root made by setup. */
function run(binDir: string, args: string[], setup: (runsvdir: string) => void): Promise<Out> {
  const root = tmp('root');
  const runsvdir = path.join(root, 'runsvdir');
  fs.mkdirSync(path.join(runsvdir, 'a'), { recursive: true });
  fs.mkdirSync(path.join(runsvdir, 'b'));
  fs.symlinkSync('a', path.join(runsvdir, 'current'));
  setup(runsvdir);
  return new Promise((resolve) => {
    const p = spawn('unshare', ['-m', 'sh', '-c', 'mount --bind "$0" /etc/runit && cd / && exec runsvchdir "$@"', root, ...args], {
      env: { PATH: `${binDir}:/usr/bin:/bin` }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    p.stdout!.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    p.stderr!.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    const limit = setTimeout(() => killGroup(p.pid), 30_000);
    p.on('close', (status) => {
      clearTimeout(limit);
      resolve({ status, stdout, stderr, tree: tree(runsvdir) });
    });
  });
}

const none = () => {};
const cases: Array<[string, string[], (d: string) => void]> = [
  ['no argument: usage, exit 1', [], none],
  ['a name starting with a dot', ['.hidden'], none],
  ['switch', ['b'], none],
  ['already current', ['a'], none],
  ['an absolute path', ['/etc/runit/runsvdir/b'], none],
  ['no such directory', ['nope'], none],
  ['a file', ['f'], (d) => fs.writeFileSync(path.join(d, 'f'), '')],
  ['a symlink to a directory', ['l'], (d) => fs.symlinkSync('b', path.join(d, 'l'))],
  ['options are names', ['-x'], none],
  ['the first argument only', ['b', 'a'], none],
  ['an empty name', [''], none],
  ['no current', ['b'], (d) => fs.unlinkSync(path.join(d, 'current'))],
  ['current dangling', ['b'], (d) => { fs.unlinkSync(path.join(d, 'current')); fs.symlinkSync('gone', path.join(d, 'current')); }],
  ['current a real directory', ['b'], (d) => { fs.unlinkSync(path.join(d, 'current')); fs.mkdirSync(path.join(d, 'current')); }],
  ['a previous and a stale current.new replaced', ['b'], (d) => {
    fs.symlinkSync('x', path.join(d, 'previous'));
    fs.symlinkSync('y', path.join(d, 'current.new'));
  }],
  ['current.new a directory', ['b'], (d) => fs.mkdirSync(path.join(d, 'current.new'))],
  ['previous a directory that is not empty', ['b'], (d) => fs.mkdirSync(path.join(d, 'previous', 'x'), { recursive: true })],
  ['no runsvdir', ['b'], (d) => fs.rmSync(d, { recursive: true })],
];

t.test('runsvchdir beside runit\'s', { skip }, async (t) => {
  const refDir = path.dirname(reference('runsvchdir'));
  for (const [what, args, setup] of cases) {
    const want = await run(refDir, args, setup);
    const got = await run(BIN, args, setup);
    t.same(got, want, what);
  }
  const r = await run(BIN, ['b'], none);
  t.same([r.stdout, r.tree], ['runsvchdir: b: now current.\n', ['a dir', 'b dir', 'current -> b', 'previous -> a']], 'the switch, as it should be');
});
