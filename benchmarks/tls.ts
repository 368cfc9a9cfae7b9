// TLS handshakes per second and bulk throughput: sslserver against stunnel4
// (daemon mode, exec= per connection: its C relay, Debian's build), same run,
// same certificate (ECDSA P-256, made here), same program. Handshakes:
// N parallel `openssl s_time -new` (a new TLS 1.3 session per connection,
// nothing sent), N = 1, 4, 8, 32, $BENCH_SECS seconds each, $BENCH_ROUNDS
// rounds interleaved, medians. Bulk: 256 MB through cat, one client.
//
//   npm run build && node dist/benchmarks/tls.js
//
// Everything on 127.0.0.1, ports found free at run time, no DNS.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { freePort, live, scratchDir } from './run';
import { median } from './table';

const root = path.resolve(__dirname, '..', '..');
const SECS = Number(process.env.BENCH_SECS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONC = [1, 4, 8, 32];
const BULK_MB = Number(process.env.BENCH_BULK_MB ?? 256);
const dir = scratchDir('tlsbench-');

function certs(): { cert: string; key: string } {
  const cert = path.join(dir, 'c.pem'), key = path.join(dir, 'k.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=bench', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

async function listening(port: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

interface Srv { name: string; port: number }

async function startOurs(c: { cert: string; key: string }, prog: string[]): Promise<Srv> {
  const port = await freePort();
  const p = spawn(path.join(root, 'bin', 'sslserver'), ['-c', '200', '-b', '512', '-HRl0', '127.0.0.1', String(port), ...prog],
    { env: { PATH: '/usr/bin:/bin', CERTFILE: c.cert, KEYFILE: c.key }, stdio: 'ignore', detached: true });
  live.add(p);
  await listening(port);
  return { name: 'sslserver', port };
}

async function startStunnel(c: { cert: string; key: string }, prog: string[]): Promise<Srv> {
  const port = await freePort();
  const conf = path.join(dir, `stunnel-${port}.conf`);
  fs.writeFileSync(conf, ['foreground = yes', 'debug = 0', `pid =`, `output = ${path.join(dir, 'stunnel.log')}`,
    '[bench]', `accept = 127.0.0.1:${port}`, `cert = ${c.cert}`, `key = ${c.key}`,
    `exec = ${prog[0]}`, `execArgs = ${prog.join(' ')}`].join('\n') + '\n');
  const p = spawn('stunnel4', [conf], { stdio: 'ignore', detached: true });
  live.add(p);
  await listening(port);
  return { name: 'stunnel4', port };
}

/** n parallel s_time -new for SECS: connections per second, summed. */
async function handshakes(port: number, n: number): Promise<number> {
  const runs = Array.from({ length: n }, () => new Promise<number>((resolve) => {
    const p = spawn('openssl', ['s_time', '-connect', `127.0.0.1:${port}`, '-new', '-time', String(SECS)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('close', () => {
      const m = /(\d+) connections in (\d+) real seconds/.exec(out);
      resolve(m ? Number(m[1]) / Math.max(1, Number(m[2])) : 0);
    });
  }));
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}

/** MB/s of BULK_MB through cat and back, one client. */
function bulk(port: number): Promise<number> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(1 << 16, 0x61);
    const total = BULK_MB * 1024 * 1024;
    let sent = 0, got = 0;
    const t0 = performance.now();
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    s.on('data', (d: Buffer) => { got += d.length; });
    s.on('error', () => {});
    s.on('close', () => resolve(got / 1048576 / ((performance.now() - t0) / 1000)));
  });
}

async function main(): Promise<void> {
  const c = certs();
  const hello = [await startOurs(c, ['/bin/echo', 'hi']), await startStunnel(c, ['/bin/echo', 'hi'])];
  const rates = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of CONC) {
      for (const s of hello) {
        const k = `${s.name} ${n}`;
        rates.set(k, [...(rates.get(k) ?? []), await handshakes(s.port, n)]);
      }
    }
  }
  console.log(`handshakes/s (openssl s_time -new, TLS 1.3, ECDSA P-256, echo hi), ${SECS}s x ${ROUNDS} rounds, medians`);
  console.log('clients  sslserver  stunnel4  ratio');
  for (const n of CONC) {
    const o = median(rates.get(`sslserver ${n}`)!), s = median(rates.get(`stunnel4 ${n}`)!);
    console.log(`${String(n).padStart(7)}  ${o.toFixed(0).padStart(9)}  ${s.toFixed(0).padStart(8)}  ${(o / s).toFixed(2)}`);
  }
  const cat = [await startOurs(c, ['/bin/cat']), await startStunnel(c, ['/bin/cat'])];
  const mbs = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) for (const s of cat) mbs.set(s.name, [...(mbs.get(s.name) ?? []), await bulk(s.port)]);
  const o = median(mbs.get('sslserver')!), s = median(mbs.get('stunnel4')!);
  console.log(`bulk through cat, ${BULK_MB} MB each way, MB/s: sslserver ${o.toFixed(0)}  stunnel4 ${s.toFixed(0)}  ratio ${(o / s).toFixed(2)}`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
