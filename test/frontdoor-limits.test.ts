// Per-prefix concurrency and per-source rate limits (tcpsvd and tcpserver
// syntaxes): the keys and the rate table as units (1M distinct sources in a
// table of fixed size), then real servers with clients from many 127/8
// addresses, and from one IPv6 /64 inside a network namespace of the test's own.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BIN, startServer } from './helpers/net';
import { isRoot, ROOT, scratch, spawn, waitFor, which } from './helpers/common';
import { parsePrefixOption, prefixKeyer } from '../src/admission/prefix';
import { ipv4Number } from '../src/lib/ip';
import { RateLimiter, parseRateOption } from '../src/admission/rate';
import { PerHost } from '../src/admission/perhost';
import type { Decision } from '../src/decide/decision';

const TCPSVD = path.join(BIN, 'tcpsvd');
const TCPSERVER = path.join(BIN, 'tcpserver');
const tmp = scratch('frontdoor-limits')('t'); // removed when the file's tests end
const ENV = { PATH: '/usr/bin:/bin' };
// Served clients get "hi N" and are held until they close; refused ones get the message.
const HOLD = ['sh', '-c', 'echo hi $TCPCONCURRENCY; read x'];

/** Connects from local, resolves with the first line (or '' at close) and the socket, bounded. */
function firstLine(port: number, local: string, host = '127.0.0.1'): Promise<{ line: string; sock: net.Socket }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, localAddress: local });
    let got = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer to ${local}`)); }, 10_000);
    const done = (line: string) => { clearTimeout(timer); resolve({ line, sock }); };
    sock.on('data', (d) => {
      got += d;
      const nl = got.indexOf('\n');
      if (nl >= 0) done(got.slice(0, nl).replace(/\r$/, ''));
    });
    sock.on('close', () => done(got));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** Clients from each address in turn, each held open; the first lines, then every socket closed. */
async function hop(port: number, addrs: string[], host?: string): Promise<string[]> {
  const socks: net.Socket[] = [];
  const lines: string[] = [];
  try {
    for (const a of addrs) {
      const r = await firstLine(port, a, host);
      socks.push(r.sock);
      lines.push(r.line);
    }
  } finally {
    for (const s of socks) s.destroy();
  }
  return lines;
}

const count = (lines: string[], re: RegExp) => lines.filter((l) => re.test(l)).length;
const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

// ---- units -----------------------------------------------------------------

t.test('prefix keys', async (t) => {
  const k = prefixKeyer({ v4: 24, v6: 64 });
  t.equal(k('127.1.2.3'), '127.1.2.0/24');
  t.equal(k('10.255.255.255'), '10.255.255.0/24');
  t.equal(k('fd00:1::abcd:1'), 'fd00:1::/64');
  t.equal(k('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  t.equal(prefixKeyer({ v4: 20, v6: 48 })('192.168.31.7'), '192.168.16.0/20');
  t.equal(prefixKeyer({ v4: 0, v6: 0 })('192.168.31.7'), '0.0.0.0/0');
  t.equal(prefixKeyer({ v4: 20, v6: 48 })('2001:db8:1:ffff::1'), '2001:db8:1::/48');
  t.equal(prefixKeyer({ v4: 32, v6: 128 })('fd00::1'), 'fd00::1', 'full lengths keep the address');
  t.equal(ipv4Number('1.2.3.4'), 0x01020304);
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'fd00::1', '1.2.3.4 ']) t.equal(ipv4Number(bad), -1, bad);
  t.same(parsePrefixOption('24,64'), { v4: 24, v6: 64 });
  t.same(parsePrefixOption('16'), { v4: 16, v6: 128 });
  t.same(parsePrefixOption(',56'), { v4: 32, v6: 56 });
  for (const bad of ['', ',', '33', '24,129', 'x', '24;64', '24,64,1']) t.equal(parsePrefixOption(bad), undefined, bad);
  t.same(parseRateOption('10/60'), { count: 10, seconds: 60 });
  t.same(parseRateOption('1/1:slow down\\r\\n'), { count: 1, seconds: 1, msg: 'slow down\\r\\n' });
  for (const bad of ['0/1', '1/0', '10', '/60', '10/60s', '-1/2']) t.equal(parseRateOption(bad), undefined, bad);
});

t.test('per-prefix counting: 1,000 addresses of one /24 share one count', async (t) => {
  const ph = new PerHost({ limit: 5, keyer: prefixKeyer({ v4: 24, v6: 64 }) });
  const allow: Decision = { action: 'allow', set: [], unset: [] };
  const conns = range(1000, (i) => ({ remoteIp: `127.1.2.${i % 256}`, phKey: '', phcc: 0, blcc: 0 }));
  let over = 0;
  for (const c of conns) {
    ph.admit(c);
    const v = ph.check(c, allow);
    if (v && !('bad' in v) && v.over) { over++; ph.release(c); }
  }
  t.equal(over, 995, 'only 5 within the limit');
  t.equal(ph.hosts, 1, 'one key');
  t.same(ph.top(3), [['127.1.2.0/24', 5]]);
});

t.test('MAXCONNIP, MAXCONNC and DIEMSG (tcpserver --per-host)', async (t) => {
  const ph = new PerHost({ limit: 0, rulesVars: true });
  const d = (set: Array<[string, string]>): Decision => ({ action: 'allow', set, unset: [] });
  const c = (ip: string) => { const x = { remoteIp: ip, phKey: '', phcc: 0, blcc: 0 }; ph.admit(x); return x; };
  const a = c('10.0.0.1'), b = c('10.0.0.2'), e = c('10.0.0.2');
  t.equal(ph.check(a, d([])), null, 'no variable, no limit');
  t.match(ph.check(e, d([['MAXCONNIP', '1'], ['DIEMSG', 'full']])), { over: true, n: 2, limit: 1, msg: 'full\r\n' });
  t.match(ph.check(b, d([['MAXCONNIP', '5'], ['MAXCONNC', '2']])), { over: false, key: '10.0.0.2', n: 1, limit: 5 },
    'within both: the host\'s count is reported');
  t.match(ph.check(e, d([['MAXCONNIP', '5'], ['MAXCONNC', '2']])), { over: true, key: '10.0.0.0/24', n: 3, limit: 2 },
    'the third of the /24 is over MAXCONNC');
  t.match(ph.check(a, d([['MAXCONNIP', '0']])), { over: true, limit: 0 }, '0 refuses every client');
  t.same(ph.check(a, d([['MAXCONNIP', 'many']])), { bad: 'MAXCONNIP', value: 'many' });
});

t.test('rate table: 1M distinct sources in fixed memory, a heavy source still limited', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const rl = new RateLimiter({ count: 10, perMs: 60_000 });
  const perPrefix = new RateLimiter({ count: 10, perMs: 60_000 });
  const k64 = prefixKeyer({ v4: 24, v6: 64 });
  gc();
  const before = getHeapStatistics().used_heap_size;
  const ext = process.memoryUsage().arrayBuffers;
  let now = 0, heavyOk = 0, heavyTries = 0, churnRefused = 0, prefixOk = 0;
  const N = 1_000_000;
  for (let i = 0; i < N; i++) {
    now += 0.001; // 1M connections in one second
    const v4 = `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const v6 = `fd00:1::${((i >> 16) & 0xffff).toString(16)}:${(i & 0xffff).toString(16)}`;
    if (!rl.take(v4, now)) churnRefused++;
    if (!rl.take(v6, now)) churnRefused++;
    if (perPrefix.take(k64(v6), now)) prefixOk++;
    if (i % 100 === 0) {
      heavyTries++;
      if (rl.take('198.51.100.7', now)) heavyOk++;
    }
  }
  gc();
  const grew = getHeapStatistics().used_heap_size - before;
  t.equal(heavyTries, 10_000);
  t.ok(heavyOk <= 11, `heavy source held to its rate among 2M others (${heavyOk} of ${heavyTries})`);
  t.equal(churnRefused, 0, 'each new source gets its first connection');
  t.ok(prefixOk <= 11, `1M addresses of one /64 held as one source (${prefixOk})`);
  t.ok(rl.tracked <= rl.slots, `tracked ${rl.tracked} within ${rl.slots} slots`);
  t.ok(rl.evicted > 0, 'entries were evicted, not added');
  t.equal(rl.bytes, 131072 * 24, 'the table is its fixed size');
  t.ok(grew < 8 * 1024 * 1024, `heap grew ${(grew / 1048576).toFixed(1)} MB over 2M sources`);
  t.ok(process.memoryUsage().arrayBuffers - ext < 1024 * 1024, 'no typed array added');
});

