// tcpexplain: for a client, which entry of a tcprules file or cdb, or of an
// ipsvd peers directory or cdb, decides; the keys tried on the way, in the
// server's order; and what the decision does. The answer is the server's own:
// the rule source is opened as tcpserver -x and tcpsvd -i/-x open it
// (src/decide) and asked through the same decide(), with a tracer.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Decision, HostResolver, Peer, TraceEvent } from '../decide/decision';
import { ALLOW_DEFAULT } from '../decide/decision';
import { openRuleSource, type SourceSpec } from '../decide/index';
import { PerHost } from '../account/perhost';
import { CdbError } from '../cdb/reader';
import { compileRules, readLines, RulesError } from '../rules/compile';
import { LineCompiler } from '../rules/parse';
import { ruleLines } from '../rules/check';
import { tcp6OnlyNote, tcp6OnlyRule } from '../rules/keys';
import { unescapeMsg } from '../instruct/parse';
import { fromBytes } from '../lib/bytes';
import { errstr } from '../lib/errstr';
import { getopt, orUsage, UsageError } from '../lib/getopt';
import { clientIpText } from '../lib/ip';
import { badDescriptor, closedAtStart } from '../lib/stdfd';
import { writeLine } from '../lib/strerr';
import { writeAll } from '../lib/writeall';

const PROG = 'tcpexplain';
const USAGE = {
  prog: PROG,
  text: `${PROG}: usage: ${PROG} [--json] [--host name | --dns [--paranoid]] [--info text] [--per-host n[:msg]]` +
    ' [--allow-missing] --rules file | --rules-cdb cdb | --peers dir | --peers-cdb cdb ip ...',
  code: 100,
};

const LONGS = {
  json: false, host: true, dns: false, paranoid: false, info: true, 'per-host': true, 'allow-missing': false,
  rules: true, 'rules-cdb': true, peers: true, 'peers-cdb': true,
} as const;

type Kind = 'rules' | 'rules-cdb' | 'peers-dir' | 'peers-cdb';

interface Options {
  kind: Kind;
  path: string;
  json: boolean;
  host?: string;
  dns: boolean;
  paranoid: boolean;
  info?: string;
  perHost?: { limit: number; msg?: string };
  allowMissing: boolean;
  ips: string[];
}

/** A failure that ends the command: its message (without "tcpexplain: fatal: ") and exit code. */
export class ExplainError extends Error {
  constructor(readonly text: string, readonly code: 100 | 111) {
    super(text);
  }
}

const KIND_OF: Record<string, Kind> = { rules: 'rules', 'rules-cdb': 'rules-cdb', peers: 'peers-dir', 'peers-cdb': 'peers-cdb' };

export function parseArgs(argv: string[]): Options {
  const o: Partial<Options> & { json: boolean; dns: boolean; paranoid: boolean; allowMissing: boolean } =
    { json: false, dns: false, paranoid: false, allowMissing: false };
  const ips = getopt(argv, '', (name, value) => {
    switch (name) {
      case 'json': o.json = true; break;
      case 'dns': o.dns = true; break;
      case 'paranoid': o.paranoid = true; break;
      case 'allow-missing': o.allowMissing = true; break;
      case 'host': o.host = value!; break;
      case 'info': o.info = value!; break;
      case 'per-host': {
        const m = /^([0-9]+)(?::([\s\S]*))?$/.exec(value!);
        if (!m) throw new UsageError(`${PROG}: --per-host wants n or n:message, not ${value}`);
        o.perHost = m[2] === undefined ? { limit: Number(m[1]) } : { limit: Number(m[1]), msg: unescapeMsg(m[2]) };
        break;
      }
      default:
        if (o.kind !== undefined) throw new UsageError(`${PROG}: one rule source only`);
        o.kind = KIND_OF[name];
        o.path = value!;
    }
  }, LONGS);
  if (o.kind === undefined) throw new UsageError(`${PROG}: no rule source given`);
  if (ips.length === 0) throw new UsageError();
  if (o.host !== undefined && o.dns) throw new UsageError(`${PROG}: --host and --dns exclude each other`);
  if (o.paranoid && !o.dns) throw new UsageError(`${PROG}: --paranoid needs --dns`);
  if (o.allowMissing && o.kind !== 'rules-cdb') throw new UsageError(`${PROG}: --allow-missing is for --rules-cdb (tcpserver -X)`);
  if (o.perHost && (o.kind === 'rules' || o.kind === 'rules-cdb')) {
    throw new UsageError(`${PROG}: --per-host is for --peers and --peers-cdb (tcpsvd -C)`);
  }
  return { ...o, ips } as Options;
}


