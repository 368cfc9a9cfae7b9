// Live status of a running server (--status=FILE, --metrics=IP:PORT): its
// counters, and the two ways out of the process: a JSON file rewritten
// atomically (written to a new file of an unpredictable name beside it, then
// renamed over it) at most every interval ms,
// read by tcpstatus; and a Prometheus text endpoint served by the same
// process, a few clients at a time, each answered once and closed.
// Nothing here runs per connection but the counter increments and one
// check of a pending timer.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExitStatus } from '../launch/launch';
import type { PerHost } from './perhost';
import type { RateLimiter } from './rate';

export class Stats {
  /** Connections accepted (every one the listener handed over). */
  accepted = 0;
  /** Denied by the rules (tcpserver's deny, ipsvd's deny). */
  denied = 0;
  /** Refused over the per-host (or per-prefix) limit. */
  refusedLimit = 0;
  /** Refused over the per-source rate. */
  refusedRate = 0;
  /** Dropped before a verdict (identify, unreadable rules, banner, prog not run). */
  dropped = 0;
  /** Times the -c limit was reached: clients then wait in the backlog. */
  deferred = 0;
  /** Children's ends by status: "0", "111", "signal 9". */
  readonly exited = new Map<string, number>();

  /** Called after every change (the status file's writer, when there is one). */
  onChange: (() => void) | undefined;

  changed(): void {
    if (this.onChange) this.onChange();
  }

  exit(st: ExitStatus): void {
    const k = st.code !== null ? String(st.code) : `signal ${st.signal ?? 0}`;
    this.exited.set(k, (this.exited.get(k) ?? 0) + 1);
  }
}

/** What the status file holds (format version 1): tcpstatus reads it. */
export interface StatusDoc {
  version: 1;
  prog: string;
  pid: number;
  /** Start and last write, ms since the epoch. */
  started: number;
  written: number;
  listening: string;
  /** --metrics: the address it serves on (the port bound, when 0 was asked for). */
  metrics?: string;
  /** -c, and connections live now. */
  max: number;
  active: number;
  accepted: number;
  denied: number;
  refused_limit: number;
  refused_rate: number;
  dropped: number;
  deferred: number;
  exited: Record<string, number>;
  /** With a per-host limit: what is counted ("host", or "prefix /24 /64"), how many keys, the largest counts. */
  per_host?: { unit: string; keys: number; top: Array<[string, number]> };
  /** tcpserver --per-host: the MAXCONNC blocks (/24, /64). */
  per_block?: { keys: number; top: Array<[string, number]> };
  /** With --prefix: the addresses themselves, as per_host would be without it. */
  per_address?: { keys: number; top: Array<[string, number]> };
  /** With --rate: the rate, the table's size and use. */
  rate?: { count: number; seconds: number; slots: number; tracked: number; evicted: number };
}

/** How many of the largest per-host counts the status shows. */
export const TOP = 20;

export interface StatusSource {
  prog: string;
  listening: string;
  max: number;
  active(): number;
  stats: Stats;
  perHost?: PerHost;
  perHostUnit?: string;
  rate?: RateLimiter;
  started: number;
  metrics?: string;
}

export function snapshot(s: StatusSource, now = Date.now()): StatusDoc {
  const st = s.stats;
  const doc: StatusDoc = {
    version: 1, prog: s.prog, pid: process.pid, started: s.started, written: now,
    listening: s.listening, max: s.max, active: s.active(),
    accepted: st.accepted, denied: st.denied, refused_limit: st.refusedLimit, refused_rate: st.refusedRate,
    dropped: st.dropped, deferred: st.deferred, exited: Object.fromEntries(st.exited),
  };
  if (s.metrics !== undefined) doc.metrics = s.metrics;
  if (s.perHost) {
    doc.per_host = { unit: s.perHostUnit ?? 'host', keys: s.perHost.hosts, top: s.perHost.top(TOP) };
    const blocks = s.perHost.topBlocks(TOP);
    if (blocks) doc.per_block = blocks;
    const addrs = s.perHost.topAddresses(TOP);
    if (addrs) doc.per_address = addrs;
  }
  if (s.rate) {
    const r = s.rate;
    doc.rate = { count: r.count, seconds: r.perMs / 1000, slots: r.slots, tracked: r.tracked, evicted: r.evicted };
  }
  return doc;
}

const C = fs.constants;
/** A file made here and now, never one that was there: no FIFO, no symlink, no wait (libuv adds O_CLOEXEC). */
const NEW_FILE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK;

/**
 * The status file: written at start (a failure then is the caller's to
 * report, fatally), then at most every intervalMs after a change. A later
 * write failure is reported once (onError) and retried at the next change.
 */
export class StatusFile {
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() of the last write: the wall clock may step (a step back of a day kept the file stale that long). */
  private last = -Infinity;
  private failing = false;

  constructor(readonly path: string, private readonly intervalMs: number,
              private readonly render: () => StatusDoc,
              private readonly onError: (e: NodeJS.ErrnoException) => void) {}

  /**
   * Writes now; throws on failure. The status is written after -u, so the
   * served program's user may own the directory: the temporary file is a new
   * one of a name nobody can guess (a FIFO or a symlink put in its place
   * beforehand is never opened, and the open never waits), and the rename
   * replaces whatever FILE is without following it.
   */
  write(): void {
    const tmp = path.join(path.dirname(this.path), `.${path.basename(this.path)}.${randomBytes(8).toString('hex')}`);
    const fd = fs.openSync(tmp, NEW_FILE, 0o644);
    try {
      try {
        fs.writeSync(fd, JSON.stringify(this.render()) + '\n');
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.path);
    } catch (e) {
      try { fs.unlinkSync(tmp); } catch { /* gone already */ }
      throw e;
    }
    this.last = performance.now();
  }