t.test('rate table: a full bucket is what eviction takes first; refill over time', async (t) => {
  const rl = new RateLimiter({ count: 2, perMs: 1000, slots: 4 });
  t.ok(rl.take('a', 0) && rl.take('a', 0), 'a burst of R');
  t.notOk(rl.take('a', 0), 'then refused');
  t.notOk(rl.take('a', 400), 'not yet a whole token');
  t.ok(rl.take('a', 600), 'one token after R/interval');
  for (let i = 0; i < 100; i++) rl.take(`s${i}`, 600);
  t.notOk(rl.take('a', 600), 'the empty bucket outlived 100 newcomers in 4 slots');
});

// ---- servers ---------------------------------------------------------------

const ADDRS_24 = range(1000, (i) => `127.1.2.${i % 254 + 1}`);

t.test('tcpsvd -C 5 --prefix=24: a client hopping over 1,000 addresses of 127.1.2.0/24 gets 5', async (t) => {
  const srv = await startServer(TCPSVD, ['-v', '-C', '5:busy\\n', '--prefix=24,64', '-c', '50', '-l', 'x',
    '127.0.0.1', '0', ...HOLD], ENV);
  t.teardown(() => srv.stop());
  const lines = await hop(srv.port, ADDRS_24);
  t.equal(count(lines, /^hi/), 5, 'served');
  t.equal(count(lines, /^busy$/), 995, 'refused with the message');
  t.same(lines.filter((l) => l.startsWith('hi')), ['hi 1', 'hi 2', 'hi 3', 'hi 4', 'hi 5'], 'TCPCONCURRENCY counts the prefix');
  await srv.waitLog(/concurrency \d+ 127\.1\.2\.0\/24 6\/5/);
  t.match(srv.stdout(), /concurrency \d+ 127\.1\.2\.0\/24 1\/5\n/, 'the -v line names the prefix');
});

