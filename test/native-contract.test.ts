// The addon's one contract (src/native.ts): loaded once (in a bundle, the
// module the banner loaded is the one every user gets), offered by concern
// (a concern whole or not at all), failures in one shape (thrown as Node's
// errors are). Each case in a fresh process, as the addon is loaded once per
// process: the tsc output (npm run build) given a stand-in addon through the
// banner's hand-over, and a bundle in a copy of the package.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ours, scratch } from './helpers/common';

const ROOT = path.resolve(__dirname, '..');
const NATIVE = path.join(ROOT, 'dist', 'src', 'native.js');
const built = existsSync(NATIVE) ? false : 'dist/ not built (npm run build)';

/**
 * Runs body in a child where the banner handed over `addon` (JavaScript
 * source of an object) as the module it loaded from a file that does not
 * exist: body sees native.js as n and prints its answer as JSON.
 */
function withHanded(addon: string, body: string): unknown {
  const script = `
    Object.defineProperty(process, 'ucspiAddon', { value: { file: '/nonexistent/ucspi.node', addon: ${addon} } });
    const n = require(${JSON.stringify(NATIVE)});
    const shape = (f) => { try { return { returned: f() ?? null }; } catch (e) { return { threw: { code: e.code, errno: e.errno, syscall: e.syscall } }; } };
    console.log(JSON.stringify((() => { ${body} })()));
  `;
  const env = { ...process.env };
  delete env.UCSPI_NO_NATIVE;
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) throw new Error(`child failed: ${r.status} ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const fn = '() => 0';
// Every users function, and of sys all but cloexec.
const PARTIAL = `{ getpwnam: ${fn}, getgrnam: ${fn}, getgrouplist: ${fn}, flockExNb: () => false, flockEx: ${fn},
  mkfifo: ${fn}, pipe: ${fn}, svlogdPrune: (d) => d.length === 1 ? -13 : d.length === 2 ? 0 : [[0, Buffer.from('@x.t'), 1], [1, Buffer.from('@y.s'), 0], [1, Buffer.from('@z.s'), 21]] }`;

t.test('in a bundle the module the banner loaded is the addon, not a second load of the file', { skip: built }, async (t) => {
  t.same(withHanded(PARTIAL, `
    const a = n.loadNative();
    return { loaded: a !== null, file: n.addonFile(), getpwnam: a && a.getpwnam.toString(), error: n.nativeLoadError() ?? null };
  `), { loaded: true, file: '/nonexistent/ucspi.node', getpwnam: fn, error: null });
});

t.test('a concern is there whole or not at all', { skip: built }, async (t) => {
  t.same(withHanded(PARTIAL, `
    return { users: n.addonPart('users') !== null, sys: n.addonPart('sys') !== null, accept: n.addonPart('accept') !== null };
  `), { users: true, sys: false, accept: false }, 'sys lacks cloexec, accept everything');
  t.same(withHanded('null', `return { users: n.addonPart('users'), all: n.loadNative() };`), { users: null, all: null },
    'no addon: no concern');
});

t.test('failures are thrown as Node\'s errors, answers are returned', { skip: built }, async (t) => {
  t.same(withHanded(PARTIAL, `
    const a = n.loadNative();
    return {
      held: shape(() => a.flockExNb(3)),
      opendir: shape(() => a.svlogdPrune(Buffer.from('/'), 1, false)),
      nothing: shape(() => a.svlogdPrune(Buffer.from('/.'), 1, false)),
      notes: shape(() => a.svlogdPrune(Buffer.from('/..'), 1, true).map(([k, name, e]) => [k, name.toString(), e && { code: e.code, errno: e.errno, syscall: e.syscall }])),
    };
  `), {
    held: { threw: { code: 'EAGAIN', errno: -11, syscall: 'flock' } },
    opendir: { threw: { code: 'EACCES', errno: -13, syscall: 'opendir' } },
    nothing: { returned: [] },
    notes: { returned: [[0, '@x.t', { code: 'EPERM', errno: -1, syscall: 'unlink' }], [1, '@y.s', null],
      [1, '@z.s', { code: 'EISDIR', errno: -21, syscall: 'unlink' }]] },
  });
});

const dirs = scratch('native-contract');

// A copy of the package with only tcpsvd's bundle and launcher, and addon as its addon file.
function tree(addon: 'garbage' | 'none' | 'real'): string {
  const dir = dirs(addon);
  mkdirSync(path.join(dir, 'bin'));
  mkdirSync(path.join(dir, 'dist', 'cmd'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{}\n');
  copyFileSync(ours('tcpsvd'), path.join(dir, 'bin', 'tcpsvd'));
  copyFileSync(path.join(ROOT, 'dist', 'cmd', 'tcpsvd.js'), path.join(dir, 'dist', 'cmd', 'tcpsvd.js'));
  if (addon !== 'none') {
    mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    const file = path.join(dir, 'build', 'Release', 'ucspi.node');
    if (addon === 'garbage') writeFileSync(file, 'not a shared object\n');
    else copyFileSync(path.join(ROOT, 'build', 'Release', 'ucspi.node'), file);
  }
  return dir;
}

const bundled = existsSync(path.join(ROOT, 'dist', 'cmd', 'tcpsvd.js')) ? false : 'bundles not built (npm run build)';
const real = bundled || (existsSync(path.join(ROOT, 'build', 'Release', 'ucspi.node')) ? false : 'addon not built (node-gyp)');

/** tcpsvd --help in dir: what it says of the addon. */
function said(dir: string): string {
  const env = { ...process.env };
  delete env.UCSPI_NO_NATIVE;
  const r = spawnSync(path.join(dir, 'bin', 'tcpsvd'), ['--help'], { env, encoding: 'utf8', timeout: 20000 });
  return (/^native addon: .*$/m.exec(r.stdout) ?? [r.stdout + r.stderr])[0];
}

t.test('a bundle tells what the banner found: the file in use, not built, or why it failed to load', { skip: real }, async (t) => {
  for (const kind of ['real', 'none', 'garbage'] as const) {
    const dir = tree(kind);
    const file = path.join(dir, 'build', 'Release', 'ucspi.node');
    const want = kind === 'real' ? `native addon: in use, loaded from ${file}`
      : kind === 'none' ? `native addon: not built (no ${file}), running on Node alone`
      : new RegExp(`^native addon: not in use, ${file.replace(/[.]/g, '\\.')} failed to load: .+, running on Node alone$`);
    t.match(said(dir), want, kind);
  }
});
