// tcprulescheck against /usr/bin/tcprulescheck: the same words and exit code
// for generated rules and clients, for damaged CDB files, and for missing
// ones. Our CIDR and IPv6 rules are checked against hand-made expectations.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { classicRules, peer, rng } from './helpers/rulesgen';
import { checkRules } from '../src/rules/check';
import { compileRules } from '../src/rules/compile';
import { ROOT, findReference, needReference } from './helpers/common';

const OURS = path.join(ROOT, 'bin', 'tcprulescheck');
const REF = findReference('tcprulescheck') ?? 'tcprulescheck';
const need = needReference('tcprulescheck', 'tcprules');
const haveRef = !need.skip;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcprulescheck-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

type Env = Record<string, string>;
interface Out { code: number | null; stdout: string; stderr: string }

function ref(file: string, env: Env, args = [file]): Out {
  const r = spawnSync(REF, args, { env, timeout: 10000 });
  return { code: r.status, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1') };
}
function ours(file: string, env: Env): Out {
  const r = checkRules(file, env);
  return { code: r.code, stdout: r.stdout.toString('latin1'), stderr: r.stderr };
}
function oursBin(env: Env, args: string[]): Out {
  const r = spawnSync(OURS, args, { env: { ...env, PATH: process.env.PATH ?? '' }, timeout: 30000 });
  return { code: r.status, stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('latin1') };
}

function compile(text: string, name: string): string {
  const file = path.join(dir, name);
  const src = file + '.in';
  fs.writeFileSync(src, text);
  const fd = fs.openSync(src, 'r');
  try {
    compileRules(fd, file, file + '.tmp');
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

function envOf(p: { ip?: string; host?: string; info?: string }): Env {
  const e: Env = {};
  if (p.ip !== undefined) e.TCPREMOTEIP = p.ip;
  if (p.host !== undefined) e.TCPREMOTEHOST = p.host;
  if (p.info !== undefined) e.TCPREMOTEINFO = p.info;
  return e;
}

t.test('usage and a missing file', async (t) => {
  const u = oursBin({}, []);
  t.same(u, { code: 100, stdout: '', stderr: 'tcprulescheck: usage: tcprulescheck rules.cdb\n' });
  const missing = path.join(dir, 'absent.cdb');
  const m = oursBin({}, [missing]);
  t.same(m, { code: 111, stdout: '', stderr: `tcprulescheck: fatal: unable to read ${missing}: file does not exist\n` });
  if (haveRef) {
    t.same(ref('', {}, []), u, 'usage as the reference');
    t.same(ref(missing, {}), m, 'missing file as the reference');
  }
});

t.test('generated rules and clients', need, async (t) => {
  let same = 0;
  let total = 0;
  const hits = new Set<string>();
  for (let set = 1; set <= 15; set++) {
    const file = compile(classicRules(rng(set), 60), `gen${set}.cdb`);
    const r = rng(1000 + set);
    for (let i = 0; i < 40; i++) {
      const p = peer(r);
      const env = envOf(i === 0 ? {} : i === 1 ? { ip: '' } : i === 2 ? { ...p, host: '' } : p);
      const want = ref(file, env);
      const got = i === 3 && set % 5 === 0 ? oursBin(env, [file]) : ours(file, env);
      total++;
      if (JSON.stringify(got) === JSON.stringify(want)) same++;
      else t.same(got, want, `set ${set} env ${JSON.stringify(env)}`);
      hits.add(want.stdout.split('\n').slice(-2)[0]);
    }
  }
  t.equal(same, total, `${total} answers agree`);
  t.ok(hits.has('deny connection') && hits.has('allow connection'), 'both outcomes were exercised');
});

t.test('damaged files: same answers and messages as the reference', need, async (t) => {
  const file = compile(classicRules(rng(77), 200), 'good.cdb');
  const good = fs.readFileSync(file);
  const bad = path.join(dir, 'bad.cdb');
  const r = rng(31337);
  const clients = Array.from({ length: 6 }, () => envOf(peer(r)));
  let same = 0;
  let total = 0;
  let errors = 0;
  const probe = (what: string) => {
    for (const env of clients) {
      const want = ref(bad, env);
      const got = ours(bad, env);
      total++;
      if (want.code === 111) errors++;
      if (JSON.stringify(got) === JSON.stringify(want)) same++;
      else t.same(got, want, `${what} ${JSON.stringify(env)}`);
    }
  };
  for (const len of [0, 7, 1000, 2047, 2048, good.length >> 1, good.length - 9]) {
    fs.writeFileSync(bad, good.subarray(0, len));
    probe(`truncated to ${len}`);
  }
  for (let i = 0; i < 60; i++) {
    const b = Buffer.from(good);
    for (let j = 1 + r(3); j > 0; j--) {
      const at = r(3) === 0 ? r(2048) : r(b.length - 4);
      b.writeUInt32LE([0xffffffff, 0x7ffffff8, r(b.length * 2), r(64)][r(4)], at & ~3);
    }
    fs.writeFileSync(bad, b);
    probe(`corrupted #${i}`);
  }
  t.equal(same, total, `${total} answers agree`);
  t.ok(errors > 0, `damage was reported (${errors} times)`);
});

t.test('CIDR and IPv6 rules (ucspi-tcp6 keys)', async (t) => {
  const file = compile([
    '10.0.0.0/8:allow,NET="8"',
    '10.1.0.0/16:deny',
    '10.1.2.:allow,NET="dotted"',
    '10.1.2.3/32:allow,NET="32"',
    '2001:db8::/32:allow,NET="v6/32"',
    '2001:db8::1:deny',
    'joe@2001:db8::2:allow,WHO="joe"',
    ':allow,NET="default"',
  ].join('\n') + '\n', 'cidr.cdb');
  const cases: Array<[Env, string]> = [
    [{ TCPREMOTEIP: '10.9.9.9' }, 'rule 10.0.0.0/8:\nset environment variable NET=8\nallow connection\n'],
    [{ TCPREMOTEIP: '10.1.9.9' }, 'rule 10.1.0.0/16:\ndeny connection\n'],
    [{ TCPREMOTEIP: '10.1.2.9' }, 'rule 10.1.2.:\nset environment variable NET=dotted\nallow connection\n'],
    [{ TCPREMOTEIP: '10.1.2.3' }, 'rule 10.1.2.:\nset environment variable NET=dotted\nallow connection\n'],
    [{ TCPREMOTEIP: '11.0.0.1' }, 'rule :\nset environment variable NET=default\nallow connection\n'],
    [{ TCPREMOTEIP: '2001:db8:1::5' }, 'rule 2001:db8::/32:\nset environment variable NET=v6/32\nallow connection\n'],
    [{ TCPREMOTEIP: '2001:DB8::1' }, 'rule 2001:0DB8:0000:0000:0000:0000:0000:0001:\ndeny connection\n'],
    [{ TCPREMOTEIP: '2001:db8::2', TCPREMOTEINFO: 'joe' }, 'rule joe@2001:0DB8:0000:0000:0000:0000:0000:0002:\nset environment variable WHO=joe\nallow connection\n'],
    [{ TCPREMOTEIP: '2001:db9::1' }, 'rule :\nset environment variable NET=default\nallow connection\n'],
    [{ TCPREMOTEIP: 'not:an:address' }, 'rule :\nset environment variable NET=default\nallow connection\n'],
  ];
  for (const [env, want] of cases) {
    // A CIDR or IPv6 rule found: standard output stays the original's, and a
    // line on standard error says that djb's tcpserver skips such a rule.
    const name = /^rule (.*):\n/.exec(want)![1];
    const tcp6 = /\//.test(name) || /:/.test(name.slice(name.lastIndexOf('@') + 1));
    const stderr = tcp6 ? `tcprulescheck: note: rule ${name} is ucspi-tcp6's (${name.includes('/') ? 'CIDR' : 'IPv6'}): ` +
      'ucspi-tcp 0.88\'s tcpserver (Debian\'s ucspi-tcp) never looks it up and ignores it without a word; ' +
      'only ucspi-tcp6\'s tcpserver and ours apply it\n' : '';
    t.same(ours(file, env), { code: 0, stdout: want, stderr }, JSON.stringify(env));
  }
  // The exact /32 rule is shadowed by the dotted prefix, which comes first.
});

// What the note says, shown: the cdb our tcprules writes for a CIDR rule is
// one Debian's tcpserver (ucspi-tcp 0.88) reads, and it lets in the client the
// rule denies; ours denies it. A classic rule: no note, as the reference.
t.test('a CIDR rule: djb\'s tcpserver skips it, tcprulescheck says so', needReference('tcpserver', 'tcprulescheck'), async (t) => {
  const { startServer, talk } = await import('./helpers/net');
  const file = compile('127.0.0.0/8:deny\n127.0.0.3:deny\n:allow\n', 'skipped.cdb');
  const served = async (cmd: string, local: string) => {
    const srv = await startServer(cmd, ['-HR', '-l', 'me', '-x', file, '127.0.0.1', '0', 'echo', 'served'], { PATH: '/usr/bin:/bin' });
    try {
      return await talk(srv.port, { local });
    } finally {
      await srv.stop();
    }
  };
  t.equal(await served(findReference('tcpserver') ?? 'tcpserver', '127.0.0.2'), 'served\n', 'Debian\'s tcpserver: the /8 rule is skipped');
  t.equal(await served(path.join(ROOT, 'bin', 'tcpserver'), '127.0.0.2'), '', 'ours: denied by it');
  t.equal(await served(findReference('tcpserver') ?? 'tcpserver', '127.0.0.3'), '', 'Debian\'s tcpserver: a classic rule applies');
  const cidr = oursBin({ TCPREMOTEIP: '127.0.0.2' }, [file]);
  t.equal(cidr.stdout, 'rule 127.0.0.0/8:\ndeny connection\n');
  t.match(cidr.stderr, /^tcprulescheck: note: rule 127\.0\.0\.0\/8 is ucspi-tcp6's \(CIDR\): ucspi-tcp 0\.88's tcpserver .* ignores it without a word/);
  t.equal(cidr.code, 0);
  const classic = oursBin({ TCPREMOTEIP: '127.0.0.3' }, [file]);
  t.same(classic, ref(file, { TCPREMOTEIP: '127.0.0.3' }), 'a classic rule: as the reference, no note');
});
