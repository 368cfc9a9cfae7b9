// rules/sample.rules, the example in the docs: it compiles, answers as its
// comments say, and its classic lines compile to the same bytes as with
// /usr/bin/tcprules.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { compileRules } from '../src/rules/compile';
import { checkRules } from '../src/rules/check';
import { needReference, reference } from './helpers/common';

const SAMPLE = path.resolve(__dirname, '..', 'rules', 'sample.rules');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulessample-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function compile(file: string, cdb: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    compileRules(fd, cdb, cdb + '.tmp');
  } finally {
    fs.closeSync(fd);
  }
}

const cdb = path.join(dir, 'sample.cdb');
compile(SAMPLE, cdb);

const say = (env: Record<string, string>) => checkRules(cdb, env).stdout.toString();
const cases: Array<[Record<string, string>, string]> = [
  [{ TCPREMOTEIP: '127.0.0.1' }, 'rule 127.0.0.1:\nset environment variable RELAYCLIENT=\nset environment variable GREETING=hello, localhost\nallow connection\n'],
  [{ TCPREMOTEIP: '127.0.0.1', TCPREMOTEINFO: 'root' }, 'rule root@127.0.0.1:\nset environment variable GREETING=hello, root\nallow connection\n'],
  [{ TCPREMOTEIP: '127.0.0.9' }, 'rule 127.0.0.9:\ndeny connection\n'],
  [{ TCPREMOTEIP: '127.0.0.25' }, 'rule 127.0.0.25:\ndeny connection\n'],
  [{ TCPREMOTEIP: '127.0.0.30' }, 'rule 127.0.0.:\nset environment variable GREETING=hello, loopback\nallow connection\n'],
  [{ TCPREMOTEIP: '127.0.1.7' }, 'rule 127.0.1.0/24:\nset environment variable GREETING=hello, cidr\nallow connection\n'],
  [{ TCPREMOTEIP: '10.0.0.1', TCPREMOTEHOST: 'trusted.example.org' }, 'rule =trusted.example.org:\nset environment variable RELAYCLIENT=\nallow connection\n'],
  [{ TCPREMOTEIP: '10.0.0.1', TCPREMOTEHOST: 'a.b.spam.example' }, 'rule =.spam.example:\ndeny connection\n'],
  [{ TCPREMOTEIP: '::1' }, 'rule 0000:0000:0000:0000:0000:0000:0000:0001:\nset environment variable GREETING=hello, six\nallow connection\n'],
  [{ TCPREMOTEIP: 'fe80::1234' }, 'rule fe80::/10:\ndeny connection\n'],
  [{ TCPREMOTEIP: '10.0.0.1' }, 'rule :\nallow connection\n'],
];
for (const [env, want] of cases) t.equal(say(env), want, JSON.stringify(env));

t.test('classic lines: same bytes as /usr/bin/tcprules', needReference('tcprules'), async (t) => {
  const classic = fs.readFileSync(SAMPLE, 'latin1').split('\n').filter((l) => !l.includes('/') && !/^[0-9a-f]*::/.test(l)).join('\n');
  const src = path.join(dir, 'classic.rules');
  fs.writeFileSync(src, classic, 'latin1');
  const ours = path.join(dir, 'classic.cdb');
  compile(src, ours);
  const ref = path.join(dir, 'ref.cdb');
  const r = spawnSync(reference('tcprules'), [ref, ref + '.tmp'], { input: classic });
  t.equal(r.status, 0);
  t.ok(fs.readFileSync(ours).equals(fs.readFileSync(ref)), 'identical');
});
