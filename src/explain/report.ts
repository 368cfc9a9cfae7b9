// tcpexplain's answer for one client: which entry of a tcprules file or cdb,
// or of an ipsvd peers directory or cdb, decides; the keys tried on the way,
// in the server's order; and what the decision does. The answer is the
// server's own: the rule source is opened as tcpserver -x and tcpsvd -i/-x
// open it (src/decide) and asked through the same decide(), with a tracer.
// The words a person reads are text.ts's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Decision, HostResolver, Peer, TraceEvent } from '../decide/decision';
import { ALLOW_DEFAULT } from '../decide/decision';
import { openRuleSource, type SourceSpec } from '../decide/index';
import { PerHost } from '../admission/perhost';
import { CdbError } from '../cdb/reader';
import { compileRules, readLines, RulesError } from '../rules/compile';
import { LineCompiler } from '../rules/parse';
import { ruleLines } from '../rules/check';
import { tcp6OnlyNote, tcp6OnlyRule } from '../rules/keys';
import { fromBytes } from '../lib/bytes';
import { errstr } from '../lib/errstr';
import { clientIpText } from '../lib/ip';

export type Kind = 'rules' | 'rules-cdb' | 'peers-dir' | 'peers-cdb';

/** What to explain: the rule source as a server opens it, and the clients. */
export interface ExplainOptions {
  kind: Kind;
  path: string;
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
  o: ExplainOptions;
  /** The cdb the server would read: the given one, or the rules text compiled aside. */
  cdbPath: string;
  warnings: string[];
  lineCache: Map<string, { n: number; text: string } | null>;
}

export async function explainAll(o: ExplainOptions, out: (report: Report) => void): Promise<void> {
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
