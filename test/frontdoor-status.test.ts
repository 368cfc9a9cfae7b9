// Live status (--status, tcpstatus, --metrics) and JSON log lines
// (--log-json), tcpsvd and tcpserver syntaxes: the counters must be what the
// test did to the server, the file whole at every read, the lines JSON.
import t, { type Test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BIN, startServer, talk } from './helpers/net';
import { scratch, waitFor } from './helpers/common';

const TCPSVD = path.join(BIN, 'tcpsvd');
const TCPSERVER = path.join(BIN, 'tcpserver');
const TCPSTATUS = path.join(BIN, 'tcpstatus');
const tmp = scratch('frontdoor-status')('t'); // removed when the file's tests end
const ENV = { PATH: '/usr/bin:/bin' };
// prog: reads one line, exits with it as its code.
const PROG = ['sh', '-c', 'echo hi; read x; exit $x'];

/** A client that got its first line and is held open: send() a line to let prog end. */
function client(port: number, local: string): Promise<{ line: string; send(s: string): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: local });
    let got = '';
    let closed: () => void = () => {};
    const gone = new Promise<void>((r) => { closed = r; });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer to ${local}`)); }, 10_000);
    const done = () => {
      clearTimeout(timer);
      resolve({
        line: got.split('\n')[0],
        send: (x) => { s.end(x); return Promise.race([gone, new Promise<void>((r) => setTimeout(r, 10_000))]); },
      });
    };
    s.on('data', (d) => { got += d; if (got.includes('\n')) done(); });
    s.on('close', () => { closed(); done(); });
    s.on('error', () => { /* reset by a refusal: close follows */ });
  });
}

function statusOf(file: string): Record<string, any> {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function tcpstatus(...args: string[]) {
  return spawnSync(TCPSTATUS, args, { encoding: 'utf8', timeout: 10_000 });
}

/** GET / from the metrics endpoint, bounded. */
function scrape(addr: string): Promise<string> {
  const m = /^(.*):(\d+)$/.exec(addr)!;
  return talk(Number(m[2]), { host: m[1], send: 'GET /metrics HTTP/1.0\r\n\r\n' });
}

function peers(): string {
  const d = mkdtempSync(path.join(tmp, 'peers-'));
  writeFileSync(path.join(d, '127.0.0'), '');
  writeFileSync(path.join(d, '127.0.0.2'), '');
  chmodSync(path.join(d, '127.0.0.2'), 0o000); // deny
  return d;
}

/**
 * What the tests do to a server: one child exits 0, one held then exits 3, one
 * refused by the per-host limit, two denied by the rules, three served and
 * one refused by the rate from one source. Totals: accepted 9, exited 0 ×4
 * and 3 ×1, denied 2, refused 1 by limit and 1 by rate.
 */
async function exercise(t: Test, port: number, file: string): Promise<void> {
  const a = await client(port, '127.0.0.5');
  t.equal(a.line, 'hi');
  await a.send('0\n');
  const b = await client(port, '127.0.0.6');
  t.equal(b.line, 'hi');
  const live = await waitFor('status with the held client', () => {
    const d = statusOf(file);
    return d.active === 1 && d.exited['0'] === 1 ? d : undefined;
  });
  t.same(live.per_host.top, [['127.0.0.6', 1]], 'the live client in the per-host counts');
  t.equal((await client(port, '127.0.0.6')).line, 'busy', 'over the per-host limit');
  await b.send('3\n');
  for (let i = 0; i < 2; i++) t.equal((await client(port, '127.0.0.2')).line, '', 'denied by the rules');
  // The client sees the end before the server has reaped prog: each next one
  // from the same address waits until the status shows no live connection.
  const idle = (ended: number) => waitFor('no live connection', () => {
    const d = statusOf(file);
    return d.active === 0 && d.exited['0'] === ended;
  });
  for (let i = 0; i < 3; i++) {
    await idle(1 + i);
    const c = await client(port, '127.0.0.7');
    t.equal(c.line, 'hi');
    await c.send('0\n');
  }
  await idle(4);
  t.equal((await client(port, '127.0.0.7')).line, 'slow', 'over the rate');
}

const EXPECTED = {
  accepted: 9, active: 0, denied: 2, refused_limit: 1, refused_rate: 1, dropped: 0, deferred: 0,
  exited: { 0: 4, 3: 1 },
};

t.test('tcpsvd --status and --metrics: the counters are what happened; tcpstatus reads them', async (t) => {
  const file = path.join(tmp, 'svd.status');
  const srv = await startServer(TCPSVD, ['-C', '1:busy\\n', '--rate=3/3600:slow\\n', '-i', peers(),
    `--status=${file}`, '--status-interval=20', '--metrics=127.0.0.1:0', '-l', 'x', '127.0.0.1', '0', ...PROG], ENV);
  t.teardown(() => srv.stop());
  // The server holds two listeners: the service's port is the one the status names.
  const first = await waitFor('the first status', () => statusOf(file));
  t.match(first, { version: 1, prog: 'tcpsvd', pid: srv.proc.pid, listening: /^127\.0\.0\.1:\d+$/, max: 30, accepted: 0 });
  const port = Number(first.listening.split(':')[1]);
  t.match(first.metrics, /^127\.0\.0\.1:\d+$/);
  t.not(first.metrics, first.listening);
  await exercise(t, port, file);
  const d = await waitFor('status with every end', () => {
    const x = statusOf(file);
    return x.accepted === 9 && x.active === 0 && x.exited['3'] === 1 ? x : undefined;
  });
  t.match(d, EXPECTED);
  t.same(d.exited, EXPECTED.exited);
  t.match(d.per_host, { unit: 'host', keys: 0, top: [] });
  t.match(d.rate, { count: 3, seconds: 3600, slots: 131072, tracked: 4, evicted: 0 });

  const line = tcpstatus(file);
  t.equal(line.status, 0);
  t.match(line.stdout, new RegExp(`^${file}: up \\(pid ${srv.proc.pid}\\) \\d+ seconds, tcpsvd on 127\\.0\\.0\\.1:${port}, ` +
    '0/30 connections, accepted 9, denied 2, refused 1 by limit 1 by rate, dropped 0, deferred 0, exited 0:4 3:1, per host 0, ' +
    'rate 3/3600s tracking 4/131072\\n$'));
  const js = tcpstatus('--json', file);
  t.equal(js.status, 0);
  t.match(JSON.parse(js.stdout), { file, running: true, ...EXPECTED });

  const text = await scrape(d.metrics);
  t.match(text, /^HTTP\/1\.0 200 OK\r\nContent-Type: text\/plain; version=0\.0\.4\r\n/);
  for (const m of ['ucspi_accepted_total 9', 'ucspi_connections 0', 'ucspi_refused_total{reason="rules"} 2',
    'ucspi_refused_total{reason="limit"} 1', 'ucspi_refused_total{reason="rate"} 1', 'ucspi_exited_total{status="3"} 1',
    'ucspi_exited_total{status="0"} 4', 'ucspi_rate_tracked 4']) {
    t.ok(text.includes(`\n${m}\n`), m);
  }
  await srv.stop();
  const down = tcpstatus(file);
  t.match(down.stdout, new RegExp(`^${file}: down \\(pid ${srv.proc.pid} gone\\), written \\d+ seconds ago, `));
});

t.test('tcpserver --status with -x rules, --per-host and --rate: the same counters', async (t) => {
  const cdb = path.join(tmp, 'rules.cdb');
  execFileSync(path.join(BIN, 'tcprules'), [cdb, cdb + '.tmp'], { input: '127.0.0.2:deny\n:allow\n' });
  const file = path.join(tmp, 'server.status');
  const srv = await startServer(TCPSERVER, ['-H', '-R', '-l', 'x', '-x', cdb, '--per-host=1:busy\\n',
    '--rate=3/3600:slow\\n', `--status=${file}`, '--status-interval=20', '127.0.0.1', '0', ...PROG], ENV);
  t.teardown(() => srv.stop());
  await exercise(t, srv.port, file);
  const d = await waitFor('status with every end', () => {
    const x = statusOf(file);
    return x.accepted === 9 && x.active === 0 && x.exited['3'] === 1 ? x : undefined;
  });
  t.match(d, { ...EXPECTED, prog: 'tcpserver', max: 40 });
  t.same(d.exited, EXPECTED.exited);
  t.match(d.per_block, { keys: 0, top: [] }, 'the MAXCONNC blocks are counted too');
});

t.test('--prefix with --status: counts per network and per address', async (t) => {
  const file = path.join(tmp, 'prefix.status');
  const srv = await startServer(TCPSVD, ['-C', '3', '--prefix=24', `--status=${file}`, '--status-interval=20',
    '-l', 'x', '127.0.0.1', '0', ...PROG], ENV);
  t.teardown(() => srv.stop());
  const a = await client(srv.port, '127.1.9.1');
  const b = await client(srv.port, '127.1.9.2');
  const c = await client(srv.port, '127.1.9.2');
  t.same([a.line, b.line, c.line], ['hi', 'hi', 'hi']);
  const d = await waitFor('three live', () => { const x = statusOf(file); return x.active === 3 ? x : undefined; });
  t.same(d.per_host, { unit: 'prefix /24 /128', keys: 1, top: [['127.1.9.0/24', 3]] });
  t.same(d.per_address, { keys: 2, top: [['127.1.9.2', 2], ['127.1.9.1', 1]] });
  t.match(tcpstatus(file).stdout, /, per prefix \/24 \/128 1 \(most 127\.1\.9\.0\/24 3\), addresses 2\n$/);
  for (const x of [a, b, c]) await x.send('0\n');
  const e = await waitFor('none live', () => { const x = statusOf(file); return x.active === 0 ? x : undefined; });
  t.same(e.per_address, { keys: 0, top: [] }, 'released with the connections');
});

t.test('the status file is whole at every read while connections come and go', async (t) => {
  const file = path.join(tmp, 'busy.status');
  const srv = await startServer(TCPSVD, [`--status=${file}`, '--status-interval=10', '-l', 'x', '127.0.0.1', '0',
    'sh', '-c', 'echo hi'], ENV);
  t.teardown(() => srv.stop());
  let reads = 0, bad = 0, last = 0;
  let going = true;
  const load = (async () => {
    for (let i = 0; i < 150; i++) await talk(srv.port);
    going = false;
  })();
  while (going) {
    try {
      const d = JSON.parse(readFileSync(file, 'utf8'));
      if (d.accepted < last) bad++;
      last = d.accepted;
    } catch {
      bad++;
    }
    reads++;
    await new Promise((r) => setImmediate(r));
  }
  await load;
  t.equal(bad, 0, `${reads} reads, every one a whole status, counts never going back`);
  await waitFor('all 150 counted', () => statusOf(file).accepted === 150);
});

t.test('--log-json: one JSON object per line with the connection\'s fields', async (t) => {
  const srv = await startServer(TCPSVD, ['--log-json', '-i', peers(), '-l', 'x', '127.0.0.1', '0', 'sh', '-c', 'echo hi; exit 7'], ENV);
  t.teardown(() => srv.stop());
  t.equal(await talk(srv.port, { local: '127.0.0.5' }), 'hi\n');
  t.equal(await talk(srv.port, { local: '127.0.0.2' }), '');
  const out = await srv.waitLog(/"event":"end".*\n(.|\n)*"event":"end"/);
  t.equal(srv.stderr(), '', 'nothing on stderr');
  const lines = srv.stdout().trim().split('\n').map((l) => JSON.parse(l));
  t.ok(out.length > 0);
  t.match(lines[0], { prog: 'tcpsvd', event: 'listening', ip: '127.0.0.1', port: srv.port });
  const start = lines.find((l) => l.event === 'start');
  t.match(start, { time: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, pid: Number, decision: 'start',
    remote_ip: '127.0.0.5', remote_port: Number, local_ip: '127.0.0.1', local_port: srv.port, local_host: 'x', matched: '127.0.0' });
  const end = lines.find((l) => l.event === 'end' && l.pid === start.pid);
  t.match(end, { remote_ip: '127.0.0.5', exit: 7, duration_ms: Number });
  t.match(lines.find((l) => l.event === 'deny'), { decision: 'deny', reason: 'rules', remote_ip: '127.0.0.2', matched: '127.0.0.2' });
  t.notOk(srv.stdout().includes('tcpsvd: info'), 'no text lines');
});

t.test('--log-json: a client both denied by the rules and over -C counts, and is logged, as denied by the rules', async (t) => {
  const dir = path.join(tmp, 'peers-rules-and-limit');
  mkdirSync(dir);
  writeFileSync(path.join(dir, '127.0.0.6'), '');
  const st = path.join(tmp, 'st-rules-and-limit');
  const srv = await startServer(TCPSVD, ['--log-json', `--status=${st}`, '-C', '1', '-i', dir, '-l', 'x', '127.0.0.1', '0', ...PROG], ENV);
  t.teardown(() => srv.stop());
  const held = await client(srv.port, '127.0.0.6');
  t.equal(held.line, 'hi');
  chmodSync(path.join(dir, '127.0.0.6'), 0o000); // the rules now deny 127.0.0.6, which holds its one slot
  t.equal(await talk(srv.port, { local: '127.0.0.6' }), '');
  await srv.waitLog(/"event":"deny"/);
  const deny = srv.stdout().trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.event === 'deny');
  t.match(deny, { reason: 'rules', concurrency: { n: 2, limit: 1 } });
  await waitFor('the deny counted', () => statusOf(st).denied === 1);
  t.equal(statusOf(st).refused_limit, 0, 'not counted as over the limit');
  await held.send('0\n');
});

t.test('tcpserver --log-json: the same fields, on standard error where its lines go', async (t) => {
  const cdb = path.join(tmp, 'rules2.cdb');
  execFileSync(path.join(BIN, 'tcprules'), [cdb, cdb + '.tmp'], { input: '127.0.0.2:deny\n127.0.0.:allow\n' });
  const srv = await startServer(TCPSERVER, ['--log-json', '-H', '-R', '-l', 'x', '-x', cdb, '--rate=1/3600',
    '127.0.0.1', '0', 'sh', '-c', 'echo hi'], ENV);
  t.teardown(() => srv.stop());
  t.equal(await talk(srv.port, { local: '127.0.0.5' }), 'hi\n');
  t.equal(await talk(srv.port, { local: '127.0.0.5' }), '');
  t.equal(await talk(srv.port, { local: '127.0.0.2' }), '');
  await srv.waitLog(/"reason":"rules"[^\n]*\n[^\n]*"event":"end"/);
  const lines = srv.stderr().trim().split('\n').map((l) => JSON.parse(l));
  t.match(lines.find((l) => l.event === 'start'), { prog: 'tcpserver', remote_ip: '127.0.0.5', matched: '127.0.0.' });
  t.match(lines.find((l) => l.reason === 'rate'), { event: 'deny', rate: { key: '127.0.0.5', count: 1, seconds: 3600 } });
  t.match(lines.find((l) => l.reason === 'rules'), { event: 'deny', remote_ip: '127.0.0.2', matched: '127.0.0.2' });
  t.equal(lines.filter((l) => l.event === 'end').length, 3, 'an end line for each connection');
});

t.test('bad status and tcpstatus input: clear lines, documented exit codes', async (t) => {
  const r = spawnSync(TCPSVD, [`--status=${tmp}/no/such/dir/st`, '-l', 'x', '127.0.0.1', '0', 'true'],
    { encoding: 'utf8', timeout: 10_000, env: { ...ENV, DNSCACHEIP: '127.0.0.1' } });
  t.equal(r.status, 111);
  t.match(r.stderr, /^tcpsvd: fatal: unable to write status file: .*\/no\/such\/dir\/st: file does not exist\n/);
  const m = spawnSync(TCPSVD, ['--metrics=127.0.0.1:99999', '-l', 'x', '127.0.0.1', '0', 'true'], { encoding: 'utf8', timeout: 10_000 });
  t.equal(m.status, 100, 'a bad long option value: exit 100');
  t.match(m.stderr, /bad --metrics value/);

  t.equal(tcpstatus().status, 100);
  t.match(tcpstatus().stderr, /tcpstatus: usage: tcpstatus/);
  const missing = tcpstatus(path.join(tmp, 'nothing'));
  t.equal(missing.status, 111);
  t.match(missing.stderr, /^tcpstatus: warning: unable to read .*nothing: file does not exist\n$/);
  const junk = path.join(tmp, 'junk');
  writeFileSync(junk, '{"version":2}');
  t.equal(tcpstatus(junk).status, 111);
  t.match(tcpstatus(junk).stderr, /junk: not a status file: unknown version 2/);
  mkdirSync(path.join(tmp, 'adir'));
  t.match(tcpstatus(path.join(tmp, 'adir')).stderr, /unable to read .*adir: /);
});