export interface Step {
  step: string;
  key: string;
  result: 'found' | 'absent' | 'skipped';
  entry?: 'deny' | 'exec' | 'instructions';
}

export interface Report {
  client: { ip: string; host: string | null; hostFrom: 'given' | 'dns' | null; info: string | null };
  source: { kind: Kind; path: string };
  lookup: Step[];
  /** The rule or entry that decided (a forward entry after a ','), or null for the default. */
  matched: string | null;
  /** tcprules text: the line of the rule that decided. */
  line: { n: number; text: string } | null;
  /** The rule's instructions (tcprulescheck's words), or each line of the entries read and what it did. */
  instructions: Array<{ entry: string; line: number | null; text: string; did: string }>;
  forward: { name: string; found: boolean } | null;
  action: 'allow' | 'deny' | 'exec';
  set: Array<[string, string]>;
  unset: string[];
  perHost: { limit: number; message: string | null; from: 'entry' | 'server' } | null;
  command: string | null;
  notes: string[];
  warnings: string[];
}

interface Ctx {
  o: Options;
  /** The cdb the server would read: the given one, or the rules text compiled aside. */
  cdbPath: string;
  warnings: string[];
  lineCache: Map<string, { n: number; text: string } | null>;
}

export async function explainAll(o: Options, out: (report: Report) => void): Promise<void> {
  const ips = o.ips.map((s) => {
    const ip = clientIpText(s);
    if (ip === undefined) throw new ExplainError(`not an IP address: ${s}`, 100);
    return ip;
  });
  let tmp: string | undefined;
  try {
    let cdbPath = o.path;
    if (o.kind === 'rules') {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpexplain-'));
      cdbPath = path.join(tmp, 'rules.cdb');
      compileText(o.path, cdbPath);
    }
    const ctx: Ctx = { o, cdbPath, warnings: [], lineCache: new Map() };
    const spec: SourceSpec = {
      kind: o.kind === 'rules' ? 'rules-cdb' : o.kind,
      path: cdbPath,
      warn: (m) => { ctx.warnings.push(m); },
    };
    const source = openRuleSource(spec);
    const identify = o.dns ? await dnsIdentifier(o.paranoid) : undefined;
    for (const ip of ips) out(await explainOne(ctx, source, ip, identify));
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// tcprules' own compiler, into a file aside: what the server would read had
// the administrator run tcprules on this text.
function compileText(file: string, cdbPath: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ExplainError(`unable to read ${file}: ${errstr(e)}`, 111);
  }
  try {
    compileRules(fd, cdbPath, `${cdbPath}.tmp`);
  } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    const why = e.text.toString('latin1').replace(/^tcprules: (fatal|syntax): /, '');
    throw new ExplainError(`unable to compile ${file}: ${why}`, e.exitCode);
  } finally {
    fs.closeSync(fd);
  }
}

// The first line of the rules text that wrote key (the record cdb_find
// answers with), by the same line compiler.
function ruleLine(file: string, key: string): { n: number; text: string } | null {
  const want = Buffer.from(key, 'latin1');
  let lineno = 0;
  let text = '';
  let hit: { n: number; text: string } | null = null;
  const stop = new Error('found');
  const lc = new LineCompiler({
    addRecord(k, ks, ke) {
      if (hit === null && want.equals(k.subarray(ks, ke))) {
        hit = { n: lineno, text };
        throw stop;
      }
    },
  });
  const fd = fs.openSync(file, 'r');
  try {
    readLines(fd, (buf, start, end, n) => {
      lineno = n;
      text = fromBytes(buf.toString('latin1', start, end));
      lc.line(buf, start, end);
    });
  } catch (e) {
    if (e !== stop) throw e;
  } finally {
    fs.closeSync(fd);
  }
  return hit;
}

