// The listen address by name: resolved as ucspi-tcp and ipsvd resolve it
// (djb's rules, A records from $DNSCACHEIP, never getaddrinfo), with their
// words and exit codes when it cannot be. Unit tests of the pieces, then ours
// beside /usr/bin/tcpserver, /usr/bin/tcpsvd and /usr/bin/udpsvd against the
// fake DNS server.
import t from 'tap';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { numericIp4, qualify, resolveListenHost, rewriteRules, wireable, type LookupA } from '../src/listen/resolve';
import { BIN, findReference, needReference } from './helpers/common';
import { startFakeDns } from './helpers/fakedns';
import { startServer, talk } from './helpers/net';
import { startUdp, udpLocalIp } from './helpers/udp';

// Every test here is independent (its own fake DNS, port 0): they run side by
// side, so that the references' retries on a refused DNS (11 s for
// tcpserver, 22 s for tcpsvd and udpsvd) overlap instead of adding up.
t.jobs = 8;

// The lookups of a host by name, though, one test at a time: each starts a
// dozen servers that ask the fake DNS in this process, and under load one
// of ours once waited out its DNS timeout with all three at once.
let byNameQueue: Promise<unknown> = Promise.resolve();
function oneAtATime(fn: () => Promise<void>): () => Promise<void> {
  return () => {
    const run = byNameQueue.then(fn);
    byNameQueue = run.catch(() => undefined);
    return run;
  };
}

t.test('numbers are read as djb reads them, without DNS', async (t) => {
  t.same(numericIp4('127.0.0.1'), [127, 0, 0, 1]);
  t.same(numericIp4('[10.1.2.3]'), [10, 1, 2, 3], 'brackets are skipped');
  t.same(numericIp4('127.1'), [], 'fewer than four bytes: no address');
  t.same(numericIp4('1.2.3.4.5'), [1, 2, 3, 4], 'whole groups of four');
  t.same(numericIp4('256.1.1.1'), [0, 1, 1, 1], 'each number kept mod 256');
  t.equal(numericIp4('localhost'), undefined, 'a name');
  t.equal(numericIp4('1.2.3.x'), undefined);
});

t.test('rewriting rules: DNSREWRITEFILE, LOCALDOMAIN, resolv.conf, host name, in that order', async (t) => {
  const files: Record<string, string> = { '/rw': '-.x:y \t\r\n?:+.a\n', '/etc/resolv.conf': 'nameserver 1.2.3.4\nsearch b.example\tc.example\n' };
  const read = (f: string) => files[f];
  t.same(rewriteRules({ DNSREWRITEFILE: '/rw', LOCALDOMAIN: 'z' }, read, () => 'h'), ['-.x:y', '?:+.a', '']);
  t.same(rewriteRules({ DNSREWRITEFILE: '/none', LOCALDOMAIN: 'd1 d2' }, read, () => 'h'), ['?:+.d1+.d2', '*.:']);
  t.same(rewriteRules({ DNSREWRITEFILE: '/none' }, read, () => 'h'), ['?:+.b.example+.c.example', '*.:']);
  t.same(rewriteRules({ DNSREWRITEFILE: '/none' }, () => undefined, () => 'box.lan.example'), ['?:.lan.example', '*.:']);
  t.same(rewriteRules({ DNSREWRITEFILE: '/none' }, () => undefined, () => 'box'), ['*.:']);
});

t.test('qualify: rules, then every + alternative in order', async (t) => {
  const rules = ['?:+.a.example+.b.example', '*.:'];
  t.same(qualify('www', rules), ['www.a.example', 'www.b.example'], 'no dot: the search list');
  t.same(qualify('www.c', rules), ['www.c'], 'a dot: as given');
  t.same(qualify('www.c.', rules), ['www.c'], 'trailing dot dropped by *.:');
  t.same(qualify('WWW.OLD', ['*.old:.new']), ['WWW.new'], 'suffixes compare without case');
  t.same(qualify('x.old', ['-.old:other']), ['other'], '- replaces the whole name');
  t.same(qualify('x', ['=x:y']), ['y'], '= replaces a whole name');
  t.same(qualify('ax', ['=x:y']), ['ax'], '= with a prefix left is no match');
  t.same(qualify('junk', ['nonsense', 'also:bad']), ['junk'], 'rules of unknown kinds are ignored');
});

t.test('names that cannot go on the wire', async (t) => {
  t.ok(wireable('a.b.example'));
  t.ok(wireable(`${'a'.repeat(63)}.example`));
  t.notOk(wireable(`${'a'.repeat(64)}.example`), 'label of 64');
  t.ok(wireable('a..b.'), 'empty labels are dropped');
  t.notOk(wireable(Array(64).fill('abc').join('.')), 'over 255 bytes');
  t.ok(wireable(`${'\\065'.repeat(63)}`), 'an escape is one byte');
});

