// Our decisions against the real tcpsvd: run /usr/bin/tcpsvd -i dir (and -x
// with the real ipsvd-cdb's output) with env(1) as prog, connect from
// 127.0.0.x, and check that what the client gets is what our Decision says:
// nothing for deny, the shell's output for an executable entry, otherwise
// the server's environment changed by exactly our set/unset.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openRuleSource } from '../src/decide/index';
import type { Decision } from '../src/decide/decision';
import { launchers, startServer, talk, parseEnv } from './helpers/net';
import { matchLog } from '../src/instruct/log';
import { ROOT, needReference, reference } from './helpers/common';

const { skip } = needReference('tcpsvd', 'ipsvd-cdb');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'instruct-ref-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BASE = { PATH: '/usr/bin:/bin', GREETING: 'server', KEEP: 'k', DNSCACHEIP: '127.0.0.1' };

function treeDir(): string {
  const dir = path.join(tmp, 'peers');
  fs.cpSync(path.join(ROOT, 'rules', 'peers'), dir, { recursive: true });
  fs.chmodSync(path.join(dir, '127.0.0.9'), 0);
  const more: Record<string, string> = {
    '127.0.0.6': '+X=1\n=0\n+Y=1\n',
    '127.0.0.7': '=0:missing\n',
    '127.0.0.10': '+E=1\n=0:execfw\n',
    '127.0.0.12': '+PRE=1\n=127.0.0.12:lit\n+POST=1\n',
    lit: '+LIT=1\n+KEEP\n',
    '127.0.0.13': '=127.0.0.99\n+NO=1\n',
    '127.0.0.14': '+A=1\n+A\n+B\n+B=2\n+C=x=y\n+=z\n+\nbad\n',
    '127.0.1': '+NET=1\n',
    '127.0.0.15': `+U=grüß\n+LONG=${'x'.repeat(150)}\n`,
  };
  for (const [f, v] of Object.entries(more)) fs.writeFileSync(path.join(dir, f), v);
  fs.writeFileSync(path.join(dir, 'execfw'), 'echo fw; echo "E=$E"\n', { mode: 0o755 });
  return dir;
}

const clients = ['127.0.0.1', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.9',
  '127.0.0.10', '127.0.0.12', '127.0.0.13', '127.0.0.14', '127.0.0.15', '127.0.1.1'];

// What prog's client should read, given our decision.
function expected(d: Decision): { out?: string; env?: Record<string, string> } {
  if (d.action === 'deny') return { out: '' };
  const env: Record<string, string> = { ...BASE };
  // Names and values are byte strings (what the launchers take): as text here.
  const text = (b: string) => Buffer.from(b, 'latin1').toString('utf8');
  for (const u of d.unset) delete env[text(u)];
  for (const [k, v] of d.set) env[text(k)] = text(v);
  if (d.shell !== undefined) {
    return { out: execFileSync('/bin/sh', ['-c', d.shell], { env, encoding: 'utf8', timeout: 5000 }) };
  }
  return { env };
}