interface DnsIdentify {
  ptr(ip: string): Promise<{ host?: string; note?: string }>;
  addrs: HostResolver;
}

// The servers' identifier (src/identify): PTR through $DNSCACHEIP, -p's
// forward confirmation, and the A/AAAA lookups of ipsvd's =host lines.
async function dnsIdentifier(paranoid: boolean): Promise<DnsIdentify> {
  const { createIdentifier } = await import('../identify/identify');
  let failure: string | undefined;
  const id = createIdentifier({ onError: (what, _ip, e) => { failure = `${what}: ${errstr(e)}`; } });
  return {
    async ptr(ip) {
      failure = undefined;
      const subject = {
        v6: ip.includes(':'), remoteIp: ip, remotePort: 0, localIp: ip, localPort: 0,
        localHost: '', remoteHost: undefined as string | undefined, remoteInfo: undefined,
      };
      await id.identify(subject, { remoteHost: true, paranoid, localName: '' });
      return { host: subject.remoteHost, note: failure };
    },
    addrs: (name) => id.addrs(name),
  };
}

const NOT_LOOKED_UP = 'not looked up without --dns';

class NotLookedUp extends Error {
  constructor() {
    super(NOT_LOOKED_UP);
  }
}

async function explainOne(ctx: Ctx, source: ReturnType<typeof openRuleSource>, ip: string,
                          dns: DnsIdentify | undefined): Promise<Report> {
  const o = ctx.o;
  const notes: string[] = [];
  let host: string | undefined;
  let hostFrom: Report['client']['hostFrom'] = null;
  if (o.host !== undefined) {
    // The servers only ever see names as DNS gives them: lower case.
    host = o.host.toLowerCase();
    hostFrom = 'given';
  } else if (dns) {
    const r = await dns.ptr(ip);
    host = r.host;
    hostFrom = host === undefined ? null : 'dns';
    if (r.note) notes.push(`${r.note}: the server goes on without a name`);
    else if (host === undefined) notes.push(o.paranoid ? 'no name for the client that points back to it' : 'no name for the client');
  }
  const info = o.kind === 'rules' || o.kind === 'rules-cdb' ? o.info : undefined;
  if (o.info !== undefined && info === undefined) notes.push('--info: ipsvd does not look entries up by ident; ignored');
  const peer: Peer = { ip, host, info };
  let undone = false;
  const resolve: HostResolver = dns ? dns.addrs : () => {
    undone = true;
    return Promise.reject(new NotLookedUp());
  };
  const events: TraceEvent[] = [];
  ctx.warnings.length = 0;
  let d: Decision;
  try {
    d = await source.decide(peer, resolve, (e) => { events.push(e); });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (o.allowMissing && err.code === 'ENOENT' && events.length === 0) {
      d = ALLOW_DEFAULT;
      notes.push(`${o.path} does not exist: tcpserver -X allows every client`);
    } else {
      const what = typeof err.path === 'string' ? err.path : o.kind === 'rules' ? o.path : ctx.cdbPath;
      const why = e instanceof CdbError ? 'protocol error' : errstr(e);
      throw new ExplainError(`unable to read ${what}: ${why} (the server drops such a client)`, 111);
    }
  }
  if (undone) notes.push('an =host line needs DNS, not asked for: run again with --dns for the server\'s answer');
  return report(ctx, peer, hostFrom, d, events, notes);
}

