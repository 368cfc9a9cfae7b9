// openRuleSource: each kind opens the right reader for its file format.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openRuleSource } from '../src/decide/index';
import type { Decision } from '../src/decide/decision';
import { ROOT, needReference, reference } from './helpers/common';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'decide-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const none = async () => [];

t.test('rules-cdb: a tcprules cdb', needReference('tcprules'), async (t) => {
  const cdb = path.join(tmp, 'rules.cdb');
  execFileSync(reference('tcprules'), [cdb, `${cdb}.tmp`], { input: '127.0.0.9:deny\n127.:allow,X="1"\n', timeout: 10000 });
  const src = openRuleSource({ kind: 'rules-cdb', path: cdb });
  t.same((src.decide({ ip: '127.0.0.9' }, none) as Decision).action, 'deny');
  const d = src.decide({ ip: '127.0.0.1' }, none) as Decision;
  t.same([d.action, d.set], ['allow', [['X', '1']]]);
});

t.test('peers-dir and peers-cdb: the same tree', async (t) => {
  const dir = path.join(tmp, 'peers');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, '127.0.0.1'), '+X=1\n');
  fs.writeFileSync(path.join(dir, '127.0.0.9'), '', { mode: 0 });
  fs.chmodSync(path.join(dir, '127.0.0.9'), 0);
  execFileSync(path.join(ROOT, 'bin', 'ipsvd-cdb'), [`${dir}.cdb`, `${dir}.tmp`, dir], { timeout: 20000 });
  for (const [kind, p] of [['peers-dir', dir], ['peers-cdb', `${dir}.cdb`]] as const) {
    const src = openRuleSource({ kind, path: p });
    t.same((src.decide({ ip: '127.0.0.9' }, none) as Decision).action, 'deny', kind);
    t.same((src.decide({ ip: '127.0.0.1' }, none) as Decision).set, [['X', '1']], kind);
  }
  // A tcprules cdb is not read as instructions, nor the other way round.
  t.throws(() => openRuleSource({ kind: 'peers-dir', path: `${dir}.cdb` }).decide({ ip: '127.0.0.1' }, none), 'a file is no directory');
});

t.test('warnings go to the given sink, worded as tcpsvd', async (t) => {
  const dir = path.join(tmp, 'warn');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, '0'), 'nonsense\n');
  const got: string[] = [];
  openRuleSource({ kind: 'peers-dir', path: dir, warn: (m) => got.push(m) }).decide({ ip: '10.0.0.1' }, none);
  t.same(got, [`bad instruction: ${dir}/0: nonsense`]);
});
