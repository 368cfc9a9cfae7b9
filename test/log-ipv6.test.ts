// -v lines of tcpsvd and tcpserver for IPv6 clients: every address keeps its
// colons (as ucspi-tcp6 prints it) in every line, and a reader following the
// LOG FORMAT sections of tcpsvd(8) and tcpserver(1) gets the address and the
// port back. ::1 is only used inside a network namespace made for the test
// (unshare -rn); the test skips when that is not possible.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { ipSafe, outfix, safecats } from '../src/lib/safe';
import { udpsvdLog } from '../src/log/udpsvd';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin');

t.test('ipSafe: IPv4 as before, IPv6 with colons, nothing else', async (t) => {
  t.equal(ipSafe('127.0.0.1', outfix), '127.0.0.1');
  t.equal(ipSafe('127.0.0.1', safecats), '127.0.0.1');
  t.equal(ipSafe('2001:db8::1', outfix), '2001:db8::1');
  t.equal(ipSafe('::ffff:10.0.0.1', outfix), '::ffff:10.0.0.1');
  t.equal(ipSafe('fe80::1%lo', safecats), 'fe80::1???', 'a zone is not address text');
  t.equal(ipSafe('fe80::1 x', outfix), 'fe80::1??', 'no blank can split the field');
  t.equal(outfix('::1'), '??1', 'the sanitiser alone would mangle it');
});

// udpsvd binds IPv4 only, but its lines come from tcpsvd's code: whatever
// address text reaches them is printed by the same rule. Captured in-process
// (lib/strerr writes each line with one fs.writeSync).
t.test('udpsvd: addresses in its lines as in tcpsvd\'s', async (t) => {
  const out: string[] = [];
  const nodeFs = createRequire(__filename)('node:fs') as { writeSync: unknown };
  const real = nodeFs.writeSync;
  nodeFs.writeSync = (fd: number, s: unknown) => {
    out.push(`${fd} ${String(s)}`);
    return String(s).length;
  };
  try {
    const log = udpsvdLog(1);
    const d = { action: 'allow' as const, set: [], unset: [] };
    log.listening('2001:db8::1', 53);
    log.from(7, '2001:db8::5');
    log.datagram(7, { localHost: 'local', localIp: '2001:db8::1', localPort: 53, remoteHost: 'client',
      remoteIp: '2001:db8::5', remotePort: 5353 }, 'start', d);
    log.datagram(8, { localIp: 'fe80::1%lo', localPort: 53, remoteIp: '127.0.0.1', remotePort: 5353 }, 'deny', d);
  } finally {
    nodeFs.writeSync = real;
  }
  t.same(out, [
    '1 udpsvd: info: listening on 2001:db8::1:53, starting.\n',
    '1 udpsvd: info: pid 7 from 2001:db8::5\n',
    '1 udpsvd: info: pid 7 from 2001:db8::5\nudpsvd: info: start 7 local:2001:db8::1 :client:2001:db8::5:5353\n',
    '1 udpsvd: info: pid 8 from 127.0.0.1\nudpsvd: info: deny 8 :fe80::1??? ::127.0.0.1:5353\n',
  ]);
});

function namespaceUsable(): string | false {
  const r = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { timeout: 10000 });
  if (r.error) return `unshare not usable: ${r.error.message}`;
  if (r.status !== 0) return `no network namespace here: ${r.stderr.toString().trim()}`;
  return false;
}

// Runs inside the namespace: a server per case, each on its own fixed port
// (nothing else can listen there), one client per case, then the logs.
const INNER = String.raw`
const { spawn } = require('child_process');
const net = require('net');
const [bin, rules] = process.argv.slice(1);
const cases = [
  { name: 'tcpsvd', cmd: bin + '/tcpsvd', args: ['-v', '-l', 'local', '::1', '7070', 'sh', '-c', 'echo hi'], port: 7070 },
  { name: 'tcpserver', cmd: bin + '/tcpserver', args: ['-v', '-H', '-R', '-l', 'local', '::1', '7071', 'sh', '-c', 'echo hi'], port: 7071 },
  { name: 'tcpserver-deny', cmd: bin + '/tcpserver', args: ['-v', '-H', '-R', '-l', 'local', '-x', rules, '::1', '7072', 'sh', '-c', 'echo hi'], port: 7072 },
];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '::1', port });
    let data = '';
    let local;
    s.on('connect', () => { local = s.localPort; });
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve({ local, data }));
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('client timed out')); });
  });
}
(async () => {
  const out = {};
  for (const c of cases) {
    const p = spawn(c.cmd, c.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DNSCACHEIP: '127.0.0.1' } });
    let log = '';
    p.stdout.on('data', (d) => { log += d; });
    p.stderr.on('data', (d) => { log += d; });
    let got;
    for (let i = 0; i < 200 && !got; i++) {
      try { got = await connect(c.port); } catch { await sleep(25); }
    }
    for (let i = 0; i < 200 && !/ (end|deny) /.test(log); i++) await sleep(25);
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
    out[c.name] = { client: got, log };
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e)); process.exit(1); });
`;

