// tcpexplain: (a) on generated rules, peers and clients, its decision is the
// one the servers take (ours, and the reference tcpserver and tcpsvd where
// the corpus is in their language), clients connecting from 127.x.y.z with
// names from a fake DNS; (b) the keys it lists are the originals' lookup
// order; (c) errors name the file, with exit codes 100 and 111.
import t, { Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { killGroup, needReference, ours, reference, spawn } from './helpers/common';
import { parseEnv, startServer, talk } from './helpers/net';
import { type FakeDns, startFakeDns, type Zone } from './helpers/fakedns';
import { HOSTS, LOOPBACK, TEN, classicRules, peer, peersTree, rng, type GenPeer, type PeerEntry } from './helpers/rulesgen';
import type { Report } from '../src/explain/report';

const EXPLAIN = ours('tcpexplain');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-test-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

/** A command in its own process group, bounded; the fake DNS answers meanwhile (no spawnSync). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, ms = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout!.on('data', (d) => { out += d; });
    p.stderr!.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { killGroup(p.pid); reject(new Error(`${cmd} ${args.join(' ')}: timed out`)); }, ms);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout: out, stderr: err }); });
  });
}

async function explain(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Report[]> {
  const r = await run(EXPLAIN, ['--json', ...args], env);
  if (r.code !== 0) throw new Error(`tcpexplain ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Report);
}

// ---- what a decision does, seen from both sides -----------------------------

interface Seen { action: 'allow' | 'deny' | 'exec'; exec?: string; vars?: Record<string, string> }

// The server runs with FOO=bar; rules touch only FOO and V0..V4.
const SERVER_ENV = { PATH: '/usr/bin:/bin', FOO: 'bar' };
const touched = (k: string) => k === 'FOO' || /^V[0-9]$/.test(k);

function expected(r: Report): Seen {
  if (r.action === 'deny') return { action: 'deny' };
  const vars: Record<string, string> = { FOO: 'bar' };
  for (const [k, v] of r.set) vars[k] = v;
  for (const k of r.unset) delete vars[k];
  const s: Seen = { action: r.action, vars };
  if (r.command !== null) s.exec = /^echo EXEC=(\S+);/.exec(r.command)?.[1] ?? r.command;
  return s;
}

function observed(out: string): Seen {
  if (out === '') return { action: 'deny' };
  const env = parseEnv(out);
  const vars: Record<string, string> = {};
  for (const k of Object.keys(env)) if (touched(k)) vars[k] = env[k];
  const s: Seen = { action: env.EXEC !== undefined ? 'exec' : 'allow', vars };
  if (env.EXEC !== undefined) s.exec = env.EXEC;
  return s;
}

// ---- the corpus ---------------------------------------------------------------

const CHECK_NAMES = ['ok.example', 'other.example', 'gone.example'];

/** Distinct loopback clients, about half of them with a PTR name; ok.example points at some. */
function clients(seed: number, n: number): { ips: string[]; zone: Zone } {
  const r = rng(seed);
  const ips: string[] = [];
  const zone: Zone = { '127.0.0.1': { ptr: 'local.example' } };
  while (ips.length < n) {
    const ip = LOOPBACK.ip(r);
    if (ips.includes(ip)) continue;
    ips.push(ip);
    if (r(2)) zone[ip] = { ptr: HOSTS[r(HOSTS.length)] };
  }
  zone['ok.example'] = { a: ips.filter((_ip, i) => i % 3 === 0) };
  zone['other.example'] = { a: ['127.9.9.9'] };
  return { ips, zone };
}

function writeTree(dir: string, entries: PeerEntry[]): void {
  fs.mkdirSync(dir);
  for (const e of entries) {
    const f = path.join(dir, e.name);
    fs.writeFileSync(f, e.text);
    fs.chmodSync(f, e.mode);
  }
}

function compileRulesText(text: string, name: string): { txt: string; cdb: string } {
  const txt = path.join(tmp, `${name}.txt`);
  const cdb = path.join(tmp, `${name}.cdb`);
  fs.writeFileSync(txt, text);
  const r = spawnSync(ours('tcprules'), [cdb, `${cdb}.tmp`], { input: text, timeout: 20_000 });
  if (r.status !== 0) throw new Error(`tcprules: ${r.stderr}`);
  return { txt, cdb };
}

function compilePeers(dir: string): string {
  const r = spawnSync(ours('ipsvd-cdb'), [`${dir}.cdb`, `${dir}.cdb.tmp`, dir], { timeout: 20_000 });
  if (r.status !== 0) throw new Error(`ipsvd-cdb: ${r.stderr}`);
  return `${dir}.cdb`;
}

/** What prog shows for each client: its environment, read to the end (deny: nothing). */
async function served(cmd: string, args: string[], ips: string[], dns: FakeDns): Promise<Seen[]> {
  const srv = await startServer(cmd, [...args, '127.0.0.1', '0', PROG], { ...SERVER_ENV, DNSCACHEIP: dns.addr });
  try {
    const out: Seen[] = [];
    for (const ip of ips) out.push(observed(await talk(srv.port, { local: ip, end: true, ms: 20_000 })));
    return out;
  } finally {
    await srv.stop();
  }
}

// prog: the environment, then it waits for the client to finish (so a
// client can hold a connection open for the per-host limit).
const PROG = path.join(tmp, 'prog');
fs.writeFileSync(PROG, '#!/bin/sh\n/usr/bin/env\nexec cat >/dev/null\n', { mode: 0o755 });

function sameDecisions(t: Test, ips: string[], reports: Report[], seen: Seen[], who: string): void {
  t.equal(reports.length, ips.length, `${who}: one report per client`);
  let differ = 0;
  for (let i = 0; i < ips.length; i++) {
    const want = expected(reports[i]);
    if (!t.same(seen[i], want, `${who}: ${ips[i]}${reports[i].client.host ? ` (${reports[i].client.host})` : ''}`)) differ++;
  }
  t.equal(differ, 0, `${who}: every decision as explained`);
}

const N = 20;

t.test('(a) tcprules: explain decides as tcpserver -x, ours and the reference', async (t) => {
  const { ips, zone } = clients(7, N);
  const dns = await startFakeDns(zone, { port53: true });
  t.teardown(() => dns.close());
  const E = { DNSCACHEIP: dns.addr };
  const r = rng(11);
  // Classic rules (the reference's language) and, for ours, CIDR rules too.
  const classic = compileRulesText(classicRules(r, 60, LOOPBACK), 'classic');
  const cidr = compileRulesText(classicRules(r, 60, LOOPBACK, { cidr: true }), 'cidr');
  const SRV = ['-R', '-l', 'local'];
  for (const [name, rules] of [['classic', classic], ['cidr', cidr]] as const) {
    const reports = await explain(['--dns', '--rules-cdb', rules.cdb, ...ips], E);
    t.ok(reports.some((x) => x.client.hostFrom === 'dns'), `${name}: some clients have names from DNS`);
    t.ok(reports.some((x) => x.action === 'deny') && reports.some((x) => x.action === 'allow'), `${name}: allowed and denied clients`);
    sameDecisions(t, ips, reports, await served(ours('tcpserver'), [...SRV, '-x', rules.cdb], ips, dns), `${name}, our tcpserver`);
    if (name === 'classic') {
      await t.test('the reference tcpserver too', needReference('tcpserver'), async (t) => {
        sameDecisions(t, ips, reports, await served(reference('tcpserver'), [...SRV, '-x', rules.cdb], ips, dns), 'reference tcpserver');
      });
    }
    // The text itself: the same decisions, and the line of each rule that decided.
    const fromText = await explain(['--dns', '--rules', rules.txt, ...ips], E);
    const lines = fs.readFileSync(rules.txt, 'latin1').split('\n');
    for (let i = 0; i < ips.length; i++) {
      const a = fromText[i], b = reports[i];
      t.same([a.lookup, a.matched, a.action, a.set], [b.lookup, b.matched, b.action, b.set], `${name}: text as cdb for ${ips[i]}`);
      if (a.matched !== null) {
        t.ok(a.line, `${name}: ${ips[i]}: a line`);
        if (a.line) t.equal(a.line.text, lines[a.line.n - 1].replace(/[ \t]+$/, ''), `${name}: ${ips[i]}: line ${a.line.n}`);
      }
    }
  }
});

t.test('(a) tcprules: explain names the rule tcprulescheck names, with host and info', needReference('tcprulescheck'),
  async (t) => {
    const r = rng(5);
    const { cdb } = compileRulesText(classicRules(r, 200, TEN), 'check');
    // Peers grouped by their name and info: one tcpexplain run per group.
    const groups = new Map<string, GenPeer[]>();
    for (let i = 0; i < 60; i++) {
      const p = peer(r);
      const k = `${p.host ?? ''}\0${p.info ?? ''}`;
      groups.set(k, [...(groups.get(k) ?? []), p]);
    }
    let n = 0;
    for (const ps of groups.values()) {
      const args = ['--rules-cdb', cdb];
      if (ps[0].host !== undefined) args.push('--host', ps[0].host);
      if (ps[0].info !== undefined) args.push('--info', ps[0].info);
      const reports = await explain([...args, ...ps.map((p) => p.ip)]);
      for (let i = 0; i < ps.length; i++) {
        const env: NodeJS.ProcessEnv = { TCPREMOTEIP: ps[i].ip };
        if (ps[i].host !== undefined) env.TCPREMOTEHOST = ps[i].host;
        if (ps[i].info !== undefined) env.TCPREMOTEINFO = ps[i].info;
        const ref = spawnSync(reference('tcprulescheck'), [cdb], { env, timeout: 10_000 }).stdout.toString('latin1');
        const x = reports[i];
        const said = (x.matched === null ? 'default:\nallow connection\n'
          : `rule ${x.matched}:\n` + x.instructions.map((l) => l.did + '\n').join(''));
        t.equal(said, ref, `${JSON.stringify(ps[i])}`);
        n++;
      }
    }
    t.equal(n, 60);
  });

t.test('(a) peers: explain decides as tcpsvd -i and -x, ours and the reference', async (t) => {
  const { ips, zone } = clients(7, N);
  const dns = await startFakeDns(zone, { port53: true });
  t.teardown(() => dns.close());
  const E = { DNSCACHEIP: dns.addr };
  const SRV = ['-h', '-l', 'local', '-C', '20'];
  for (const cidr of [false, true]) {
    const name = cidr ? 'cidr' : 'classic';
    const dir = path.join(tmp, `peers-${name}`);
    const entries = peersTree(rng(31), 80, LOOPBACK, { cidr, checkNames: CHECK_NAMES });
    writeTree(dir, entries);
    const cdb = compilePeers(dir);
    for (const [opt, src] of [['-i', dir], ['-x', cdb]]) {
      const reports = await explain(['--dns', '--per-host', '20', opt === '-i' ? '--peers' : '--peers-cdb', src, ...ips], E);
      if (opt === '-i') {
        // The corpus (seeds chosen for it) holds every kind of decision.
        const acts = new Set(reports.map((x) => x.action));
        t.same([...acts].sort(), ['allow', 'deny', 'exec'], `${name}: every kind of decision`);
        const some = (what: string, f: (x: Report) => boolean) => t.ok(reports.some(f), `${name}: ${what}`);
        if (!cidr) {
          some('an entry found by name', (x) => x.client.hostFrom === 'dns' &&
            x.lookup.some((s) => s.result === 'found' && (s.step === 'host' || s.step === 'domain')));
        } else {
          some('an entry found by CIDR name', (x) => x.lookup.some((s) => s.result === 'found' && s.step === 'cidr'));
        }
        some('an =host line looked up', (x) => x.instructions.some((l) => /ok\.example has/.test(l.did)));
        some('no =host line matched: deny', (x) => x.action === 'deny' && x.notes.some((n) => /none of them matched/.test(n)));
        some('variables set', (x) => x.action !== 'deny' && x.set.length > 0);
        some('a variable unset', (x) => x.action !== 'deny' && x.unset.length > 0);
        some('a forward entry', (x) => x.forward !== null && x.forward.found);
        some('the entry\'s own per-host limit', (x) => x.perHost?.from === 'entry');
      }
      sameDecisions(t, ips, reports, await served(ours('tcpsvd'), [...SRV, opt, src], ips, dns), `${name} ${opt}, our tcpsvd`);
      if (!cidr) {
        await t.test(`the reference tcpsvd ${opt} too`, needReference('tcpsvd'), async (t) => {
          sameDecisions(t, ips, reports, await served(reference('tcpsvd'), [...SRV, opt, src], ips, dns), `${name} ${opt}, reference tcpsvd`);
        });
      }
    }
  }
});

t.test('(a) peers: the per-host limit and message explained are the server\'s', async (t) => {
  const dir = path.join(tmp, 'peers-limit');
  writeTree(dir, [
    { name: '127.0.7.1', mode: 0o644, text: '+V1=one\nC1:full\\r\\n\n' },
    { name: '127.0.7', mode: 0o644, text: 'C2\n' },
    { name: '0', mode: 0o644, text: '+V2=two\n' },
  ]);
  const dns = await startFakeDns({}, { port53: true });
  t.teardown(() => dns.close());
  const ips = ['127.0.7.1', '127.0.7.2', '127.0.8.1'];
  const reports = await explain(['--per-host', '3:server says no', '--peers', dir, ...ips]);
  t.same(reports.map((x) => x.perHost), [
    { limit: 1, message: 'full\r\n', from: 'entry' },
    { limit: 2, message: 'server says no', from: 'entry' },
    { limit: 3, message: 'server says no', from: 'server' },
  ]);
  const without = await explain(['--peers', dir, ips[0]]);
  t.equal(without[0].perHost, null, 'no limit without the server\'s -C');
  t.match(without[0].notes.join('\n'), /only when tcpsvd runs with -C/);
  const srv = await startServer(ours('tcpsvd'), ['-l', 'local', '-C', '3:server says no', '-i', dir, '127.0.0.1', '0', PROG],
    { ...SERVER_ENV, DNSCACHEIP: dns.addr });
  t.teardown(() => srv.stop());
  for (const x of reports) {
    const ip = x.client.ip;
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < x.perHost!.limit; i++) {
        const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: ip });
        s.on('error', () => {});
        held.push(s);
        await new Promise<void>((ok, fail) => {
          const timer = setTimeout(() => fail(new Error('held connection: no output')), 20_000);
          s.once('data', () => { clearTimeout(timer); ok(); });
        });
      }
      t.equal(await talk(srv.port, { local: ip, end: true, ms: 20_000 }), x.perHost!.message ?? '',
        `${ip}: over ${x.perHost!.limit}: denied with the message explained`);
    } finally {
      for (const s of held) s.destroy();
    }
  }
});

