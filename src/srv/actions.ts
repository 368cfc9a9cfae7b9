// srv's actions on services (man/srv.8): list, info, add, del, up, down,
// restart, reload, env and peers, each over the live directory (ctx.svdir,
// $SVDIR) and the available one (ctx.srvdir, $SRVDIR), through any
// supervisor's supervise/ files (state.ts, control.ts). A failure of one
// service is warned about with its name and gives the exit code; the others
// go on.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { readRegular } from '../lib/regular';
import { UsageError, decimalArg, getopt } from '../lib/getopt';
import { writeLine, warn as strerrWarn } from '../lib/strerr';
import { ControlError, send, waitUntil } from './control';
import { EnvError, parseEnvArg, writeEnv } from './envdir';
import { logDirOf } from './logdir';
import { PeersError, Setting, checkHost, exclude, grant, parseSetting, rebuild, remove } from './peers';
import { Observed, isUp, observe, processTree, treeLines, word } from './state';
import { wakeScanners } from './wake';

const PROG = 'srv';

/** Exit codes: 1 a service failed (missing, unsupervised, not in the wanted state in time), 111 a file could not be read or written. */
const FAILED = 1;
const SYSTEM = 111;

/** A failure of one service: its message and exit code. */
class Failure extends Error {
  constructor(msg: string, readonly code = FAILED) { super(msg); }
}

/** Where the services are, how long to wait for a supervisor, and the clock (seconds). */
export interface Ctx { svdir: string; srvdir: string; waitMs: number; now: () => number }

function checkName(svc: string): void {
  if (svc === '' || svc === '.' || svc === '..' || svc.includes('/') || svc.includes('\0') || svc.startsWith('.')) {
    throw new UsageError(`${PROG}: bad service name: ${JSON.stringify(svc)}`);
  }
}

/**
 * Runs one action (list, info, add, del, up, down, restart, reload, env,
 * peers) on the services named in rest: the exit code. Bad arguments are
 * thrown as UsageError.
 */
export function run(ctx: Ctx, action: string, rest: string[]): number {
  if (action === 'list') {
    rest.forEach(checkName);
    return list(ctx, rest);
  }
  if (action === 'env') {
    if (rest.length < 2) throw new UsageError();
    checkName(rest[0]);
    const changes = rest.slice(1).map((a) => {
      const c = parseEnvArg(a);
      if (!c) throw new UsageError(`${PROG}: bad variable: ${JSON.stringify(a)}`);
      return c;
    });
    return guarded(rest[0], () => {
      const dir = serviceDir(ctx, rest[0]);
      for (const c of changes) writeEnv(dir, c);
    });
  }
  if (action === 'peers') return peers(ctx, rest);
  if (rest.length === 0) throw new UsageError();
  rest.forEach(checkName);
  if (action === 'add') return addAll(ctx, rest);
  const each: Record<string, (ctx: Ctx, svc: string) => void> = {
    info, del, up, down, restart, reload,
  };
  let code = 0;
  for (const svc of rest) code = Math.max(code, guarded(svc, () => each[action](ctx, svc)));
  return code;
}

/** Runs one service's action; a failure is warned about with the service's name, and gives its exit code. */
function guarded(svc: string, fn: () => void): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (e instanceof Failure) {
      strerrWarn(PROG, `${svc}: ${e.message}`);
      return e.code;
    }
    if (e instanceof PeersError || e instanceof EnvError) {
      strerrWarn(PROG, `${svc}: ${e.message}`);
      return SYSTEM;
    }
    if (e instanceof ControlError) {
      strerrWarn(PROG, `${svc}: ${e.message}`);
      return FAILED;
    }
    throw e;
  }
}

const lstat = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false });
const stat = (p: string) => { try { return fs.statSync(p, { throwIfNoEntry: false }); } catch { return undefined; } };
const isDir = (p: string) => stat(p)?.isDirectory() ?? false;
/** A service directory: a directory with a run file (a link to one counts), as a supervisor needs. */
const isService = (p: string) => isDir(p) && (stat(path.join(p, 'run'))?.isFile() ?? false);

