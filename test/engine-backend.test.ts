// The addon's path or the pure-Node one, chosen once at start (engine/backend.ts),
// in a fresh process per case (the addon is loaded once per process): what
// $UCSPI_LAUNCHER and $UCSPI_NO_NATIVE select, and that a built addon that
// cannot be loaded is reported, not skipped over in silence. Runs the tsc
// output (npm run build), as the server tests run the bundles.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'src');
const ADDON = path.join(ROOT, 'build', 'Release', 'ucspi.node');

/** Runs chooseBackend in a child: what it chose and what it warned, or what it threw. */
function choose(env: Record<string, string>, dist = DIST): { addon?: boolean; launcher?: string; warned?: string[]; threw?: string } {
  const script = `
    const { chooseBackend } = require(${JSON.stringify(path.join(dist, 'engine', 'backend.js'))});
    const warned = [];
    try {
      const b = chooseBackend((what, e) => warned.push(what + ': ' + (e && e.message ? 'reason' : 'none')));
      console.log(JSON.stringify({ addon: b.addon !== null, launcher: b.launcher.name, warned }));
    } catch (e) {
      console.log(JSON.stringify({ threw: e.message }));
    }
    process.exit(0); // the native launcher's threads would keep an idle process alive otherwise
  `;
  const clean = { ...process.env };
  delete clean.UCSPI_LAUNCHER;
  delete clean.UCSPI_NO_NATIVE;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) throw new Error(`child failed: ${r.status} ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const built = existsSync(path.join(DIST, 'engine', 'backend.js')) ? false : 'dist/ not built (npm run build)';
const withAddon = built || (existsSync(ADDON) ? false : 'addon not built (node-gyp)');

t.test('UCSPI_LAUNCHER=spawn: the pure-Node path, no addon in use', { skip: built }, async (t) => {
  t.same(choose({ UCSPI_LAUNCHER: 'spawn' }), { addon: false, launcher: 'spawn', warned: [] });
});

t.test('default with the addon built: the addon accepts and launches', { skip: withAddon }, async (t) => {
  t.same(choose({}), { addon: true, launcher: 'native', warned: [] });
});

t.test('UCSPI_NO_NATIVE: the pure-Node path, nothing to report', { skip: built }, async (t) => {
  t.same(choose({ UCSPI_NO_NATIVE: '1' }), { addon: false, launcher: 'spawn', warned: [] });
});

t.test('UCSPI_LAUNCHER=native without the addon: an error, not a quiet fallback', { skip: built }, async (t) => {
  t.same(choose({ UCSPI_NO_NATIVE: '1', UCSPI_LAUNCHER: 'native' }),
    { threw: 'UCSPI_LAUNCHER=native but the native launcher is not available' });
});

t.test('a built addon that cannot be loaded is reported, and the server runs without it', { skip: built }, async (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'backend-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  cpSync(DIST, path.join(tmp, 'dist', 'src'), { recursive: true });
  writeFileSync(path.join(tmp, 'package.json'), '{}\n');
  mkdirSync(path.join(tmp, 'build', 'Release'), { recursive: true });
  writeFileSync(path.join(tmp, 'build', 'Release', 'ucspi.node'), 'not a shared object\n');
  const dist = path.join(tmp, 'dist', 'src');
  t.same(choose({}, dist), { addon: false, launcher: 'spawn', warned: ['native addon unusable, running without it: reason'] });
  const forced = choose({ UCSPI_LAUNCHER: 'native' }, dist);
  t.match(forced.threw, /^UCSPI_LAUNCHER=native but the native launcher is not available: .+/, 'the reason is given');
});
