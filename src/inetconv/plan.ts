// From services and rules to files: per service a directory with run,
// log/run, peers/ (the translated rules), peers.cdb and the marker file
// that says inetconv made it. Writing compares before it writes and renames
// a new file of an unpredictable name into place (lib/replace.ts), so a rerun
// changes only what changed and a link planted in the directory is never followed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CdbWriter } from '../cdb/writer';
import { compileCwd } from '../instruct/compile';
import { createTemp, replaceFile } from '../lib/replace';
import { badClients, badDaemons, daemonMatch, type Rule } from './hosts';
import type { InternalLine, Note, Service } from './service';
import { translate, type PeerEntry } from './translate';

export const MARKER = '.inetconv';

export interface FileOut { mode: number; content: string }

export interface Planned {
  name: string;
  files: Map<string, FileOut>;      // relative to the service directory
  peers: Map<string, PeerEntry>;    // peers/<name>; empty: no peers dir
}

function shq(s: string): string {
  return s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The rules of both tables that concern daemon, allow table first; or the reasons they cannot be translated. */
function rulesFor(rules: Rule[], daemon: string, where: Note['where'], notes: Note[]): Rule[] | undefined {
  const out: Rule[] = [];
  let ok = true;
  for (const r of rules) {
    const m = daemonMatch(r.daemons, daemon);
    if (m === undefined) {
      for (const b of badDaemons(r.daemons)) notes.push({ where: r.where, what: b.text, reason: `${b.reason}; ${daemon} (${where.file}:${where.line}) not converted` });
      ok = false;
      continue;
    }
    if (!m) continue;
    const bad = badClients(r.clients);
    for (const b of bad) notes.push({ where: r.where, what: b.text, reason: `${b.reason}; ${daemon} (${where.file}:${where.line}) not converted` });
    for (const x of r.refuse) notes.push({ where: r.where, what: x, reason: `${daemon} (${where.file}:${where.line}) not converted` });
    if (bad.length > 0 || r.refuse.length > 0) ok = false;
    for (const o of r.options) if (o.k === 'ignored') notes.push({ where: r.where, what: o.text, reason: `${o.reason} (for ${daemon}: the rule's decision is kept)` });
    out.push(r);
  }
  return ok ? out : undefined;
}

/** The directory of the one inetd serving every internal service. */
export const INTERNAL_DIR = 'inetd-internal';

export function plan(services: Service[], rules: Rule[], bindir: string, notes: Note[], internals: InternalLine[] = []): Planned[] {
  const out: Planned[] = [];
  const taken = new Set<string>([INTERNAL_DIR]);
  for (const s of services) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(s.service)) {
      notes.push({ where: s.where, what: s.service, reason: 'not usable as a service directory name; not converted' });
      continue;
    }
    let name = s.service;
    if (taken.has(name)) name = `${name}-${s.kind}`;
    for (let k = 2; taken.has(name); k++) name = `${s.service}-${s.kind}${k}`;
    const rs = s.daemon === undefined ? [] : rulesFor(rules, s.daemon, s.where, notes);
    if (rs === undefined) continue;
    const tr = translate(rs, s.access);
    if (tr.refused.length > 0) {
      for (const r of tr.refused) notes.push({ where: s.where, what: `${s.service} (${s.daemon ?? s.service})`, reason: `${r}; not converted` });
      continue;
    }
    for (const c of tr.caveats) notes.push({ where: s.where, what: `${s.service} (${s.daemon ?? s.service})`, reason: c });
    taken.add(name);
    const args: string[] = ['-v'];
    // No DNS for the local name: inetd never looked it up.
    args.push('-l', "''");
    if (tr.needHost) args.push('-p');
    if (s.kind === 'tcp' && s.concurrency !== undefined) args.push('-c', String(s.concurrency));
    if (s.kind === 'tcp' && s.perHost !== undefined) args.push('-C', String(s.perHost));
    if (s.kind === 'tcp' && s.rate !== undefined) args.push(`--rate=${s.rate.count}/${s.rate.seconds}`);
    if (s.kind === 'udp' && s.concurrency !== undefined && s.concurrency !== 1) notes.push({ where: s.where, what: `instances = ${s.concurrency}`, reason: 'udpsvd runs one program at a time' });
    if (s.group !== undefined && s.user !== 'root') notes.push({ where: s.where, what: `${s.user}:${s.group}`, reason: `tcpsvd -u ${s.user}:${s.group} sets only ${s.group} as group; inetd also kept ${s.user}'s supplementary groups` });
    if (s.user !== undefined && (s.user !== 'root' || s.group !== undefined)) args.push('-u', shq(s.group ? `${s.user}:${s.group}` : s.user));
    if (tr.entries.size > 0) args.push('-x', 'peers.cdb');
    args.push(shq(s.host), shq(s.port));
    // argv0: the program's own path or name needs nothing; any other name is
    // set by bash's exec -a (dash has no -a), one bash per connection.
    const base = s.program.replace(/^.*\//, '');
    let progText: string;
    if (s.argv[0] === s.program || s.argv[0] === base) progText = [s.program, ...s.argv.slice(1)].map(shq).join(' ');
    else {
      progText = ['/bin/bash', '-c', `exec -a "$0" ${shq(s.program)} "$@"`, ...s.argv].map(shq).join(' ');
      notes.push({ where: s.where, what: s.argv[0], reason: `argv0 differs from ${base}: run through bash's exec -a (a bash per connection)` });
    }
    const server = path.join(bindir, s.kind === 'tcp' ? 'tcpsvd' : 'udpsvd');
    const envLines = s.env.map(([k, v]) => `${k}=${shq(v)}; export ${k}\n`).join('');
    const run = `#!/bin/sh\n# converted by inetconv from ${s.where.file}\nexec 2>&1\n${envLines}exec ${shq(server)} ${args.join(' ')} ${progText}\n`;
    const logRun = `#!/bin/sh\nexec ${shq(path.join(bindir, 'multilog'))} t ./main\n`;
    const files = new Map<string, FileOut>([
      // The source file, not the line: a line moving up or down is no change.
      [MARKER, { mode: 0o644, content: `${s.where.file}\n` }],
      ['run', { mode: 0o755, content: run }],
      ['log/run', { mode: 0o755, content: logRun }],
    ]);
    out.push({ name, files, peers: tr.entries });
  }
  const inetd = internalPlan(internals, rules, bindir, notes);
  if (inetd) out.push(inetd);
  return out;
}

