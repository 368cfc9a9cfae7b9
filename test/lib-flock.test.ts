// src/lib/flock without the addon: flock(1) locks our descriptor, the lock
// stays after the helper exits, excludes other holders and goes with the
// descriptor. (The addon path is exercised by the multilog and supervise tests.)
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

process.env.UCSPI_NO_NATIVE = '1'; // read at the first loadNative()
import { lockEx, lockExNb } from '../src/lib/flock';
import { which } from './helpers/common';

const haveFlock = which('flock') !== undefined;

t.test('flock(1) on the inherited descriptor', { skip: haveFlock ? false : 'flock(1) absent' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flock-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'lock');
  const other = () => spawnSync('flock', ['-xn', file, 'true'], { stdio: 'ignore', timeout: 10000 }).status;
  const fd = fs.openSync(file, 'a', 0o600);
  t.equal(lockExNb(fd), 'flock(1)');
  t.equal(other(), 1, 'another process cannot take it');
  const fd2 = fs.openSync(file, 'a');
  t.throws(() => lockExNb(fd2), { code: 'EAGAIN' }, 'nor another descriptor of ours');
  fs.closeSync(fd2);
  fs.closeSync(fd);
  t.equal(other(), 0, 'closing the descriptor gives it back');
});

t.test('flock(1) waiting (setlock without -n, chpst -l): a free lock is taken and held', { skip: haveFlock ? false : 'flock(1) absent' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flock-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'lock');
  const fd = fs.openSync(file, 'a', 0o600);
  lockEx(fd);
  t.equal(spawnSync('flock', ['-xn', file, 'true'], { stdio: 'ignore', timeout: 10000 }).status, 1, 'another process cannot take it');
  const fd2 = fs.openSync(file, 'a');
  t.throws(() => lockExNb(fd2), { code: 'EAGAIN' }, 'nor another descriptor of ours');
  fs.closeSync(fd2);
  fs.closeSync(fd);
});