t.test('tcpsvd -C 5 without --prefix: the same addresses each count alone', async (t) => {
  const srv = await startServer(TCPSVD, ['-C', '5:busy\\n', '-c', '50', '-l', 'x', '127.0.0.1', '0', ...HOLD], ENV);
  t.teardown(() => srv.stop());
  const lines = await hop(srv.port, ADDRS_24.slice(0, 20));
  t.equal(count(lines, /^hi 1$/), 20, 'every address served');
});

t.test('tcpserver --per-host=5 --prefix=24: the same hopping client gets 5', async (t) => {
  const srv = await startServer(TCPSERVER, ['-v', '-H', '-R', '-l', 'x', '--per-host=5:busy\\n', '--prefix=24',
    '-c', '50', '127.0.0.1', '0', ...HOLD], ENV);
  t.teardown(() => srv.stop());
  const lines = await hop(srv.port, ADDRS_24);
  t.equal(count(lines, /^hi/), 5, 'served');
  t.equal(count(lines, /^busy$/), 995, 'refused with the message');
  t.notOk(lines.some((l) => /^hi \d/.test(l)), 'tcpserver sets no TCPCONCURRENCY');
  t.match(srv.stderr(), /tcpserver: deny \d+ x:127\.0\.0\.1:\d+ :127\.1\.2\.\d+::\d+/);
});

t.test('tcpserver --per-host=0 and rules: MAXCONNC per /24, MAXCONNIP, DIEMSG; a bad value drops, naming the file', async (t) => {
  const text = '127.1.3.:allow,MAXCONNC="3",DIEMSG="421 full"\n127.1.4.9:allow,MAXCONNIP="0"\n' +
    '127.1.5.1:allow,MAXCONNIP="lots"\n:allow\n';
  const cdb = path.join(tmp, 'rules.cdb');
  execFileSync(path.join(BIN, 'tcprules'), [cdb, cdb + '.tmp'], { input: text });
  const srv = await startServer(TCPSERVER, ['-H', '-R', '-l', 'x', '-x', cdb, '--per-host=0', '-c', '50',
    '127.0.0.1', '0', ...HOLD], ENV);
  t.teardown(() => srv.stop());
  const lines = await hop(srv.port, range(50, (i) => `127.1.3.${i + 1}`));
  t.equal(count(lines, /^hi$/), 3, 'MAXCONNC: 3 from the /24');
  t.equal(count(lines, /^421 full$/), 47, 'DIEMSG, CRLF added');
  t.same(await hop(srv.port, ['127.1.4.9']), [''], 'MAXCONNIP=0 refuses (that rule sets no DIEMSG)');
  t.same(await hop(srv.port, ['127.1.5.1']), [''], 'a bad MAXCONNIP drops the client');
  await srv.waitLog(/dropping connection, bad MAXCONNIP in .*rules\.cdb rule 127\.1\.5\.1: not a number: lots/);
  t.same(await hop(srv.port, ['127.1.6.1', '127.1.6.1']), ['hi', 'hi'], 'no variable, no limit');
});