t.test('IPv6 clients in -v lines', { skip: namespaceUsable() }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'log-ipv6-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rules = path.join(dir, 'rules.cdb');
  const c = spawnSync(path.join(BIN, 'tcprules'), [rules, rules + '.tmp'], { input: '::1:deny\n', timeout: 10000 });
  t.equal(c.status, 0, 'rules compiled');

  // Its own process group: teardown kills whatever is left, even on failure.
  const p = spawn('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && exec node -e "$0" "$@"', INNER, BIN, rules],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* already gone */ } });
  let out = '', err = '';
  p.stdout!.on('data', (d) => { out += d; });
  p.stderr!.on('data', (d) => { err += d; });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 60000);
    p.on('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  t.equal(code, 0, err);
  const r = JSON.parse(out) as Record<string, { client: { local: number; data: string }; log: string }>;

  // tcpsvd(8) LOG FORMAT: verdict pid localhost:localip :remotehost:remoteip:remoteport
  const svd = r.tcpsvd;
  t.equal(svd.client.data, 'hi\n');
  const svdLines = svd.log.trim().split('\n');
  t.match(svdLines[0], /^tcpsvd: info: listening on ::1:7070, starting\.$/);
  t.ok(svdLines.includes(`tcpsvd: info: pid ${pidIn(svd.log)} from ::1`), svd.log);
  const start = svdLines.find((l) => / start /.test(l));
  t.ok(start, svd.log);
  const [, , , , local, remote] = start!.split(' ');
  t.equal(local.slice(local.indexOf(':') + 1), '::1', 'local address after the host name');
  t.same(splitRemote(remote.slice(1), 0), { host: '', ip: '::1', port: String(svd.client.local) });

  // tcpserver(1) LOG FORMAT: ok pid localhost:localip:localport remotehost:remoteip:remoteinfo:remoteport
  for (const name of ['tcpserver', 'tcpserver-deny']) {
    const srv = r[name];
    const verdict = name === 'tcpserver' ? 'ok' : 'deny';
    t.equal(srv.client.data, name === 'tcpserver' ? 'hi\n' : '');
    const lines = srv.log.trim().split('\n');
    t.ok(lines.includes(`tcpserver: pid ${pidIn(srv.log)} from ::1`), srv.log);
    const line = lines.find((l) => l.startsWith(`tcpserver: ${verdict} `));
    t.ok(line, srv.log);
    const [, , , lf, rf] = line!.split(' ');
    const l = { host: lf.slice(0, lf.indexOf(':')), ip: lf.slice(lf.indexOf(':') + 1, lf.lastIndexOf(':')), port: lf.slice(lf.lastIndexOf(':') + 1) };
    t.same(l, { host: 'local', ip: '::1', port: String(7071 + (name === 'tcpserver' ? 0 : 1)) });
    t.same(splitRemote(rf, 1), { host: '', ip: '::1', port: String(srv.client.local), info: '' });
  }
});

function pidIn(log: string): string {
  return /pid (\d+) from/.exec(log)?.[1] ?? '?';
}

// host is up to the first colon, the port after the last; infos fields (no
// colon in them) come before the port.
function splitRemote(f: string, infos: number): Record<string, string> {
  const host = f.slice(0, f.indexOf(':'));
  const parts = f.slice(f.indexOf(':') + 1).split(':');
  const port = parts.pop()!;
  const out: Record<string, string> = { host };
  if (infos) out.info = parts.pop()!;
  out.ip = parts.join(':');
  out.port = port;
  return out;
}
