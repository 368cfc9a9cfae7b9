// npm run bench: our tcpserver and tcpsvd against the Debian binaries, side by
// side in one run, on loopback only and without DNS (-H -R -l0, and
// $DNSCACHEIP pointing at loopback in case anything asked). Prints one table
// of ratios; see benchmarks/README.md for what each row means.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { goalMet, median, renderTable, type Cell, type Row } from './table';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const out = path.join(root, 'benchmarks', 'out');
const tools = path.join(root, 'benchmarks', 'tools');
const env = { ...process.env, DNSCACHEIP: '127.0.0.1' };

const SECS = Number(process.env.BENCH_SECS ?? 4);
const TARGET_CONNS = Number(process.env.BENCH_CONNS ?? 100000);
const BULK = 2 * 1024 * 1024 * 1024;
const STARTS = 9; // start-ups per server; the median is reported

export interface Server {
  name: string;
  cmd: string;
  args(port: number, prog: string[], rules?: string): string[];
  ours: boolean;
}

// The same limits for all: 200 children, backlog 512, no DNS.
const SERVERS: Server[] = [
  { name: 'tcpserver', cmd: '/usr/bin/tcpserver', ours: false, args: tcpserverArgs },
  { name: 'tcpsvd', cmd: '/usr/bin/tcpsvd', ours: false, args: tcpsvdArgs },
  { name: 'ours tcpserver', cmd: path.join(root, 'bin', 'tcpserver'), ours: true, args: tcpserverArgs },
  { name: 'ours tcpsvd', cmd: path.join(root, 'bin', 'tcpsvd'), ours: true, args: tcpsvdArgs },
];

function tcpserverArgs(port: number, prog: string[], rules?: string): string[] {
  return [...(rules ? ['-x', rules] : []), '-c', '200', '-b', '512', '-HRl0', '127.0.0.1', String(port), ...prog];
}
function tcpsvdArgs(port: number, prog: string[], rules?: string): string[] {
  return ['-c', '200', '-b', '512', '-l0', ...(rules ? ['-x', rules] : []), '127.0.0.1', String(port), ...prog];
}

export const live = new Set<ChildProcess>();
const scratch: string[] = [];
function killAll(): void {
  // A process started in a group of its own goes with its group.
  for (const p of live) { try { process.kill(-p.pid!, 'SIGKILL'); } catch { p.kill('SIGKILL'); } }
  live.clear();
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', killAll);

/** A scratch directory under the system's temporary one, removed when the benchmark ends however it ends. */
export function scratchDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(111);
  });
}

export function build(): void {
  fs.mkdirSync(out, { recursive: true });
  const gcc = (args: string[]) => execFileSync('gcc', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  gcc(['-O2', '-o', path.join(out, 'connbench'), path.join(tools, 'connbench.c'), '-lpthread']);
  gcc(['-O2', '-o', path.join(out, 'bulkread'), path.join(tools, 'bulkread.c')]);
  gcc(['-O2', '-o', path.join(out, 'connspread'), path.join(tools, 'connspread.c'), '-lpthread']);
  gcc(['-O2', '-static', '-o', path.join(out, 'hello'), path.join(tools, 'hello.c')]);
  gcc(['-O2', '-static', '-o', path.join(out, 'bulk'), path.join(tools, 'bulk.c')]);
}

// Rules allowing 127.0.0.1 with one variable, the rest of 127/8 with another
// (the distinct-clients run), denying the rest; compiled by the reference compilers.
function compileRules(): { tcprules: string; ipsvd: string } {
  const tcprules = path.join(out, 'rules.cdb');
  execFileSync('/usr/bin/tcprules', [tcprules, tcprules + '.tmp'], { input: '127.0.0.1:allow,BENCH="1"\n127.:allow,SPREAD="1"\n:deny\n' });
  const dir = path.join(out, 'peers');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, '127.0.0.1'), '+BENCH=1\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, '127'), '+SPREAD=1\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, '0'), '', { mode: 0o000 });
  fs.chmodSync(path.join(dir, '0'), 0o000);
  const ipsvd = path.join(out, 'peers.cdb');
  execFileSync('/usr/bin/ipsvd-cdb', [ipsvd, ipsvd + '.tmp', dir]);
  return { tcprules, ipsvd };
}

/** A TCP port free right now on 127.0.0.1 (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Whether something accepts on 127.0.0.1:port now. */
export function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

