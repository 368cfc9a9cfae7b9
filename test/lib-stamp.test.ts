// src/lib/stamp: which changes of a file the readers' caches notice.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stamp } from '../src/lib/stamp';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stamp-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const LATER = 1e15; // a "now" long after any of these files changed

t.test('unchanged, renamed over, rewritten in place with its times put back', async (t) => {
  const f = path.join(dir, 'f');
  fs.writeFileSync(f, 'aaaa');
  const old = new Date(Date.now() - 3600e3);
  fs.utimesSync(f, old, old);
  const s = new Stamp();
  t.notOk(s.same(fs.statSync(f), LATER), 'nothing taken yet');
  s.take(fs.statSync(f), LATER);
  t.ok(s.same(fs.statSync(f), LATER), 'unchanged');

  fs.writeFileSync(f + '.tmp', 'bbbb');
  fs.utimesSync(f + '.tmp', old, old);
  fs.renameSync(f + '.tmp', f);
  t.notOk(s.same(fs.statSync(f), LATER), 'renamed over: another inode');
  s.take(fs.statSync(f), LATER);

  const before = fs.statSync(f);
  fs.writeFileSync(f, 'cccc');
  fs.utimesSync(f, before.atime, before.mtime);
  const after = fs.statSync(f);
  t.equal(after.mtimeMs, before.mtimeMs, 'mtime put back');
  t.notOk(s.same(after, LATER), 'ctime tells');

  s.clear();
  t.notOk(s.same(after, LATER), 'cleared');
});

t.test('a read within the clock tick window is done once more after it', async (t) => {
  const f = path.join(dir, 'g');
  fs.writeFileSync(f, 'x');
  const st = fs.statSync(f);
  const changed = Math.max(st.mtimeMs, st.ctimeMs);
  const s = new Stamp();
  s.take(st, changed + 1);
  t.ok(s.same(st, changed + 100), 'inside the window: trusted for now');
  t.notOk(s.same(st, changed + 5000), 'after it: read again');
  s.take(st, changed + 5000);
  t.ok(s.same(st, changed + 6000), 'then trusted');
});
