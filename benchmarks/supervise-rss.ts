// Memory of a supervision tree: 50 services, each with a log/ running our
// multilog, under our svscan (one Node process for the whole tree), then
// under Debian's /usr/bin/svscan with its /usr/bin/supervise (100 processes);
// then the same tree under our runsvdir (one Node process, every runsv in it)
// and under Debian's /usr/bin/runsvdir with its /usr/bin/runsv (50 processes).
// The supervisors are counted apart from the multilog children (separate
// processes whichever supervisor runs them) and from the services (sleep).
// Goal: our supervision processes together at most 60 MB RSS.
//
//   npm run build && node dist/benchmarks/supervise-rss.js
//
// Everything runs in a temporary directory; every process started (found by
// its working directory, as the services and loggers run in their service
// directories) is killed on exit, error or signal. No network, no DNS.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const BIN = path.join(root, 'bin');
const SERVICES = Number(process.env.BENCH_SERVICES ?? 50);
const GOAL_MB = 60;
const SETTLE_MS = 3000;

const top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'svrss-')));
const live = new Set<ChildProcess>();

function pidsUnder(dir: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${p}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + '/')) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

function cleanup(): void {
  for (const p of live) p.kill('SIGKILL');
  for (const pid of pidsUnder(top)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  fs.rmSync(top, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(111));

/** kB of VmRSS and Pss for pid (0 when gone). */
function mem(pid: number): { rss: number; pss: number } {
  try {
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
    let pss = 0;
    try { pss = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'))?.[1] ?? 0); } catch { /* older kernel */ }
    return { rss, pss };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function pidOf(dir: string): number {
  try {
    const b = fs.readFileSync(path.join(dir, 'supervise', 'status'));
    return b.length >= 18 ? b.readUInt32LE(12) : 0;
  } catch {
    return 0;
  }
}

function tree(name: string): string {
  const dir = path.join(top, name);
  for (let i = 0; i < SERVICES; i++) {
    const s = path.join(dir, `svc${i}`);
    fs.mkdirSync(path.join(s, 'log'), { recursive: true });
    fs.writeFileSync(path.join(s, 'run'), '#!/bin/sh\necho started\nexec sleep 1000\n', { mode: 0o755 });
    fs.writeFileSync(path.join(s, 'log', 'run'), `#!/bin/sh\nexec ${path.join(BIN, 'multilog')} t ./main\n`, { mode: 0o755 });
  }
  return dir;
}

async function waitFor(what: string, pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Reading { supervisors: number; supRss: number; supPss: number; loggers: number; logRss: number; logPss: number }

/**
 * stop: how the supervisor is ended once measured. Our svscan and runsvdir
 * hand their services to a keeper process on TERM: INT (svscan: every service
 * down) or KILL, everything is killed after.
 */
async function measure(label: string, cmd: string, env: NodeJS.ProcessEnv, stop: NodeJS.Signals = 'SIGTERM'): Promise<Reading> {
  const dir = tree(label);
  const p = spawn(cmd, [dir], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  live.add(p);
  const dirs = fs.readdirSync(dir).flatMap((n) => [path.join(dir, n), path.join(dir, n, 'log')]);
  await waitFor(`${label}: every service and logger up`, () => dirs.every((d) => pidOf(d)), 120_000);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const r: Reading = { supervisors: 0, supRss: 0, supPss: 0, loggers: 0, logRss: 0, logPss: 0 };
  const services = new Set(dirs.map(pidOf));
  for (const pid of new Set([p.pid!, ...pidsUnder(dir)])) {
    const line = comm(pid);
    const m = mem(pid);
    if (pid === p.pid || /(^|\/)(supervise|runsv) /.test(line)) {
      r.supervisors++; r.supRss += m.rss; r.supPss += m.pss;
    } else if (/multilog/.test(line)) {
      r.loggers++; r.logRss += m.rss; r.logPss += m.pss;
    } else if (!services.has(pid) && !/^sleep /.test(line)) {
      throw new Error(`${label}: unexpected process ${pid}: ${line}`);
    }
  }
  p.kill(stop);
  await new Promise((res) => setTimeout(res, 500));
  for (const pid of pidsUnder(dir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  p.kill('SIGKILL');
  live.delete(p);
  return r;
}

const mb = (kb: number) => (kb / 1024).toFixed(1);

async function main(): Promise<void> {
  const ours = await measure('ours', path.join(BIN, 'svscan'), {}, 'SIGINT');
  const theirs = await measure('debian', '/usr/bin/svscan', { PATH: '/usr/bin:/bin' });
  const rows = [
    '| what | ours svscan | Debian svscan + supervise |',
    '|---|---|---|',
    `| supervision processes | ${ours.supervisors} | ${theirs.supervisors} |`,
    `| their RSS, summed (MB) | ${mb(ours.supRss)} | ${mb(theirs.supRss)} |`,
    `| their PSS, summed (MB) | ${mb(ours.supPss)} | ${mb(theirs.supPss)} |`,
    `| multilog children (ours, both) | ${ours.loggers} | ${theirs.loggers} |`,
    `| their RSS, summed (MB) | ${mb(ours.logRss)} | ${mb(theirs.logRss)} |`,
    `| their PSS, summed (MB) | ${mb(ours.logPss)} | ${mb(theirs.logPss)} |`,
    `| goal: our supervision RSS ≤ ${GOAL_MB} MB | ${ours.supRss / 1024 <= GOAL_MB ? 'met' : 'NOT met'} | |`,
  ];
  process.stdout.write(`${SERVICES} services, each with log/ running our multilog (node ${process.version})\n\n${rows.join('\n')}\n`);
  if (ours.supervisors !== 1) throw new Error(`expected one supervision process of ours, found ${ours.supervisors}`);
  const oursR = await measure('ours-runsvdir', path.join(BIN, 'runsvdir'), {}, 'SIGKILL');
  const theirsR = await measure('debian-runsvdir', '/usr/bin/runsvdir', { PATH: '/usr/bin:/bin' });
  const rowsR = [
    '| what | ours runsvdir | Debian runsvdir + runsv |',
    '|---|---|---|',
    `| supervision processes | ${oursR.supervisors} | ${theirsR.supervisors} |`,
    `| their RSS, summed (MB) | ${mb(oursR.supRss)} | ${mb(theirsR.supRss)} |`,
    `| their PSS, summed (MB) | ${mb(oursR.supPss)} | ${mb(theirsR.supPss)} |`,
    `| multilog children (ours, both) | ${oursR.loggers} | ${theirsR.loggers} |`,
    `| their RSS, summed (MB) | ${mb(oursR.logRss)} | ${mb(theirsR.logRss)} |`,
    `| their PSS, summed (MB) | ${mb(oursR.logPss)} | ${mb(theirsR.logPss)} |`,
    `| goal: our supervision RSS ≤ ${GOAL_MB} MB | ${oursR.supRss / 1024 <= GOAL_MB ? 'met' : 'NOT met'} | |`,
  ];
  process.stdout.write(`\n${rowsR.join('\n')}\n`);
  if (oursR.supervisors !== 1) throw new Error(`expected one runsvdir process of ours, found ${oursR.supervisors}`);
}

main().then(() => process.exit(0), (e) => { process.stderr.write(`supervise-rss: ${(e as Error).message}\n`); process.exit(111); });