// ---- (b) order --------------------------------------------------------------

/** "a.b.c.d/n" of ip's first n bits. */
function net4(ip: string, n: number): string {
  const a = ip.split('.').reduce((x, o) => (x * 256) + Number(o), 0);
  const m = n === 0 ? 0 : Math.floor(a / 2 ** (32 - n)) * 2 ** (32 - n);
  return [24, 16, 8, 0].map((s) => Math.floor(m / 2 ** s) % 256).join('.') + `/${n}`;
}

t.test('(b) tcprules: keys in tcpserver\'s order (rules.c), every CIDR length', async (t) => {
  // Rules of every CIDR length elsewhere (192.168/16 shares no first bit with
  // 127/8): every length is probed, none matches; so is every other step.
  const text = Array.from({ length: 32 }, (_v, i) => `192.168.0.0/${i + 1}:deny`).join('\n') + '\n';
  const { cdb } = compileRulesText(text, 'order');
  const [x] = await explain(['--rules-cdb', cdb, '--host', 'a.b.example.org', '--info', 'joe', '127.1.2.3']);
  const want: Array<[string, string]> = [
    ['info@ip', 'joe@127.1.2.3'], ['info@=host', 'joe@=a.b.example.org'], ['ip', '127.1.2.3'], ['=host', '=a.b.example.org'],
    ['ip prefix', '127.1.2.'], ['ip prefix', '127.1.'], ['ip prefix', '127.'],
    ...Array.from({ length: 32 }, (_v, i) => ['cidr', net4('127.1.2.3', 32 - i)] as [string, string]),
    ['=.domain', '=.b.example.org'], ['=.domain', '=.example.org'], ['=.domain', '=.org'], ['=', '='], ['default', ''],
  ];
  t.same(x.lookup.map((s) => [s.step, s.key]), want);
  t.ok(x.lookup.every((s) => s.result === 'absent'), 'each one probed, none there');
  t.equal(x.matched, null);
  t.equal(x.action, 'allow');

  // Without CIDR rules of a length the server does not probe it; the trace says so.
  const { cdb: some } = compileRulesText('127.1.2.0/24:allow,NET="24"\n', 'order2');
  const [y] = await explain(['--rules-cdb', some, '127.1.2.3']);
  const cidrSteps = y.lookup.filter((s) => s.step === 'cidr');
  t.same(cidrSteps.map((s) => s.key), Array.from({ length: 9 }, (_v, i) => net4('127.1.2.3', 32 - i)));
  t.same(cidrSteps.map((s) => s.result), [...Array(8).fill('skipped'), 'found']);
  t.same([y.matched, y.set], ['127.1.2.0/24', [['NET', '24']]]);
  t.match(y.notes, [/^rule 127\.1\.2\.0\/24 is ucspi-tcp6's \(CIDR\): ucspi-tcp 0\.88's tcpserver .* ignores it without a word/],
    'a CIDR rule: said that djb\'s tcpserver skips it');
  const [classic] = await explain(['--rules-cdb', compileRulesText('127.1.2.:allow\n', 'order3').cdb, '127.1.2.3']);
  t.same(classic.notes, [], 'a classic rule: no such note');

  // IPv6: ucspi-tcp6's expanded form, then 128 bit keys (none in the file: not probed).
  const [z] = await explain(['--rules-cdb', some, '::1']);
  t.same(z.lookup[0], { step: 'ip', key: '0000:0000:0000:0000:0000:0000:0000:0001', result: 'absent' });
  t.equal(z.lookup.filter((s) => s.step === 'cidr' && s.result === 'skipped').length, 128);
  t.same(z.lookup[z.lookup.length - 1], { step: 'default', key: '', result: 'absent' });
});