  /** Something changed: write once the interval since the last write has passed. */
  changed(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.last + this.intervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.write();
        this.failing = false;
      } catch (e) {
        if (!this.failing) this.onError(e as NodeJS.ErrnoException);
        this.failing = true;
      }
    }, wait);
    this.timer.unref();
  }
}

function metric(out: string[], name: string, type: 'counter' | 'gauge', help: string,
                samples: Array<[labels: string, value: number]>): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [l, v] of samples) out.push(`${name}${l} ${v}`);
}

/** Label value escaping of the Prometheus text format. */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The Prometheus text exposition (format 0.0.4) of a status. */
export function metricsText(d: StatusDoc): string {
  const out: string[] = [];
  const p = 'ucspi_';
  metric(out, p + 'connections', 'gauge', 'Connections live now.', [['', d.active]]);
  metric(out, p + 'connections_max', 'gauge', 'The -c limit.', [['', d.max]]);
  metric(out, p + 'accepted_total', 'counter', 'Connections accepted.', [['', d.accepted]]);
  metric(out, p + 'refused_total', 'counter', 'Connections that got no program, by reason.', [
    ['{reason="rules"}', d.denied], ['{reason="limit"}', d.refused_limit],
    ['{reason="rate"}', d.refused_rate], ['{reason="dropped"}', d.dropped]]);
  metric(out, p + 'deferred_total', 'counter', 'Times the -c limit was reached.', [['', d.deferred]]);
  metric(out, p + 'exited_total', 'counter', 'Connections ended, by exit status.',
    Object.entries(d.exited).map(([k, v]) => [`{status="${label(k)}"}`, v]));
  if (d.per_host) {
    metric(out, p + 'per_host_keys', 'gauge', `Hosts or prefixes (${label(d.per_host.unit)}) with live connections.`,
      [['', d.per_host.keys]]);
    metric(out, p + 'per_host_connections', 'gauge', 'Live connections of the busiest hosts or prefixes.',
      d.per_host.top.map(([k, v]) => [`{key="${label(k)}"}`, v]));
  }
  if (d.per_address) {
    metric(out, p + 'per_address_connections', 'gauge', 'Live connections of the busiest addresses (with --prefix).',
      d.per_address.top.map(([k, v]) => [`{key="${label(k)}"}`, v]));
  }
  if (d.rate) {
    metric(out, p + 'rate_tracked', 'gauge', 'Sources in the rate table.', [['', d.rate.tracked]]);
    metric(out, p + 'rate_slots', 'gauge', 'Size of the rate table.', [['', d.rate.slots]]);
    metric(out, p + 'rate_evicted_total', 'counter', 'Rate entries replaced before their bucket was full.', [['', d.rate.evicted]]);
  }
  return out.join('\n') + '\n';
}

/** Clients of the metrics endpoint served at once, and waiting their turn; beyond both, closed at once. */
const METRICS_SLOTS = 16;
const METRICS_QUEUE = 64;
/** From its accept, a client has this long for its request and the answer, whatever it sends meanwhile. */
const METRICS_DEADLINE_MS = 2000;
/** A request must fit in this many bytes. */
const METRICS_REQUEST_MAX = 4096;

/**
 * The Prometheus endpoint on ip:port: one HTTP/1.0 answer per connection,
 * whatever the path, then close. Resolves once listening. A client that
 * trickles its request (or never reads the answer) loses its slot at its
 * deadline, so a few slow ones never lock the scraper out: it waits its turn
 * behind them, never longer than their deadlines.
 */
export function serveMetrics(ip: string, port: number, render: () => StatusDoc): Promise<net.Server> {
  let serving = 0;
  const waiting = new Set<net.Socket>();
  const next = () => {
    for (const s of waiting) {
      if (serving >= METRICS_SLOTS) return;
      waiting.delete(s);
      answer(s);
    }
  };
  const answer = (s: net.Socket) => {
    serving++;
    s.once('close', () => {
      serving--;
      next();
    });
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.length > METRICS_REQUEST_MAX) { s.destroy(); return; }
      if (!got.includes('\r\n\r\n') && !got.includes('\n\n')) return;
      s.removeAllListeners('data');
      const ok = /^(GET|HEAD) /.test(got);
      const body = ok ? metricsText(render()) : 'only GET\n';
      const head = `HTTP/1.0 ${ok ? '200 OK' : '405 Method Not Allowed'}\r\n` +
        `Content-Type: text/plain; version=0.0.4\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
      s.end(got.startsWith('HEAD ') ? head : head + body);
    });
    s.resume();
  };
  // Paused at accept: a client waiting its turn is read only once it has a slot.
  const server = net.createServer({ pauseOnConnect: true }, (s) => {
    s.on('error', () => s.destroy());
    if (serving + waiting.size >= METRICS_SLOTS + METRICS_QUEUE) { s.destroy(); return; }
    const deadline = setTimeout(() => s.destroy(), METRICS_DEADLINE_MS);
    s.once('close', () => {
      clearTimeout(deadline);
      waiting.delete(s);
    });
    if (serving < METRICS_SLOTS) answer(s);
    else waiting.add(s);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ip, port, backlog: 8 }, () => {
      server.removeListener('error', reject);
      server.unref();
      resolve(server);
    });
  });
}

/** --metrics's value: "IP:PORT" (IPv6 in brackets), or undefined. */
export function parseHostPort(v: string): { ip: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(v);
  if (!m) return undefined;
  const ip = m[1] ?? m[2];
  const port = Number(m[3]);
  if (net.isIP(ip) === 0 || port > 65535) return undefined;
  return { ip, port };
}