t.test('tcpsvd --rate: a flood from one source leaves the others served in full', async (t) => {
  // -b 128: 55 clients connect at once, more than the default backlog of 20 holds.
  const srv = await startServer(TCPSVD, ['-v', '--rate=5/3600:slow\\n', '-c', '60', '-b', '128', '-l', 'x', '127.0.0.1', '0',
    'sh', '-c', 'echo hi'], ENV);
  t.teardown(() => srv.stop());
  let flood = 0, floodSlow = 0, others = 0;
  for (let round = 0; round < 4; round++) {
    const batch: Array<Promise<void>> = [];
    for (let i = 0; i < 25; i++) {
      batch.push(firstLine(srv.port, '127.0.5.1').then((r) => { r.sock.destroy(); if (r.line === 'hi') flood++; else if (r.line === 'slow') floodSlow++; }));
    }
    for (let s = 1; s <= 30; s++) {
      batch.push(firstLine(srv.port, `127.0.6.${s}`).then((r) => { r.sock.destroy(); if (r.line === 'hi') others++; }));
    }
    await Promise.all(batch);
  }
  t.equal(flood, 5, 'the flooding source: its 5');
  t.equal(floodSlow, 95, 'the rest refused with the message');
  t.equal(others, 120, 'every other source served every time (4 each, under the rate)');
  // The service itself keeps serving: a new source still gets in.
  t.equal((await firstLine(srv.port, '127.0.7.1')).line, 'hi');
  t.match(srv.stdout(), /tcpsvd: info: pid (\d+) from 127\.0\.5\.1\ntcpsvd: info: rate \1 127\.0\.5\.1 5\/3600s\ntcpsvd: info: deny \1 x:127\.0\.0\.1 ::127\.0\.5\.1:\d+\n/,
    'the -v lines of a refusal');
});

t.test('tcpserver --rate --rate-table=64: 1,000 distinct sources, a heavy one still limited, the table bounded', async (t) => {
  const st = path.join(tmp, 'rate.status');
  const srv = await startServer(TCPSERVER, ['-v', '-H', '-R', '-l', 'x', '--rate=2/3600', '--rate-table=64',
    `--status=${st}`, '--status-interval=20', '-c', '60', '-b', '128', '127.0.0.1', '0', 'sh', '-c', 'echo hi'], ENV);
  t.teardown(() => srv.stop());
  let heavy = 0, heavyTries = 0, others = 0;
  for (let i = 0; i < 1000; i += 20) {
    const batch: Array<Promise<void>> = [];
    for (let j = i; j < i + 20; j++) {
      batch.push(firstLine(srv.port, `127.${2 + (j >> 8)}.${j & 255}.1`).then((r) => { r.sock.destroy(); if (r.line === 'hi') others++; }));
    }
    heavyTries++;
    batch.push(firstLine(srv.port, '127.0.5.2').then((r) => { r.sock.destroy(); if (r.line === 'hi') heavy++; }));
    await Promise.all(batch);
  }
  t.equal(others, 1000, 'every new source served');
  t.equal(heavy, 2, `the heavy source held to 2 of ${heavyTries}`);
  const doc = await waitFor('status with every connection', () => {
    const d = JSON.parse(readFileSync(st, 'utf8'));
    return d.accepted === 1000 + heavyTries && d.active === 0 ? d : undefined;
  });
  t.equal(doc.rate.slots, 64);
  t.ok(doc.rate.tracked <= 64, `tracked ${doc.rate.tracked}`);
  t.ok(doc.rate.evicted > 0, `evicted ${doc.rate.evicted}`);
  t.equal(doc.refused_rate, heavyTries - 2);
  t.match(srv.stderr(), /tcpserver: rate \d+ 127\.0\.5\.2 2\/3600\ntcpserver: deny \d+ /);
});

t.test('bad long options: a clear line and exit 100, whatever the usage code', async (t) => {
  const run = (cmd: string, args: string[]) => spawnSync(cmd, [...args, '127.0.0.1', '0', 'true'], { encoding: 'utf8', timeout: 10_000 });
  const cases: Array<[string, string[], number, RegExp]> = [
    [TCPSVD, ['--prefix=24'], 100, /tcpsvd: --prefix needs -C or --rate/],
    [TCPSVD, ['-C', '2', '--prefix=33'], 100, /tcpsvd: bad --prefix value: "33"/],
    [TCPSVD, ['--rate=0/1'], 100, /tcpsvd: bad --rate value: "0\/1"/],
    [TCPSERVER, ['--per-host=x'], 100, /tcpserver: bad --per-host value: "x"/],
    [TCPSERVER, ['--prefix=24'], 100, /tcpserver: --prefix needs --per-host or --rate/],
    [TCPSERVER, ['--rate=5/60', '--rate-table=2'], 100, /tcpserver: bad --rate-table value/],
    [TCPSERVER, ['--nosuch'], 100, /tcpserver: illegal option -- -nosuch/],
  ];
  for (const [cmd, args, code, re] of cases) {
    const r = run(cmd, args);
    t.equal(r.status, code, `${path.basename(cmd)} ${args.join(' ')}: exit`);
    t.match(r.stderr, re);
    t.match(r.stderr, /usage: /);
  }
});