/** Waits (20 s at most) until p accepts on port; throws naming the server otherwise. */
export async function listening(name: string, p: ChildProcess, port: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (p.exitCode !== null) break;
    if (await tryConnect(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} did not listen on ${port}`);
}

/** A server in a process group of its own, output ignored, no DNS; killed with the others when the benchmark ends. */
export function runDetached(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, { detached: true, stdio: 'ignore', env: { ...process.env, DNSCACHEIP: '127.0.0.1' } });
  live.add(p);
  return p;
}

interface Started {
  proc: ChildProcess;
  port: number;
  /** ms from spawn() to the first accepted connection. */
  startMs: number;
}

export async function start(s: Server, prog: string[], rules?: string): Promise<Started> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(s.cmd, s.args(port, prog, rules), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    if (stderr.length < 4096) stderr += d;
  });
  const deadline = t0 + 10000;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null) break;
    if (await tryConnect(port)) return { proc, port, startMs: performance.now() - t0 };
    await new Promise((r) => setTimeout(r, 1));
  }
  await stop(proc);
  throw new Error(`${s.name} did not start listening: ${stderr.trim()}`);
}

export function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      live.delete(proc);
      return resolve();
    }
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', () => {
      clearTimeout(timer);
      live.delete(proc);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export function rssMB(pid: number): number {
  const m = /VmRSS:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Load {
  conns: number;
  errors: number;
  rate: number;
  p50: number;
  p99: number;
}

export async function load(port: number, c: number, secs: number): Promise<Load> {
  const { stdout } = await run(path.join(out, 'connbench'), ['127.0.0.1', String(port), String(c), String(secs)]);
  const f = (k: string) => Number(new RegExp(`${k}=([0-9.]+)`).exec(stdout)?.[1]);
  return { conns: f('conns'), errors: f('errors'), rate: f('rate'), p50: f('p50'), p99: f('p99') };
}

async function bulk(port: number): Promise<number> {
  const { stdout } = await run(path.join(out, 'bulkread'), ['127.0.0.1', String(port)]);
  const bytes = Number(/bytes=(\d+)/.exec(stdout)?.[1]);
  if (bytes !== BULK) throw new Error(`bulk: got ${bytes} bytes, expected ${BULK}`);
  return Number(/rate=([0-9.]+)/.exec(stdout)?.[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Figures = Record<string, number>;

// Phase by phase, every server in turn within each phase: this machine's load
// drifts, and interleaving spreads the drift over all four servers alike.
async function measureAll(hello: string[], rules: { tcprules: string; ipsvd: string }): Promise<Figures[]> {
  const fig: Figures[] = SERVERS.map(() => ({}));
  const each = async (what: string, fn: (s: Server, f: Figures) => Promise<void>) => {
    process.stderr.write(`bench: ${what}\n`);
    for (let i = 0; i < SERVERS.length; i++) await fn(SERVERS[i], fig[i]);
  };

  await sleep(1000);
  await each('start-up', async (s, f) => {
    const starts: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const st = await start(s, hello);
      starts.push(st.startMs);
      await stop(st.proc);
    }
    f.start = median(starts);
  });

  // All four listen at once; the idle ones cost nothing.
  const up: Started[] = [];
  for (const s of SERVERS) up.push(await start(s, hello));
  await sleep(500);
  SERVERS.forEach((_, i) => (fig[i].idleRss = rssMB(up[i].proc.pid!)));
  const served = SERVERS.map(() => 0);
  for (const c of [8, 32]) {
    await each(`c=${c}`, async (s, f) => {
      const l = await load(up[SERVERS.indexOf(s)].port, c, SECS);
      served[SERVERS.indexOf(s)] += l.conns;
      f[`rate${c}`] = l.rate;
      f[`p50_${c}`] = l.p50;
      f[`p99_${c}`] = l.p99;
      f[`errors${c}`] = l.errors;
    });
    if (c === 8) {
      await sleep(300);
      SERVERS.forEach((_, i) => (fig[i].warmRss = rssMB(up[i].proc.pid!)));
    }
  }
  await each(`up to ${TARGET_CONNS} connections`, async (s, f) => {
    const i = SERVERS.indexOf(s);
    if (!s.ours) return;
    // Up to TARGET_CONNS in all, then the growth since the warm-up run.
    while (served[i] < TARGET_CONNS) {
      const secs = Math.min(30, Math.max(1, Math.ceil((TARGET_CONNS - served[i]) / Math.max(f.rate32, 100))));
      served[i] += (await load(up[i].port, 32, secs)).conns;
    }
    await sleep(1000);
    f.loadRss = rssMB(up[i].proc.pid!);
  });
  for (const st of up) await stop(st.proc);

  await each('2 GiB bulk', async (s, f) => {
    // Best of three: one transfer is at the mercy of whatever else runs.
    const b = await start(s, [path.join(out, 'bulk')]);
    f.bulk = Math.max(await bulk(b.port), await bulk(b.port), await bulk(b.port));
    await stop(b.proc);
  });

  const ruled: Started[] = [];
  for (const s of SERVERS) ruled.push(await start(s, hello, s.args === tcpserverArgs ? rules.tcprules : rules.ipsvd));
  for (const c of [8, 32]) {
    await each(`c=${c}, -x rules`, async (s, f) => {
      const l = await load(ruled[SERVERS.indexOf(s)].port, c, SECS);
      f[`xrate${c}`] = l.rate;
      f[`xp99_${c}`] = l.p99;
      f[`xerrors${c}`] = l.errors;
    });
  }
  // Ever new clients: each connection from another 127/8 address, so every
  // rules decision is a new one. Ours only: what a cache must not do is grow.
  await each(`${TARGET_CONNS} connections from distinct addresses, -x rules`, async (s, f) => {
    const i = SERVERS.indexOf(s);
    if (!s.ours) return;
    const before = rssMB(ruled[i].proc.pid!);
    const { stdout } = await run(path.join(out, 'connspread'), [String(ruled[i].port), String(TARGET_CONNS), '16']);
    f.spreadErrors = Number(/err=(\d+)/.exec(stdout)?.[1]);
    await sleep(1000);
    f.spreadGrowth = ((rssMB(ruled[i].proc.pid!) - before) / before) * 100;
  });
  for (const st of ruled) await stop(st.proc);
  return fig;
}

// benchmarks/rules.ts (the rules engineer's) may not be there: it is optional.
async function rulesRows(): Promise<Row[]> {
  let mod: { rulesBench?: () => Promise<Array<{ what: string; ours: number; ref: number | null; unit: string }>> };
  try {
    mod = require('./rules');
  } catch {
    return [];
  }
  if (typeof mod.rulesBench !== 'function') return [];
  const rows = await mod.rulesBench();
  return rows.map((r) => ({
    what: r.what,
    unit: r.unit,
    cells: [r.ref, null, r.ours, null],
    better: r.unit === '/s' || r.unit.endsWith('/s') ? 'higher' : 'lower',
  }));
}

export async function main(): Promise<void> {
  build();
  const rules = compileRules();
  const hello = [path.join(out, 'hello')];
  const fig = await measureAll(hello, rules);

  const col = (k: string): Cell[] => fig.map((f) => f[k] ?? null);
  const rows: Row[] = [
    { what: 'conn/s, c=8', unit: '/s', cells: col('rate8'), better: 'higher', goal: 1.0 },
    { what: 'p50, c=8', unit: 'ms', cells: col('p50_8'), better: 'lower' },
    { what: 'p99, c=8', unit: 'ms', cells: col('p99_8'), better: 'lower', goal: 1.0 },
    { what: 'conn/s, c=32', unit: '/s', cells: col('rate32'), better: 'higher', goal: 1.0 },
    { what: 'p50, c=32', unit: 'ms', cells: col('p50_32'), better: 'lower' },
    { what: 'p99, c=32', unit: 'ms', cells: col('p99_32'), better: 'lower', goal: 1.0 },
    { what: 'conn/s, c=8, -x rules', unit: '/s', cells: col('xrate8'), better: 'higher', goal: 1.0 },
    { what: 'p99, c=8, -x rules', unit: 'ms', cells: col('xp99_8'), better: 'lower', goal: 1.0 },
    { what: 'conn/s, c=32, -x rules', unit: '/s', cells: col('xrate32'), better: 'higher', goal: 1.0 },
    { what: 'p99, c=32, -x rules', unit: 'ms', cells: col('xp99_32'), better: 'lower', goal: 1.0 },
    { what: 'failed connections (all runs)', unit: '', better: 'lower',
      cells: fig.map((f) => f.errors8 + f.errors32 + f.xerrors8 + f.xerrors32) },
    { what: 'idle RSS', unit: 'MB', cells: col('idleRss'), better: 'lower', limit: 48 },
    { what: 'RSS after warm-up (c=8 run)', unit: 'MB', cells: col('warmRss'), better: 'lower' },
    { what: `RSS after ${Math.round(TARGET_CONNS / 1000)}k connections`, unit: 'MB', cells: col('loadRss'), better: 'lower' },
    { what: 'RSS growth since warm-up', unit: '%', better: 'lower', limit: 5,
      cells: fig.map((f) => (f.loadRss ? ((f.loadRss - f.warmRss) / f.warmRss) * 100 : null)) },
    { what: `RSS growth over ${Math.round(TARGET_CONNS / 1000)}k connections from distinct addresses, -x rules`, unit: '%',
      better: 'lower', limit: 5, cells: col('spreadGrowth') },
    { what: 'failed connections, distinct addresses', unit: '', better: 'lower', cells: col('spreadErrors') },
    { what: '2 GiB bulk', unit: 'MB/s', cells: col('bulk'), better: 'higher', goal: 0.95 },
    { what: `start to listening (median of ${STARTS})`, unit: 'ms', cells: col('start'), better: 'lower', limit: 150 },
  ];
  const extra = await rulesRows();
  const launcher = fs.existsSync(path.join(root, 'build', 'Release', 'ucspi.node')) && process.env.UCSPI_LAUNCHER !== 'spawn'
    ? 'native' : 'spawn';
  const text = renderTable(SERVERS.map((s) => s.name), [...rows, ...extra], {
    title: `${new Date().toISOString()}, ${SECS} s per load run, launcher ${launcher}, node ${process.version}`,
  });
  process.stdout.write(text);
  fs.writeFileSync(path.join(out, 'latest.md'), text);
  const missed = rows.filter((r) => goalMet(r) === false).map((r) => r.what);
  if (missed.length) process.stdout.write(`\ngoals missed: ${missed.join('; ')}\n`);
}

if (require.main === module) {
  main().then(() => killAll(), (e) => {
    killAll();
    process.stderr.write(`bench: fatal: ${e instanceof Error ? e.message : e}\n`);
    process.exit(111);
  });
}