t.test('(b) peers: names in ipsvd\'s order (ipsvd_check.c), then our CIDR names', async (t) => {
  const dir = path.join(tmp, 'peers-order');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'unrelated'), '');
  for (const src of [['--peers', dir], ['--peers-cdb', compilePeers(dir)]]) {
    const [x] = await explain([...src, '--host', 'a.b.example.org', '127.1.2.3']);
    t.same(x.lookup.map((s) => [s.step, s.key]), [
      ['ip', '127.1.2.3'], ['ip prefix', '127.1.2'], ['ip prefix', '127.1'], ['ip prefix', '127'],
      ['host', 'a.b.example.org'], ['domain', 'b.example.org'], ['domain', 'example.org'], ['domain', 'org'], ['default', '0'],
    ], src[0]);
    t.same([x.matched, x.action], [null, 'allow']);
  }
  // CIDR names are tried among the dotted ones by prefix length (our extension, tcpsvd(8)).
  fs.writeFileSync(path.join(dir, '127.1.2.0_24'), '+NET=24\n');
  fs.writeFileSync(path.join(dir, '10.0.0.0_8'), '');
  fs.writeFileSync(path.join(dir, '0'), '+DEFAULT=1\n');
  const [y] = await explain(['--peers', dir, '127.1.9.9']);
  t.same(y.lookup.map((s) => [s.step, s.key, s.result]), [
    ['ip', '127.1.9.9', 'absent'], ['ip prefix', '127.1.9', 'absent'], ['cidr', '127.1.9.0_24', 'absent'],
    ['ip prefix', '127.1', 'absent'], ['ip prefix', '127', 'absent'], ['cidr', '127.0.0.0_8', 'absent'],
    ['default', '0', 'found'],
  ]);
  t.same(y.set, [['DEFAULT', '1']]);
  // A client 0.x.y.z has "0" as its last prefix and as the default: the server tries it twice.
  const [z] = await explain(['--peers', dir, '0.1.2.3']);
  t.same(z.lookup.map((s) => [s.step, s.key]), [['ip', '0.1.2.3'], ['ip prefix', '0.1.2'], ['cidr', '0.1.2.0_24'],
    ['ip prefix', '0.1'], ['ip prefix', '0']], 'found as the prefix "0", before the default');
});