t.test('resolveListenHost: order of questions, errors', async (t) => {
  const asked: string[] = [];
  const zone: Record<string, string[] | Error> = { 'srv.a.example': ['127.0.0.7'], 'bare': ['127.0.0.8'] };
  const lookup: LookupA = async (n) => {
    asked.push(n);
    const v = zone[n];
    if (v instanceof Error) throw v;
    return v ?? [];
  };
  const rules = ['?:+.a.example', '*.:'];
  t.equal(await resolveListenHost('srv', { lookup, rules }), '127.0.0.7');
  t.same(asked.splice(0), ['srv.a.example'], 'ucspi-tcp qualifies at once');
  t.equal(await resolveListenHost('srv', { lookup, rules, asGivenFirst: true }), '127.0.0.7');
  t.same(asked.splice(0), ['srv', 'srv.a.example'], 'ipsvd asks the name as given first');
  t.equal(await resolveListenHost('bare', { lookup, rules, asGivenFirst: true }), '127.0.0.8');
  t.equal(await resolveListenHost('10.0.0.1', { lookup, rules }), '10.0.0.1');
  t.same(asked.splice(0), ['bare'], 'numbers never asked');
  await t.rejects(resolveListenHost('none', { lookup, rules }), { code: 'ENOTFOUND', syscall: 'queryA' });
  await t.rejects(resolveListenHost(`${'a'.repeat(64)}.example`, { lookup, rules }),
    { code: 'EPROTO', message: 'protocol error' });
  const refused = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED', syscall: 'queryA' });
  zone['down.a.example'] = refused;
  await t.rejects(resolveListenHost('down', { lookup, rules }), { code: 'ECONNREFUSED' });
});

// ---- ours beside the references -------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'listen-resolve-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const noRules = path.join(tmp, 'dnsrewrite');
fs.writeFileSync(noRules, ''); // an empty rewrite file: names are asked as given, whatever resolv.conf says

const LONG = `${'x'.repeat(64)}.example`;
const base = { PATH: '/usr/bin:/bin', DNSREWRITEFILE: noRules };
const TOOLS = [
  { name: 'tcpserver', args: ['-HR', '-l', 'me'] },
  { name: 'tcpsvd', args: ['-l', 'me'] },
] as const;

/** Exit code and stderr of a server that must fail at start (bounded; async, for the fake DNS in this process). */
function failure(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, encoding: 'utf8', timeout: 90_000 }, (e, _out, stderr) => {
      resolve({ status: e ? (typeof (e as any).code === 'number' ? (e as any).code : null) : 0, stderr });
    });
  });
}

