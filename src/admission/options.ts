// The long options tcpsvd and tcpserver share for limits and status (none of
// them the originals'; engine/frontdoor.ts joins them with the others): their reading, what they hand the engine, and the
// status file and metrics endpoint started once the server listens.
//   --prefix=N4[,N6]  --prefix4=N  --prefix6=N   count per network
//   --rate=R/SECONDS[:msg]                        per-source rate limit
//   --status=FILE  --status-interval=MS           status file (tcpstatus)
//   --metrics=IP:PORT                             Prometheus text endpoint
//   --log-json                                    JSON log lines
import type { EngineConfig } from '../engine/engine';
import { errstr } from '../lib/errstr';
import { type LongOptions, badLongValue } from '../lib/getopt';
import { type PrefixLengths, parsePrefixOption, prefixKeyer } from './prefix';
import { parseRateOption } from './rate';
import { Stats, StatusFile, type StatusSource, parseHostPort, serveMetrics, snapshot } from './status';
import type { PerHost } from './perhost';
import type { RateLimiter } from './rate';

export const LIMIT_LONGS: LongOptions = {
  prefix: true, prefix4: true, prefix6: true, rate: true, 'rate-table': true,
  status: true, 'status-interval': true, metrics: true, 'log-json': false,
};

export interface LimitOptions {
  prefix?: PrefixLengths;
  rate?: { count: number; seconds: number; msg?: string };
  /** --rate-table: slots in the rate table (rounded up to a power of two). */
  rateSlots?: number;
  status?: string;
  statusMs: number;
  metrics?: { ip: string; port: number };
  logJson: boolean;
}

export const LIMIT_DEFAULTS: LimitOptions = { statusMs: 1000, logJson: false };

/**
 * One of the long options above into f; false for a name that is none of
 * them. A bad value throws UsageError with a line naming the option, exit 100.
 */
export function limitOption(prog: string, f: LimitOptions, name: string, v = '',
                                unescape: (s: string) => string): boolean {
  const bad = (want: string): never => {
    throw badLongValue(prog, name, v, want);
  };
  switch (name) {
    case 'prefix': f.prefix = parsePrefixOption(v, f.prefix) ?? bad('N4[,N6], N4 0..32, N6 0..128'); return true;
    case 'prefix4': f.prefix = (/^\d{1,2}$/.test(v) ? parsePrefixOption(v, f.prefix) : undefined) ?? bad('0..32'); return true;
    case 'prefix6': f.prefix = (/^\d{1,3}$/.test(v) ? parsePrefixOption(',' + v, f.prefix) : undefined) ?? bad('0..128'); return true;
    case 'rate': {
      const r = parseRateOption(v) ?? bad('R/SECONDS[:message], R and SECONDS at least 1');
      f.rate = r.msg === undefined ? { count: r.count, seconds: r.seconds } : { ...r, msg: unescape(r.msg) };
      return true;
    }
    case 'rate-table':
      if (!/^\d{1,8}$/.test(v) || Number(v) < 4 || Number(v) > 1 << 24) bad('slots, 4 to 16777216');
      f.rateSlots = Number(v);
      return true;
    case 'status': if (v === '') bad('a file name'); f.status = v; return true;
    case 'status-interval':
      if (!/^\d{1,7}$/.test(v) || Number(v) < 10) bad('milliseconds, at least 10');
      f.statusMs = Number(v);
      return true;
    case 'metrics': f.metrics = parseHostPort(v) ?? bad('IP:PORT ([IPv6]:PORT)'); return true;
    case 'log-json': f.logJson = true; return true;
    default: return false;
  }
}

/** The engine's part of the options: keyer, rate, counters (each only when asked for). */
export function engineParts(f: LimitOptions): Pick<EngineConfig, 'keyer' | 'rate' | 'stats'> {
  const out: Pick<EngineConfig, 'keyer' | 'rate' | 'stats'> = {};
  if (f.prefix) out.keyer = prefixKeyer(f.prefix);
  if (f.rate) out.rate = { count: f.rate.count, perMs: f.rate.seconds * 1000, msg: f.rate.msg, slots: f.rateSlots };
  if (f.status !== undefined || f.metrics) out.stats = new Stats();
  return out;
}

/** How the status names what a per-host count counts. */
export function unitOf(f: LimitOptions): string {
  return f.prefix ? `prefix /${f.prefix.v4} /${f.prefix.v6}` : 'host';
}

/**
 * Once listening: the status file's first write and the metrics endpoint.
 * A failure here is fatal (exit 111, naming the file or address); a later
 * write failure is a warning, once, until a write succeeds again.
 */
export async function startStatus(f: LimitOptions, src: {
  prog: string; listening: string; max: number; stats?: Stats;
  engine: { active: number; perHost?: PerHost; rate?: RateLimiter };
  fatal(msg: string): never; warn(what: string, e: NodeJS.ErrnoException): void;
}): Promise<void> {
  if (!src.stats) return;
  const s: StatusSource = {
    prog: src.prog, listening: src.listening, max: src.max, active: () => src.engine.active,
    stats: src.stats, perHost: src.engine.perHost, perHostUnit: unitOf(f), rate: src.engine.rate,
    started: Date.now(),
  };
  const render = () => snapshot(s);
  if (f.metrics) {
    const m = f.metrics;
    try {
      const addr = (await serveMetrics(m.ip, m.port, render)).address() as import('node:net').AddressInfo;
      s.metrics = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
    } catch (e) {
      src.fatal(`unable to bind metrics socket: ${m.ip}:${m.port}: ${errstr(e)}`);
    }
  }
  if (f.status !== undefined) {
    const file = new StatusFile(f.status, f.statusMs, render,
      (e) => src.warn(`unable to write status file: ${f.status}`, e));
    try {
      file.write();
    } catch (e) {
      src.fatal(`unable to write status file: ${f.status}: ${errstr(e)}`);
    }
    src.stats.onChange = () => file.changed();
  }
}