function report(ctx: Ctx, peer: Peer, hostFrom: Report['client']['hostFrom'], d: Decision & { inst?: string },
                events: TraceEvent[], notes: string[]): Report {
  const o = ctx.o;
  const rules = o.kind === 'rules' || o.kind === 'rules-cdb';
  const lookup: Step[] = [];
  const instructions: Report['instructions'] = [];
  let forward: Report['forward'] = null;
  let line: Report['line'] = null;
  let found: TraceEvent | undefined;
  for (const e of events) {
    if (e.kind === 'candidate') {
      // tcprules keys are byte strings; ipsvd's names are text already.
      const key = rules ? fromBytes(e.name) : e.key;
      lookup.push({ step: e.step, key, result: e.result, ...(e.entry ? { entry: e.entry } : {}) });
      if (e.result !== 'found') continue;
      found = e;
      if (rules && e.value) {
        for (const l of ruleLines(e.value)) instructions.push({ entry: key, line: null, text: '', did: fromBytes(l.toString('latin1')) });
        if (o.kind === 'rules') {
          if (!ctx.lineCache.has(e.key)) ctx.lineCache.set(e.key, ruleLine(o.path, e.key));
          line = ctx.lineCache.get(e.key)!;
        }
      }
    } else if (e.kind === 'line') {
      instructions.push({ entry: e.label, line: e.n, text: e.text, did: e.did });
    } else {
      forward = { name: e.name, found: e.result === 'found' };
    }
  }
  const matched = d.matched ?? null;
  if (rules && matched !== null && tcp6OnlyRule(matched)) notes.push(tcp6OnlyNote(matched));
  const action = d.action === 'deny' ? 'deny' : d.shell !== undefined ? 'exec' : 'allow';
  if (!rules && found?.kind === 'candidate' && found.entry === 'instructions' && d.action === 'deny' && forward === null) {
    notes.push('the entry has =host lines and none of them matched: deny');
  }
  let perHost: Report['perHost'] = null;
  if (!rules && d.action === 'allow') {
    if (o.perHost) {
      // The engine's own reading of -C against the entry's C.
      const ph = new PerHost({ limit: o.perHost.limit, msg: o.perHost.msg });
      const c = { remoteIp: peer.ip, phKey: '', phcc: 0, blcc: 0 };
      ph.admit(c);
      const v = ph.check(c, d);
      if (v && 'limit' in v) perHost = { limit: v.limit, message: v.msg ?? null, from: d.perHost ? 'entry' : 'server' };
    } else if (d.perHost && d.perHost.limit > 0) {
      notes.push(`the entry's per-host limit ${d.perHost.limit} counts only when tcpsvd runs with -C (--per-host)`);
    }
  }
  return {
    client: { ip: peer.ip, host: peer.host ?? null, hostFrom, info: peer.info ?? null },
    source: { kind: o.kind, path: o.path },
    lookup,
    matched,
    line,
    instructions,
    forward,
    action,
    set: action === 'deny' ? [] : d.set.map(([k, v]) => [fromBytes(k), fromBytes(v)]),
    unset: action === 'deny' ? [] : d.unset.map(fromBytes),
    perHost,
    command: d.shell ?? null,
    notes,
    // An =host line not looked up has its note already.
    warnings: ctx.warnings.filter((w) => !w.endsWith(`: ${NOT_LOOKED_UP}`)),
  };
}

// ---- text ------------------------------------------------------------------

