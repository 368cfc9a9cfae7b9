// Random bytes as instruction files (live directory and compiled cdb) and as
// a cdb file: every decision must come back (allow or deny), a damaged cdb
// may only raise CdbError, and nothing may hang (tap's timeout bounds it).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openRuleSource } from '../src/decide/index';
import type { Decision, HostResolver } from '../src/decide/decision';
import { CdbError } from '../src/cdb/reader';
import { ROOT } from './helpers/common';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'instruct-fuzz-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

let seed = 4242;
const rnd = (k: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % k;
};

// Bytes biased toward the characters the parser cares about.
function junk(len: number): Buffer {
  const special = Buffer.from('+=C:#0\\n\n\0.');
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = rnd(3) === 0 ? special[rnd(special.length)] : rnd(256);
  return b;
}

const resolver: HostResolver = async (name) => (name.length % 2 === 0 ? ['127.0.0.1', '::1'] : []);
const peers = [
  { ip: '127.0.0.1' }, { ip: '127.0.0.2', host: 'a.example' }, { ip: '10.1.2.3' }, { ip: '::1' },
  { ip: '2001:db8::1', host: 'x.y.example' },
];
const names = ['0', '127.0.0.1', '127.0.0', '127', '10.0.0.0_8', '::1', '2001:db8::_32', 'a.example', 'example', 'fw', 'x'];
const modes = [0o000, 0o200, 0o400, 0o600, 0o644, 0o700];

t.test('random instruction files', async (t) => {
  let decisions = 0;
  for (let round = 0; round < 15; round++) {
    const dir = path.join(tmp, `r${round}`);
    fs.mkdirSync(dir);
    for (const n of names) {
      if (rnd(3) === 0) continue;
      fs.writeFileSync(path.join(dir, n), junk(rnd(400)));
      fs.chmodSync(path.join(dir, n), modes[rnd(modes.length)]);
    }
    execFileSync(path.join(ROOT, 'bin', 'ipsvd-cdb'), [`${dir}.cdb`, `${dir}.tmp`, dir], { stdio: 'ignore', timeout: 20000 });
    for (const kind of ['peers-dir', 'peers-cdb'] as const) {
      const src = openRuleSource({ kind, path: kind === 'peers-dir' ? dir : `${dir}.cdb`, warn: () => {} });
      for (const p of peers) {
        // Executable junk is run nowhere: only the decision is looked at.
        const d: Decision = await src.decide(p, resolver);
        if (d.action !== 'allow' && d.action !== 'deny') t.fail(`bad action ${String(d.action)}`);
        decisions++;
      }
    }
  }
  t.equal(decisions, 15 * 2 * peers.length, 'every decision came back');
});

t.test('random bytes as a cdb', async (t) => {
  let ok = 0, damaged = 0;
  for (let round = 0; round < 40; round++) {
    const f = path.join(tmp, `junk${round}.cdb`);
    // Sometimes a real header with junk after it, so lookups get past the first read.
    const size = rnd(3) === 0 ? rnd(2048) : 2048 + rnd(4000);
    fs.writeFileSync(f, junk(size));
    const src = openRuleSource({ kind: 'peers-cdb', path: f, warn: () => {} });
    for (const p of peers) {
      try {
        await src.decide(p, resolver);
        ok++;
      } catch (e) {
        if (!(e instanceof CdbError)) t.fail(`not a CdbError: ${String(e)}`);
        damaged++;
      }
    }
  }
  t.equal(ok + damaged, 40 * peers.length, `all answered (${ok} decisions, ${damaged} CdbError)`);
  t.ok(damaged > 0, 'damage was noticed');
});