/**
 * Every internal service in one directory, for our one-process inetd: its
 * inetd.conf holds their lines, run starts inetd on it in the foreground.
 * A service the access tables apply to (inetd -l, xinetd's libwrap) is not
 * converted: our inetd has no access control.
 */
function internalPlan(internals: InternalLine[], rules: Rule[], bindir: string, notes: Note[]): Planned | undefined {
  const lines: string[] = [];
  const sources = new Set<string>();
  for (const l of internals) {
    const applying = l.daemon === undefined ? [] : rules.filter((r) => daemonMatch(r.daemons, l.daemon!) !== false);
    if (applying.length > 0) {
      const at = applying.map((r) => `${r.where.file}:${r.where.line}`).join(', ');
      notes.push({ where: l.where, what: `internal service ${l.service}`, reason: `the access tables apply to it (${at}); our inetd has no access control; not converted` });
      continue;
    }
    // No line numbers: a line moving up or down in the input is no change.
    lines.push(`${l.line}\n`);
    sources.add(l.where.file);
  }
  if (lines.length === 0) return undefined;
  const from = [...sources].join(', ');
  const run = `#!/bin/sh\n# converted by inetconv from ${from}: internal services, served by inetd itself\nexec 2>&1\n` +
    `exec ${shq(path.join(bindir, 'inetd'))} -i --pidfile="$PWD/inetd.pid" "$PWD/inetd.conf"\n`;
  const conf = `# converted by inetconv: the internal services, for inetd(8)\n${lines.join('')}`;
  const files = new Map<string, FileOut>([
    [MARKER, { mode: 0o644, content: [...sources].map((f) => `${f}\n`).join('') }],
    ['inetd.conf', { mode: 0o644, content: conf }],
    ['run', { mode: 0o755, content: run }],
    ['log/run', { mode: 0o755, content: `#!/bin/sh\nexec ${shq(path.join(bindir, 'multilog'))} t ./main\n` }],
  ]);
  return { name: INTERNAL_DIR, files, peers: new Map() };
}

export type Outcome = 'created' | 'updated' | 'unchanged';

function same(file: string, want: FileOut): boolean {
  let st: fs.Stats;
  // A link is replaced, whatever it points to.
  try { st = fs.lstatSync(file); } catch { return false; }
  if (!st.isFile() || (st.mode & 0o7777) !== want.mode) return false;
  if (st.size !== Buffer.byteLength(want.content)) return false;
  if (st.size === 0) return true;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try { return fs.readFileSync(fd, 'utf8') === want.content; } finally { fs.closeSync(fd); }
  } catch {
    return false;
  }
}