// ---- (c) errors ---------------------------------------------------------------

t.test('(c) errors: the file named, exit 100 for usage and bad input, 111 for what cannot be read', async (t) => {
  const missing = path.join(tmp, 'no-such');
  for (const opt of ['--rules', '--rules-cdb', '--peers', '--peers-cdb']) {
    const r = await run(EXPLAIN, [opt, missing, '127.0.0.1']);
    t.equal(r.code, 111, `${opt} missing: 111`);
    t.match(r.stderr, new RegExp(`^tcpexplain: fatal: unable to read ${missing}: file does not exist`), `${opt}: names the file`);
    t.equal(r.stdout, '');
  }
  // tcpserver -X: a missing rules cdb allows.
  const x = await run(EXPLAIN, ['--json', '--allow-missing', '--rules-cdb', missing, '127.0.0.1']);
  t.equal(x.code, 0);
  t.equal((JSON.parse(x.stdout) as Report).action, 'allow');

  const damaged = path.join(tmp, 'damaged.cdb');
  fs.writeFileSync(damaged, Buffer.alloc(1000, 0xff));
  for (const opt of ['--rules-cdb', '--peers-cdb']) {
    const r = await run(EXPLAIN, [opt, damaged, '127.0.0.1']);
    t.same([r.code, r.stderr], [111, `tcpexplain: fatal: unable to read ${damaged}: protocol error (the server drops such a client)\n`], opt);
  }
  // An entry the server cannot read: named by its path.
  const dir = path.join(tmp, 'peers-bad');
  fs.mkdirSync(path.join(dir, '127.0.0.5'), { recursive: true });
  const e = await run(EXPLAIN, ['--peers', dir, '127.0.0.5']);
  t.same([e.code, e.stderr], [111, `tcpexplain: fatal: unable to read ${dir}/127.0.0.5: is a directory (the server drops such a client)\n`]);

  // A rules text tcprules refuses: the file and the line.
  const bad = path.join(tmp, 'bad.txt');
  fs.writeFileSync(bad, '127.0.0.1:allow\n# fine\n127.0.0.2:allow,X\n');
  const s = await run(EXPLAIN, ['--rules', bad, '127.0.0.1']);
  t.same([s.code, s.stderr], [100, `tcpexplain: fatal: unable to compile ${bad}: unable to parse this line: 127.0.0.2:allow,X (line 3)\n`]);
  t.same(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('tcpexplain-')).length, 0, 'nothing left in the temporary directory');

  const ok = path.join(tmp, 'ok.txt');
  fs.writeFileSync(ok, '127.0.0.1:deny\n');
  for (const addr of ['127.0.0', 'example.org', '::g', '']) {
    const r = await run(EXPLAIN, ['--rules', ok, '127.0.0.1', addr]);
    t.same([r.code, r.stdout, r.stderr], [100, '', `tcpexplain: fatal: not an IP address: ${addr}\n`], `bad address ${JSON.stringify(addr)}`);
  }
  const usage = /^tcpexplain: usage: tcpexplain /m;
  for (const args of [[], ['127.0.0.1'], ['--rules', ok], ['--rules', ok, '--peers', tmp, '127.0.0.1'], ['-x', ok, '127.0.0.1'],
    ['--host', 'x', '--dns', '--rules', ok, '127.0.0.1'], ['--per-host', '3', '--rules', ok, '127.0.0.1'],
    ['--per-host', 'many', '--peers', tmp, '127.0.0.1'], ['--paranoid', '--rules', ok, '127.0.0.1']]) {
    const r = await run(EXPLAIN, args);
    t.equal(r.code, 100, `usage: ${args.join(' ')}`);
    t.match(r.stderr, usage);
  }
  // A closed standard output: the answer cannot be given, and it says so.
  const closed = await run('/bin/sh', ['-c', 'exec "$0" "$@" >&-', EXPLAIN, '--rules', ok, '127.0.0.1']);
  t.same([closed.code, closed.stderr], [111, 'tcpexplain: fatal: unable to write output: file descriptor not open\n'], 'stdout closed');
  // An IPv4-mapped address is the IPv4 client, as the server sees it.
  const [m] = await explain(['--rules', ok, '::ffff:127.0.0.1']);
  t.same([m.client.ip, m.action], ['127.0.0.1', 'deny']);
});