// ---- IPv6, in a network namespace of the test's own ------------------------

const unshare = which('unshare');
const ip = which('ip');
// Inside the namespace: fd00:1::/64 on lo, every address of it bindable.
const NS_SETUP = 'ip link set lo up && ip -6 addr add fd00:1::/64 dev lo nodad && ' +
  'ip -6 route add local fd00:1::/64 dev lo && sysctl -qw net.ipv6.ip_nonlocal_bind=1';
function nsSkip(): string | false {
  if (!unshare || !ip) return 'needs unshare(1) and ip(8) (util-linux, iproute2)';
  const args = isRoot ? ['-n'] : ['-rn'];
  const r = spawnSync(unshare, [...args, 'sh', '-c', NS_SETUP], { timeout: 10_000 });
  return r.status === 0 ? false : `cannot set up a network namespace with an IPv6 /64 on lo: ${String(r.stderr).trim()}`;
}

t.test('IPv6: a client hopping over 1,000 addresses of one /64 is held to the per-prefix limit', { skip: nsSkip() }, async (t) => {
  // A script runs the server inside the namespace and reports what the clients got.
  const script = path.join(tmp, 'ns6.js');
  writeFileSync(script, `
const net = require('net'), { spawn } = require('child_process');
const [cmd, ...args] = JSON.parse(process.argv[2]);
const srv = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: '/usr/bin:/bin', DNSCACHEIP: '127.0.0.1' } });
const bail = setTimeout(() => { srv.kill('SIGKILL'); process.exit(2); }, 60000);
const line = (port, local) => new Promise((res, rej) => {
  const s = net.connect({ host: 'fd00:1::1', port, localAddress: local });
  let got = '';
  s.on('data', (d) => { got += d; if (got.includes('\\n')) res({ s, line: got.split('\\n')[0] }); });
  s.on('close', () => res({ s, line: got })); s.on('error', rej);
});
async function portOf() {
  for (let i = 0; i < 400; i++) {
    for (const l of require('fs').readFileSync('/proc/net/tcp6', 'utf8').split('\\n').slice(1)) {
      const f = l.trim().split(/\\s+/);
      if (f[3] === '0A') return parseInt(f[1].split(':')[1], 16); // the namespace's one listener
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no listener');
}
(async () => {
  const port = await portOf();
  const socks = [], lines = [];
  for (let i = 1; i <= 1000; i++) {
    const r = await line(port, 'fd00:1::' + (i * 7919 % 65536).toString(16) + ':' + i.toString(16));
    socks.push(r.s); lines.push(r.line);
  }
  for (const s of socks) s.destroy();
  clearTimeout(bail); srv.kill('SIGTERM');
  console.log(JSON.stringify(lines));
})().catch((e) => { console.error(e); srv.kill('SIGKILL'); process.exit(1); });
`);
  const setup = `${NS_SETUP} && exec "$0" "$@"`;
  for (const [name, cmd, args] of [
    ['tcpsvd', TCPSVD, ['-C', '5:busy\\n', '--prefix=24,64', '-c', '50', '-l', 'x']],
    ['tcpserver', TCPSERVER, ['-H', '-R', '-l', 'x', '--per-host=5:busy\\n', '--prefix6=64', '-c', '50']],
  ] as Array<[string, string, string[]]>) {
    const argv = JSON.stringify([cmd, ...args, 'fd00:1::1', '0', ...HOLD]);
    const child = spawn(unshare!, [...(isRoot ? ['-n'] : ['-rn']), 'sh', '-c', setup, process.execPath, script, argv],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    let out = '', err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    t.equal(code, 0, `${name}: the namespace run ended well ${err}`);
    const lines = JSON.parse(out || '[]') as string[];
    t.equal(count(lines, /^hi/), 5, `${name}: 5 of 1,000 addresses of fd00:1::/64 served`);
    t.equal(count(lines, /^busy$/), 995, `${name}: the rest refused`);
  }
});