for (const tool of TOOLS) {
  const ours = path.join(BIN, tool.name);
  const ref = findReference(tool.name) ?? tool.name;
  t.test(`${tool.name} host by name, as the reference`, needReference(tool.name), (t) => oneAtATime(async () => {
    const dns = await startFakeDns({
      'srv.example': { a: ['127.0.0.7'] },
      'srv.qual.example': { a: ['127.0.0.8'] },
      // A name with both kinds of address listens on its IPv4 one; one with IPv6 only has none.
      'both.example': { a: ['127.0.0.11'], aaaa: ['::1'] },
      'six.example': { aaaa: ['::1'] },
    }, { port53: true });
    t.teardown(() => dns.close());
    const env = { ...base, DNSCACHEIP: dns.addr };

    const localIp = async (cmd: string, host: string, connectTo: string, e: NodeJS.ProcessEnv = env) => {
      // A loaded machine can make the fake DNS (this process) answer late;
      // the references then wait for their second try: a wide bound.
      const srv = await startServer(cmd, [...tool.args, host, '0', 'sh', '-c', 'echo $TCPLOCALIP'], e, 60_000);
      try {
        return await talk(srv.port, { host: connectTo });
      } finally {
        await srv.stop();
      }
    };
    for (const [host, at, e] of [
      ['srv.example', '127.0.0.7', env],
      ['both.example', '127.0.0.11', env],
      ['127.0.0.9', '127.0.0.9', env],
      ['[127.0.0.10]', '127.0.0.10', env],
      ['srv', '127.0.0.8', { ...env, DNSREWRITEFILE: path.join(tmp, 'none'), LOCALDOMAIN: 'qual.example' }],
    ] as const) {
      const mine = await localIp(ours, host, at, e);
      t.equal(mine, `${at}\n`, `${host}: listens on ${at}`);
      t.equal(mine, await localIp(ref, host, at, e), `${host}: as the reference`);
    }
    t.ok(dns.queries.some((q) => q.name === 'srv.qual.example' && q.type === 'A'), 'LOCALDOMAIN qualified the name');
    t.notOk(dns.queries.some((q) => q.type === 'AAAA'), 'A records only');

    // Names without an address: NXDOMAIN (including localhost, which djb's
    // library does not treat specially), a name past the search list.
    for (const host of ['nosuch.example', 'localhost', '127.1', 'six.example']) {
      const args = [...tool.args, host, '0', 'true'];
      const [mine, theirs] = await Promise.all([failure(ours, args, env), failure(ref, args, env)]);
      t.same(mine, theirs, `${host}: same words and exit code`);
      t.match(mine.stderr, tool.name === 'tcpserver' ? `no IP address for ${host}` : `unable to look up ip address: ${host}`);
    }
    const args = [...tool.args, LONG, '0', 'true'];
    const [mine, theirs] = await Promise.all([failure(ours, args, env), failure(ref, args, env)]);
    t.same(mine, theirs, 'a label over 63 bytes');
    t.match(mine.stderr, /: protocol error\n$/);
    t.equal(mine.status, 111);
  })());

  t.test(`${tool.name} with nothing at DNSCACHEIP, as the reference`, needReference(tool.name), async (t) => {
    // 127.53.0.254:53: nothing listens, so every question is refused at once
    // (the references retry for a while: both run at the same time).
    const env = { ...base, DNSCACHEIP: '127.53.0.254' };
    const args = [...tool.args, 'srv.example', '0', 'true'];
    const [mine, theirs] = await Promise.all([failure(ours, args, env), failure(ref, args, env)]);
    t.same(mine, theirs);
    t.equal(mine.stderr, tool.name === 'tcpserver'
      ? 'tcpserver: fatal: temporarily unable to figure out IP address for srv.example: connection refused\n'
      : 'tcpsvd: fatal: unable to look up ip address: srv.example: connection refused\n');
    t.equal(mine.status, 111);
  });
}

// udpsvd resolves its host as tcpsvd does (ipsvd's two servers share the lookup).
t.test('udpsvd host by name, as the reference', needReference('udpsvd'), (t) => oneAtATime(async () => {
  const mineCmd = path.join(BIN, 'udpsvd');
  const ref = findReference('udpsvd') ?? 'udpsvd';
  const dns = await startFakeDns({
    'srv.example': { a: ['127.0.0.7'] },
    'both.example': { a: ['127.0.0.11'], aaaa: ['::1'] },
    'six.example': { aaaa: ['::1'] },
  }, { port53: true });
  t.teardown(() => dns.close());
  const env = { ...base, DNSCACHEIP: dns.addr };
  const bound = async (cmd: string, host: string) => {
    const srv = await startUdp(cmd, ['-l', 'me'], host, ['true'], env, 60_000);
    try {
      return udpLocalIp(srv.proc.pid!, srv.port);
    } finally {
      await srv.stop();
    }
  };
  for (const [host, at] of [['srv.example', '127.0.0.7'], ['both.example', '127.0.0.11'], ['[127.0.0.10]', '127.0.0.10'],
    ['0', '0.0.0.0'], ['', '0.0.0.0']] as const) {
    const mine = await bound(mineCmd, host);
    t.equal(mine, at, `${host}: bound to ${at}`);
    t.equal(mine, await bound(ref, host), `${host}: as the reference`);
  }
  // udpsvd is IPv4 only: "::" is a name without an address, as ipsvd has it.
  for (const host of ['nosuch.example', 'localhost', '127.1', LONG, 'six.example', '::', '::1']) {
    const args = ['-l', 'me', host, '0', 'true'];
    const [mine, theirs] = await Promise.all([failure(mineCmd, args, env), failure(ref, args, env)]);
    t.same(mine, theirs, `${host.slice(0, 20)}: same words and exit code`);
    t.match(mine.stderr, `udpsvd: fatal: unable to look up ip address: ${host}`);
  }
})());

t.test('udpsvd with nothing at DNSCACHEIP, as the reference', needReference('udpsvd'), async (t) => {
  const mineCmd = path.join(BIN, 'udpsvd');
  const ref = findReference('udpsvd') ?? 'udpsvd';
  const args = ['-l', 'me', 'srv.example', '0', 'true'];
  const refused = { ...base, DNSCACHEIP: '127.53.0.254' };
  const [mine, theirs] = await Promise.all([failure(mineCmd, args, refused), failure(ref, args, refused)]);
  t.same(mine, theirs);
  t.equal(mine.stderr, 'udpsvd: fatal: unable to look up ip address: srv.example: connection refused\n');
  t.equal(mine.status, 111);
});