t.test('(c) --dns: the name server silent or refusing, as the server goes on without a name', async (t) => {
  const ok = path.join(tmp, 'dns.txt');
  fs.writeFileSync(ok, '=.example.org:deny\n:allow\n');
  const dns = await startFakeDns({ '127.0.0.40': { ptr: 'x.example.org' }, '127.0.0.41': { mode: 'servfail' } }, { port53: true });
  t.teardown(() => dns.close());
  const [a, b] = await explain(['--dns', '--rules', ok, '127.0.0.40', '127.0.0.41'], { DNSCACHEIP: dns.addr });
  t.same([a.client.host, a.client.hostFrom, a.action], ['x.example.org', 'dns', 'deny']);
  t.same([b.client.host, b.action], [null, 'allow']);
  const [c] = await explain(['--dns', '--rules', ok, '127.0.0.40'], { DNSCACHEIP: '127.53.0.254' });
  t.same([c.client.host, c.action], [null, 'allow']);
  t.match(c.notes.join('\n'), /unable to look up hostname: connection refused/);
  t.ok(dns.queries.every((q) => q.type === 'PTR'), 'only PTR questions');
});

t.test('plain text: the steps, the entry\'s lines, the decision', async (t) => {
  const dir = path.join(tmp, 'peers-text');
  writeTree(dir, [
    { name: '127.0.0', mode: 0o644, text: '+GREETING=hello\n+FOO\nC2:busy\\r\\n\n' },
    { name: '127.0.0.5', mode: 0o755, text: 'echo hi\n' },
    { name: '127.0.0.9', mode: 0, text: '' },
  ]);
  const r = await run(EXPLAIN, ['--per-host', '20', '--peers', dir, '127.0.0.3', '127.0.0.5', '127.0.0.9']);
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  const [a, b, c] = r.stdout.split('\n\n');
  t.match(a, /^client 127\.0\.0\.3\nsource: .*peers-text \(peers directory, as tcpsvd -i reads it\)\nlookup, in the server's order:\n/);
  t.match(a, /\n {2}ip {10}127\.0\.0\.3 +absent\n {2}ip prefix {3}127\.0\.0 +found: instructions\n/);
  t.match(a, /\ndecided by: entry 127\.0\.0\n/);
  t.match(a, /line 3: C2:busy\\r\\n\n {4}per-host limit 2, message "busy\\r\\n"\n/, 'a control character shown escaped');
  t.match(a, /\naction: allow\nenvironment: GREETING=hello\nunset: FOO\nper-host limit: 2 \(the entry's\), over it: deny, sending "busy\\r\\n"\ncommand: the server's prog$/);
  t.match(b, /\naction: exec\nenvironment: nothing set\n(.*\n)?command: \/bin\/sh -c echo hi$/);
  t.match(c, /found: deny\ndecided by: entry 127\.0\.0\.9\naction: deny\n$/);

  const rules = path.join(tmp, 'text.txt');
  fs.writeFileSync(rules, '# nets\n10.0.0.0/8:deny\n:allow,X="1"\n');
  const s = await run(EXPLAIN, ['--rules', rules, '10.1.2.3', '192.0.2.1']);
  const [d, e] = s.stdout.split('\n\n');
  t.match(d, /\n {2}cidr {8}10\.1\.2\.3\/32 \.\. 10\.0\.0\.0\/9: not probed, no rule of these lengths\n {2}cidr {8}10\.0\.0\.0\/8 +found\n/);
  t.match(d, new RegExp(`\\ndecided by: rule 10\\.0\\.0\\.0/8 \\(${rules.replace(/[.]/g, '\\.')} line 2: 10\\.0\\.0\\.0/8:deny\\)\\n {2}deny connection\\naction: deny\\nnote: rule 10\\.0\\.0\\.0/8 is ucspi-tcp6's \\(CIDR\\): .*$`));
  t.match(e, /\n {2}default {5}\(empty key\) +found\ndecided by: rule \(empty key\) \(.* line 3: :allow,X="1"\)\n {2}set environment variable X=1\n {2}allow connection\naction: allow\nenvironment: X=1\n/);
});

t.test('--dns --paranoid: a name that does not point back is dropped, as tcpserver -p does', async (t) => {
  const rules = path.join(tmp, 'paranoid.txt');
  fs.writeFileSync(rules, '=liar.example:deny\n=good.example:allow,GOOD="1"\n');
  const dns = await startFakeDns({
    '127.0.0.21': { ptr: 'good.example' }, 'good.example': { a: ['127.0.0.21'] },
    '127.0.0.22': { ptr: 'liar.example' }, 'liar.example': { a: ['127.0.0.99'] },
  }, { port53: true });
  t.teardown(() => dns.close());
  const E = { DNSCACHEIP: dns.addr };
  const plain = await explain(['--dns', '--rules', rules, '127.0.0.21', '127.0.0.22'], E);
  t.same(plain.map((x) => [x.client.host, x.action]), [['good.example', 'allow'], ['liar.example', 'deny']]);
  const paranoid = await explain(['--dns', '--paranoid', '--rules', rules, '127.0.0.21', '127.0.0.22'], E);
  t.same(paranoid.map((x) => [x.client.host, x.action]), [['good.example', 'allow'], [null, 'allow']]);
  t.match(paranoid[1].notes.join('\n'), /no name for the client that points back to it/);
});