/** Write file atomically unless it already is as wanted; true when written. */
function put(file: string, want: FileOut): boolean {
  if (same(file, want)) return false;
  replaceFile(file, want.content, want.mode);
  return true;
}

/** peers/ to peers.cdb (written aside, then renamed), through ipsvd-cdb's compiler. */
function compilePeers(dir: string, warn: (m: string) => void): void {
  const { fd, tmp } = createTemp(path.join(dir, 'peers.cdb'), 0o644);
  const w = CdbWriter.onFd(fd, tmp);
  const cwd = process.cwd();
  try {
    process.chdir(path.join(dir, 'peers'));
    for (const c of compileCwd(warn)) if (!('skipped' in c)) w.add(c.name, c.value);
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  } finally {
    process.chdir(cwd);
  }
  fs.renameSync(tmp, path.join(dir, 'peers.cdb'));
}

export class NotOurs extends Error {}

/** What bringing the service directory to the plan would change, by path relative to it. */
export function pending(outdir: string, p: Planned): { existed: boolean; changes: string[] } {
  const dir = path.join(outdir, p.name);
  const existed = fs.existsSync(dir);
  if (existed && !fs.existsSync(path.join(dir, MARKER))) throw new NotOurs(`${dir} exists and was not made by inetconv; left alone`);
  // Its own subdirectories, never followed elsewhere: files would be written where the link points.
  for (const sub of ['log', 'peers']) {
    const at = path.join(dir, sub);
    if (fs.lstatSync(at, { throwIfNoEntry: false })?.isSymbolicLink()) throw new NotOurs(`${at} is a symbolic link; ${dir} left alone`);
  }
  const changes: string[] = [];
  for (const [rel, f] of p.files) if (!same(path.join(dir, rel), f)) changes.push(rel);
  const peersDir = path.join(dir, 'peers');
  const present = fs.existsSync(peersDir) ? fs.readdirSync(peersDir) : [];
  let peersChanged = false;
  for (const n of present) if (!p.peers.has(n)) { changes.push(`peers/${n} (removed)`); peersChanged = true; }
  // A service left without rules keeps an empty peers.cdb: the tcpsvd still
  // running with -x peers.cdb (until restarted with the new run) allows all.
  for (const [n, e] of p.peers) if (!same(path.join(peersDir, n), e)) { changes.push(`peers/${n}`); peersChanged = true; }
  const cdb = fs.existsSync(path.join(dir, 'peers.cdb'));
  if ((p.peers.size > 0 && !cdb) || (cdb && peersChanged)) changes.push('peers.cdb');
  return { existed, changes };
}

/** Bring one service directory to the plan. Throws NotOurs when dir exists without the marker. */
export function apply(outdir: string, p: Planned, warn: (m: string) => void): { outcome: Outcome; changes: string[] } {
  const { existed, changes } = pending(outdir, p);
  if (changes.length === 0) return { outcome: 'unchanged', changes };
  const dir = path.join(outdir, p.name);
  fs.mkdirSync(path.join(dir, 'log'), { recursive: true });
  // The marker first: a directory we began to fill is ours on the next run.
  for (const [rel, f] of [...p.files].sort(([a], [b]) => (a === MARKER ? -1 : b === MARKER ? 1 : 0))) {
    if (rel !== 'run') put(path.join(dir, rel), f);
  }
  const peersDir = path.join(dir, 'peers');
  if (p.peers.size > 0 || fs.existsSync(peersDir)) {
    fs.mkdirSync(peersDir, { recursive: true });
    for (const n of fs.readdirSync(peersDir)) if (!p.peers.has(n)) fs.rmSync(path.join(peersDir, n), { force: true });
    for (const [n, e] of p.peers) put(path.join(peersDir, n), e);
    if (changes.includes('peers.cdb')) compilePeers(dir, warn);
  }
  // run last: supervise starts the service once run exists, with its rules in place.
  put(path.join(dir, 'run'), p.files.get('run')!);
  return { outcome: existed ? 'updated' : 'created', changes };
}

/** Service directories under outdir that carry the marker but are not in the plan. */
export function orphans(outdir: string, planned: Planned[]): string[] {
  const names = new Set(planned.map((p) => p.name));
  let list: string[] = [];
  try { list = fs.readdirSync(outdir); } catch { return []; }
  return list.filter((n) => !names.has(n) && fs.existsSync(path.join(outdir, n, MARKER))).sort();
}