/** Where a service lives: the live entry (followed) if there is one, else the available one. */
function serviceDir(ctx: Ctx, svc: string): string {
  const live = path.join(ctx.svdir, svc);
  const avail = path.join(ctx.srvdir, svc);
  if (lstat(live)) {
    let dir: string;
    try { dir = fs.realpathSync(live); } catch (e) { throw new Failure(`unable to follow ${live}: ${errstr(e)}`); }
    if (!isService(dir)) throw new Failure(`${live} is no service directory (no ${path.join(dir, 'run')}): not changed`);
    return dir;
  }
  if (isService(avail)) return avail;
  if (lstat(avail)) throw new Failure(`${avail} is no service directory (no ${path.join(avail, 'run')}): not changed`);
  throw new Failure(`no such service: neither ${live} nor ${avail} exists`);
}

function names(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => !n.startsWith('.') && isService(path.join(dir, n)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Failure(`unable to read ${dir}: ${errstr(e)}`, SYSTEM);
  }
}

function age(o: Observed, ctx: Ctx): string {
  return o.status?.when.sec ? `${Math.max(0, ctx.now() - o.status.when.sec)}s` : '-';
}

function list(ctx: Ctx, given: string[]): number {
  let code = 0;
  let all: string[];
  try {
    all = given.length ? given : [...new Set([...names(ctx.svdir), ...names(ctx.srvdir)])].sort();
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    strerrWarn(PROG, e.message);
    return e.code;
  }
  const rows: string[][] = [['SERVICE', 'STATUS', 'PID', 'TIME']];
  for (const svc of all) {
    code = Math.max(code, guarded(svc, () => {
      const dir = serviceDir(ctx, svc);
      const add = (name: string, d: string) => {
        const o = observe(d);
        if (o.error) strerrWarn(PROG, `${name}: ${o.error}`);
        rows.push([name, word(o), o.status?.pid ? String(o.status.pid) : '-', age(o, ctx)]);
      };
      add(svc, dir);
      if (isDir(path.join(dir, 'log'))) add(`${svc}/log`, path.join(dir, 'log'));
    }));
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  process.stdout.write(rows.map((r) => r.map((f, c) => (c === r.length - 1 ? f : f.padEnd(widths[c]))).join('  ')).join('\n') + '\n');
  return code;
}

function when(sec: number, ctx: Ctx): string {
  return `${Math.max(0, ctx.now() - sec)} seconds ago, ${new Date(sec * 1000).toISOString().replace(/\.\d+Z$/, 'Z')}`;
}

function info(ctx: Ctx, svc: string): void {
  const dir = serviceDir(ctx, svc);
  const live = path.join(ctx.svdir, svc);
  const out: Array<[string, string]> = [['service', svc], ['directory', dir]];
  const l = lstat(live);
  out.push(['managed', l ? `yes (${live}${l.isSymbolicLink() ? ` -> ${fs.readlinkSync(live)}` : ''})` : `no (not in ${ctx.svdir})`]);
  const o = observe(dir);
  if (o.error) out.push(['error', o.error]);
  out.push(['status', word(o) + (o.stat ? ` (${o.stat})` : '') + (o.normallyDown ? ', normally down' : '')]);
  out.push(['pid', o.status?.pid ? String(o.status.pid) : '-']);
  if (o.status?.pid) {
    const tree = processTree(o.status.pid);
    if (tree) out.push(['processes', '\n' + treeLines(tree, 1).join('\n')]);
  }
  if (o.status?.when.sec) out.push([isUp(o) ? 'started' : 'stopped', when(o.status.when.sec, ctx)]);
  out.push(['restarts', o.restarts === null ? '-' : String(o.restarts)]);
  const logDir = path.join(dir, 'log');
  const logged = isDir(logDir);
  out.push(['logged', logged ? 'yes' : 'no']);
  if (logged) {
    let target: string | null = null;
    try { target = logDirOf(readRegular(path.join(logDir, 'run'), 1 << 20).toString('utf8'), logDir); } catch { /* no readable log/run */ }
    out.push(['log dir', target ?? '-']);
    const lo = observe(logDir);
    if (lo.error) out.push(['log error', lo.error]);
    out.push(['log status', word(lo) + (lo.stat ? ` (${lo.stat})` : '')]);
    out.push(['log pid', lo.status?.pid ? String(lo.status.pid) : '-']);
  }
  const w = Math.max(...out.map(([k]) => k.length)) + 1;
  process.stdout.write(out.map(([k, v]) => `${(k + ':').padEnd(w)} ${v}`.replace(/ +\n/, '\n')).join('\n') + '\n');
}

/** "svc: up (pid N) Ts" as srv reports a service after an action. */
function report(name: string, o: Observed, ctx: Ctx): void {
  const pid = o.status?.pid ? ` (pid ${o.status.pid})` : '';
  writeLine(`${name}: ${word(o)}${pid} ${age(o, ctx)}`, 1);
}

function dirs(dir: string): string[] {
  return isDir(path.join(dir, 'log')) ? [dir, path.join(dir, 'log')] : [dir];
}

/** Links the service into $SVDIR (unless it is linked there already). */
function link(ctx: Ctx, svc: string): void {
  const avail = path.join(ctx.srvdir, svc);
  const live = path.join(ctx.svdir, svc);
  if (!isService(avail)) throw new Failure(`no such service: ${avail} is no service directory (a directory with a run file)`);
  const l = lstat(live);
  if (l) {
    if (!l.isSymbolicLink() || fs.realpathSync(live) !== fs.realpathSync(avail)) {
      throw new Failure(`${live} exists and is no link to ${avail}: not changed`);
    }
  } else {
    try { fs.symlinkSync(avail, live); } catch (e) { throw new Failure(`unable to link ${live} to ${avail}: ${errstr(e)}`, SYSTEM); }
  }
}

/** Waits, until end, for the linked service (and its log) to be supervised, then up. */
function settle(ctx: Ctx, svc: string, end: number, ms: number): void {
  const avail = path.join(ctx.srvdir, svc);
  for (const d of dirs(avail)) {
    const r = waitUntil(d, Math.max(0, end - Date.now()), (o) => o.supervised && !!o.status);
    if (!r.ok) throw new Failure(`linked, but ${path.join(d, 'supervise/ok')} has no supervisor after ${ms / 1000} seconds (is a scanner running on ${ctx.svdir}?)`);
  }
  // A supervisor takes up the directory before it starts run: wait for that too, unless down says not to.
  const r = waitUntil(avail, Math.max(0, end - Date.now()), (o) => o.normallyDown || isUp(o));
  report(svc, r.o, ctx);
  if (!r.ok) throw new Failure(`supervised, but not up after ${ms / 1000} seconds`);
}

/**
 * Every service linked first, then the scanner woken once (wake.ts) and
 * the services awaited together: one scan takes them all up. A scanner
 * that cannot be woken finds them within its 5 seconds: that is waited for too.
 */
function addAll(ctx: Ctx, svcs: string[]): number {
  let code = 0;
  const linked: string[] = [];
  for (const svc of svcs) {
    code = Math.max(code, guarded(svc, () => {
      link(ctx, svc);
      linked.push(svc);
    }));
  }
  if (linked.length === 0) return code;
  wakeScanners(ctx.svdir);
  const ms = ctx.waitMs + 5000;
  const end = Date.now() + ms;
  for (const svc of linked) code = Math.max(code, guarded(svc, () => settle(ctx, svc, end, ms)));
  return code;
}

function del(ctx: Ctx, svc: string): void {
  const live = path.join(ctx.svdir, svc);
  const l = lstat(live);
  if (!l) throw new Failure(`not managed: ${live} does not exist`);
  if (!l.isSymbolicLink()) throw new Failure(`${live} is no link (srv --add makes links): not changed`);
  let dir: string;
  try { dir = fs.realpathSync(live); } catch (e) { throw new Failure(`unable to follow ${live}: ${errstr(e)}: not changed`); }
  if (!isService(dir)) throw new Failure(`${live} is no service directory (no ${path.join(dir, 'run')}): not changed`);
  const ds = dirs(dir);
  let problem = '';
  // The service first, then its log, so that the log takes all of its last lines.
  for (const d of ds) {
    if (!observe(d).supervised) continue;
    try { send(d, 'd'); } catch (e) { if (!(e instanceof ControlError)) throw e; }
    const r = waitUntil(d, ctx.waitMs, (o) => !o.supervised || (!!o.status && o.status.pid === 0));
    if (!r.ok) problem ||= `${d} still runs (pid ${r.o.status?.pid}) after ${ctx.waitMs / 1000} seconds`;
  }
  try { fs.unlinkSync(live); } catch (e) { throw new Failure(`unable to remove ${live}: ${errstr(e)}`, SYSTEM); }
  for (const d of ds) {
    try { send(d, 'x'); } catch (e) { if (!(e instanceof ControlError)) throw e; }
  }
  for (const d of ds) {
    const r = waitUntil(d, ctx.waitMs, (o) => !o.supervised);
    if (!r.ok) problem ||= `the supervisor of ${d} still runs after ${ctx.waitMs / 1000} seconds`;
  }
  if (problem) throw new Failure(`removed ${live}, but ${problem}`);
  writeLine(`${svc}: removed`, 1);
}

function needSupervisor(dir: string): void {
  const o = observe(dir);
  if (o.error) throw new Failure(o.error);
  if (!o.supervised) throw new Failure(`unable to control ${path.join(dir, 'supervise/control')}: supervise not running`);
}

function finish(svc: string, ctx: Ctx, r: { o: Observed; ok: boolean }, wanted: string): void {
  report(svc, r.o, ctx);
  if (!r.ok) throw new Failure(`not ${wanted} after ${ctx.waitMs / 1000} seconds`);
}

function up(ctx: Ctx, svc: string): void {
  const dir = serviceDir(ctx, svc);
  try { fs.rmSync(path.join(dir, 'down'), { force: true }); } catch (e) { throw new Failure(`unable to remove ${path.join(dir, 'down')}: ${errstr(e)}`, SYSTEM); }
  needSupervisor(dir);
  send(dir, 'u');
  finish(svc, ctx, waitUntil(dir, ctx.waitMs, isUp), 'up');
}

/** The down file, created empty unless something is there already; never through a link. */
function makeDown(file: string): void {
  const l = lstat(file);
  if (l?.isSymbolicLink()) {
    if (stat(file)) return;
    throw new Failure(`${file} is a link to nothing: not changed`, SYSTEM);
  }
  if (l) return;
  try {
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    fs.closeSync(fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Failure(`unable to create ${file}: ${errstr(e)}`, SYSTEM);
  }
}

function down(ctx: Ctx, svc: string): void {
  const dir = serviceDir(ctx, svc);
  makeDown(path.join(dir, 'down'));
  needSupervisor(dir);
  send(dir, 'd');
  finish(svc, ctx, waitUntil(dir, ctx.waitMs, (o) => !!o.status && o.status.pid === 0), 'down');
}

function restart(ctx: Ctx, svc: string): void {
  const dir = serviceDir(ctx, svc);
  needSupervisor(dir);
  const before = observe(dir).status;
  send(dir, 'tcu');
  const changed = (o: Observed) => !!o.status && isUp(o) &&
    (!before || o.status.pid !== before.pid || o.status.when.sec !== before.when.sec || o.status.when.nano !== before.when.nano);
  finish(svc, ctx, waitUntil(dir, ctx.waitMs, changed), 'restarted');
}

function reload(ctx: Ctx, svc: string): void {
  const dir = serviceDir(ctx, svc);
  needSupervisor(dir);
  send(dir, 'h');
  report(svc, observe(dir), ctx);
}

function peers(ctx: Ctx, rest: string[]): number {
  if (rest.length === 0) throw new UsageError();
  const svc = rest[0];
  checkName(svc);
  const ops: Array<{ op: 'g' | 'x' | 'y'; host: string }> = [];
  const settings: Setting[] = [];
  let limit: number | null = null;
  const left = getopt(rest.slice(1), 'g:x:y:e:m:', (ch, v) => {
    const value = v as string;
    if (ch === 'e') {
      const s = parseSetting(value);
      if (!s) throw new UsageError(`${PROG}: bad variable: ${JSON.stringify(value)} (VAR=value)`);
      settings.push(s);
    } else if (ch === 'm') {
      limit = decimalArg(value);
    } else {
      const bad = checkHost(value);
      if (bad) throw new UsageError(`${PROG}: ${bad}`);
      ops.push({ op: ch as 'g' | 'x' | 'y', host: value });
    }
  });
  if (left.length) throw new UsageError(`${PROG}: unexpected argument: ${left[0]}`);
  if ((settings.length || limit !== null) && !ops.some((o) => o.op === 'g')) {
    throw new UsageError(`${PROG}: -e and -m apply to the hosts granted with -g`);
  }
  return guarded(svc, () => {
    const dir = serviceDir(ctx, svc);
    const pdir = path.join(dir, 'peers');
    if (ops.length) {
      try { fs.mkdirSync(pdir, { recursive: true }); } catch (e) { throw new PeersError(`unable to create ${pdir}: ${errstr(e)}`); }
    } else if (!isDir(pdir)) {
      throw new Failure(`no peers directory: ${pdir}`);
    }
    for (const { op, host } of ops) {
      if (op === 'g') grant(pdir, host, limit, settings);
      else if (op === 'x') exclude(pdir, host);
      else remove(pdir, host);
    }
    rebuild(pdir, path.join(dir, 'peers.cdb'), (m) => strerrWarn(PROG, `${svc}: ${m}`));
  });
}