for (const kind of ['peers-dir', 'peers-cdb'] as const) {
  t.test(`${kind}: same outcome as /usr/bin/tcpsvd ${kind === 'peers-dir' ? '-i' : '-x'}`, { skip }, async (t) => {
    const dir = treeDir();
    let p = dir;
    if (kind === 'peers-cdb') {
      p = path.join(tmp, 'peers.cdb');
      execFileSync(reference('ipsvd-cdb'), [p, `${p}.tmp`, dir], { stdio: 'ignore', timeout: 10000 });
    }
    const opt = kind === 'peers-dir' ? '-i' : '-x';
    // -l: no DNS for the local name; DNSCACHEIP keeps any lookup on loopback.
    const srv = await startServer(reference('tcpsvd'), ['-vv', '-l', 'localhost', opt, p, '127.0.0.1', '0', '/usr/bin/env'],
      BASE);
    t.teardown(() => srv.stop());
    const src = openRuleSource({ kind, path: p, warn: () => {} });
    for (const ip of clients) {
      const d = (await src.decide({ ip }, async () => [])) as Decision;
      const got = await talk(srv.port, { local: ip });
      const want = expected(d);
      if (want.out !== undefined) {
        t.equal(got, want.out, `${ip}: ${d.action}${d.shell ? ' shell' : ''}`);
      } else {
        const env = parseEnv(got);
        // The UCSPI variables are the engine's business; tap adds its own to every child.
        for (const k of Object.keys(env)) if (/^(PROTO$|TCP|_TAPJS_|NODE_OPTIONS$)/.test(k)) delete env[k];
        t.same(env, want.env, `${ip}: environment (${d.matched ?? 'no match'})`);
      }
    }
    // tcpsvd -vv names the entry and shows the instructions (on stdout, as ipsvd logs).
    const logged = new Map<string, string>();
    for (const line of srv.stdout().split('\n')) {
      const m = /^tcpsvd: info: (?:start|deny|exec) \d+ \S+ :[^:]*:([\d.]+):\d+ (.*)$/.exec(line);
      if (m) logged.set(m[1], m[2]);
    }
    for (const ip of clients) {
      const d = (await src.decide({ ip }, async () => [])) as Decision;
      t.equal(matchLog(kind, p, d, true), logged.get(ip), `${ip}: -vv log`);
      t.equal(matchLog(kind, p, d, false), logged.get(ip)?.replace(/: .*$/, ''), `${ip}: -v log`);
    }
    // The one documented difference: CIDR names are ours; the original falls through to 0.
    const d = (await src.decide({ ip: '127.0.0.200' }, async () => [])) as Decision;
    t.equal(d.matched, '127.0.0.128_25', 'ours: CIDR name');
    t.equal(parseEnv(await talk(srv.port, { local: '127.0.0.200' })).GREETING, 'hello', 'original: 0');
  });
}

// +VAR=value bytes that are not UTF-8 (and some that are), through a whole
// server: prog (od of its own /proc/self/environ, no shell between) sees the
// same bytes under ours (native launcher) as under /usr/bin/tcpsvd -i and -x.
t.test('peers values reach prog byte for byte, as /usr/bin/tcpsvd -i and -x', { skip }, async (t) => {
  if (launchers().find((l) => l.name === 'native')?.skip) {
    t.comment('skipped: the native launcher is needed to pass bytes that are not UTF-8');
    return;
  }
  const dir = path.join(tmp, 'bytes');
  fs.mkdirSync(dir);
  const entry = Buffer.concat([
    Buffer.from('+B1=\xff\xfe\n+B2=\x80abc\xc3\n+B3= sp \t tab \r\n+B4=x=\x01\x1b[0m\n', 'latin1'),
    Buffer.from('+U=grüß\n+\xe9N=high name\n+KEEP\n+GREETING=\xa0\n=0:fw\n', 'utf8'),
  ]);
  fs.writeFileSync(path.join(dir, '127.0.0.1'), entry);
  fs.writeFileSync(path.join(dir, 'fw'), Buffer.from('+FW=\xfd\xfc\xfb\n', 'latin1'));
  const cdb = path.join(tmp, 'bytes.cdb');
  execFileSync(reference('ipsvd-cdb'), [cdb, `${cdb}.tmp`, dir], { stdio: 'ignore', timeout: 10000 });
  // The variables of prog's environment, as hex, sorted; the ports (and our launcher choice) left out.
  const environ = (hex: string) => {
    const bytes = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
    const vars: string[] = [];
    for (let at = 0, nul = bytes.indexOf(0); nul >= 0; at = nul + 1, nul = bytes.indexOf(0, at)) {
      const v = bytes.subarray(at, nul);
      if (!/^(TCPLOCALPORT|TCPREMOTEPORT|UCSPI_LAUNCHER|_TAPJS\w*)=/.test(v.toString('latin1'))) vars.push(v.toString('hex'));
    }
    return vars.sort();
  };
  for (const [opt, p] of [['-i', dir], ['-x', cdb]]) {
    const seen: string[][] = [];
    for (const [cmd, extra] of [[reference('tcpsvd'), {}], [path.join(ROOT, 'bin', 'tcpsvd'), { UCSPI_LAUNCHER: 'native' }]] as const) {
      const srv = await startServer(cmd, ['-l', 'localhost', opt, p, '127.0.0.1', '0', 'od', '-An', '-tx1', '-v', '/proc/self/environ'],
        { ...BASE, ...extra });
      try {
        seen.push(environ(await talk(srv.port)));
      } finally {
        await srv.stop();
      }
    }
    t.ok(seen[0].includes(Buffer.from('B1=\xff\xfe', 'latin1').toString('hex')), `${opt}: the reference passes the bytes`);
    t.same(seen[1], seen[0], `${opt}: prog's environment, byte for byte`);
  }
});