/** Control characters escaped, so a value cannot break the layout. */
function shown(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t'
    : '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

const SOURCE_WORDS: Record<Kind, string> = {
  rules: 'tcprules text, compiled as tcprules compiles it, for tcpserver -x',
  'rules-cdb': 'tcprules cdb, as tcpserver -x reads it',
  'peers-dir': 'peers directory, as tcpsvd -i reads it',
  'peers-cdb': 'ipsvd-cdb output, as tcpsvd -x reads it',
};

export function text(r: Report): string {
  const out: string[] = [];
  const c = r.client;
  let who = `client ${c.ip}`;
  if (c.host !== null) who += `, host ${shown(c.host)} (${c.hostFrom === 'dns' ? 'from DNS' : 'as given'})`;
  if (c.info !== null) who += `, info ${shown(c.info)}`;
  out.push(who);
  out.push(`source: ${shown(r.source.path)} (${SOURCE_WORDS[r.source.kind]})`);
  out.push('lookup, in the server\'s order:');
  const width = Math.min(40, Math.max(0, ...r.lookup.map((s) => s.key.length)) + 2);
  for (let i = 0; i < r.lookup.length; i++) {
    const s = r.lookup[i];
    if (s.result === 'skipped') {
      // A run of CIDR lengths the file has no rule of: one line.
      let j = i;
      while (j + 1 < r.lookup.length && r.lookup[j + 1].result === 'skipped') j++;
      const span = j > i ? `${s.key} .. ${r.lookup[j].key}` : s.key;
      out.push(`  ${s.step.padEnd(11)} ${span}: not probed, no rule of ${j > i ? 'these lengths' : 'this length'}`);
      i = j;
      continue;
    }
    const what = s.result === 'absent' ? 'absent' : s.entry ? `found: ${s.entry}` : 'found';
    out.push(`  ${s.step.padEnd(11)} ${shown(s.key === '' ? '(empty key)' : s.key).padEnd(width)} ${what}`);
  }
  if (r.matched === null) {
    out.push(`decided by: nothing matched: the default, allow`);
  } else if (r.source.kind === 'rules' || r.source.kind === 'rules-cdb') {
    let by = `decided by: rule ${r.matched === '' ? '(empty key)' : shown(r.matched)}`;
    if (r.line) by += ` (${shown(r.source.path)} line ${r.line.n}: ${shown(r.line.text)})`;
    out.push(by);
    for (const i of r.instructions) out.push(`  ${shown(i.did)}`);
  } else {
    out.push(`decided by: entry ${shown(r.matched)}`);
    for (const i of r.instructions) {
      out.push(`  ${shown(i.entry)} line ${i.line}: ${shown(i.text)}`);
      out.push(`    ${shown(i.did)}`);
    }
    if (r.forward && !r.forward.found) out.push(`  forward entry ${shown(r.forward.name)} not found: deny`);
  }
  out.push(`action: ${r.action}`);
  if (r.action !== 'deny') {
    out.push(`environment: ${r.set.length === 0 ? 'nothing set' : r.set.map(([k, v]) => `${shown(k)}=${shown(v)}`).join(' ')}`);
    if (r.unset.length !== 0) out.push(`unset: ${r.unset.map(shown).join(' ')}`);
    if (r.perHost) {
      out.push(`per-host limit: ${r.perHost.limit} (${r.perHost.from === 'entry' ? 'the entry\'s' : 'the server\'s -C'}), ` +
        `over it: deny${r.perHost.message === null ? '' : `, sending "${shown(r.perHost.message)}"`}`);
    }
    out.push(`command: ${r.command === null ? 'the server\'s prog' : `/bin/sh -c ${shown(r.command)}`}`);
  }
  for (const n of r.notes) out.push(`note: ${shown(n)}`);
  for (const w of r.warnings) out.push(`warning: ${shown(w)}`);
  return out.join('\n') + '\n';
}

// Each report as soon as it is made, whole: an error with a later client
// leaves the earlier ones printed.
function emit(s: string): void {
  try {
    writeAll(1, Buffer.from(s));
  } catch (e) {
    throw new ExplainError(`unable to write output: ${errstr(e)}`, 111);
  }
}

export function main(argv: string[]): void {
  const o = orUsage(USAGE, () => parseArgs(argv));
  // Node puts /dev/null in place of a closed stdout: the answer would vanish.
  if (closedAtStart(1)) {
    writeLine(`${PROG}: fatal: unable to write output: ${errstr(badDescriptor())}`);
    process.exit(111);
  }
  let first = true;
  explainAll(o, (r) => {
    if (o.json) {
      emit(JSON.stringify(r) + '\n');
    } else {
      emit((first ? '' : '\n') + text(r));
      first = false;
    }
  }).then(() => {
    process.exitCode = 0;
  }, (e) => {
    // A reader that went away (| head) is no news.
    if (!/: broken pipe$/.test(e instanceof ExplainError ? e.text : '')) {
      writeLine(`${PROG}: fatal: ${e instanceof ExplainError ? e.text : errstr(e)}`);
    }
    process.exitCode = e instanceof ExplainError ? e.code : 111;
  });
}
