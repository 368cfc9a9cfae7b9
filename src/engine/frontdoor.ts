// The front-door options tcpsvd and tcpserver share, none of which the
// originals have (long options, every one opt-in): --proxy=CIDR[,CIDR...]
// (repeatable) and --proxy-timeout=SECONDS for PROXY protocol headers
// (src/listen/proxy.ts), --socket-activation for a listening socket passed
// in (src/listen/activation.ts), and the limits and status options of
// src/admission/options.ts. Without them nothing here is loaded.
import type { LongOptions } from '../lib/getopt';
import { badLongValue } from '../lib/getopt';
import { LIMIT_DEFAULTS, LIMIT_LONGS, type LimitOptions, limitOption } from '../admission/options';
import type { Addon } from '../native';
import type { EngineConfig } from './engine';

export const FRONT_DOOR_LONGS: LongOptions = { 'proxy': true, 'proxy-timeout': true, 'socket-activation': false, ...LIMIT_LONGS };

/** --help's line for each long option, in FRONT_DOOR_LONGS' names (test/options-diff checks that none is left out). */
export const FRONT_DOOR_HELP: ReadonlyArray<readonly [string, string]> = [
  ['--proxy=CIDR[,CIDR...]', 'a client from these networks sends a PROXY protocol header first (repeatable)'],
  ['--proxy-timeout=SEC', 'seconds such a client has to send it (default 5)'],
  ['--socket-activation', 'serve the listening socket passed as fd 3 (systemd); host is -'],
  ['--prefix=N4[,N6]', 'count the per-host limit and --rate per IPv4 /N4 and IPv6 /N6 network'],
  ['--prefix4=N', 'the same, IPv4 only (0-32)'],
  ['--prefix6=N', 'the same, IPv6 only (0-128)'],
  ['--rate=R/SECONDS[:msg]', 'at most R new connections per source in SECONDS; msg to the excess'],
  ['--rate-table=N', 'sources the rate table holds (4 to 16777216)'],
  ['--status=FILE', 'write counters and limits to FILE (read it with tcpstatus)'],
  ['--status-interval=MS', 'at most one status write per MS milliseconds (default 1000)'],
  ['--metrics=IP:PORT', 'serve the counters as Prometheus text on IP:PORT'],
  ['--log-json', 'log lines as JSON, one object a line'],
];

/**
 * --help: the original's usage, the long options (ours), whether the addon
 * is in use; rows: the command's own long options before the shared ones.
 */
export function helpText(usage: string, rows: ReadonlyArray<readonly [string, string]>): string {
  const all = [...rows, ...FRONT_DOOR_HELP, ['--help', 'this text']];
  const width = Math.max(...all.map(([o]) => o.length));
  const { describeAddon } = require('./backend') as typeof import('./backend');
  return [usage.trimEnd(), '', 'long options (additions, none of them the original\'s; a bad value exits 100):',
    ...all.map(([o, what]) => `  ${o.padEnd(width)}  ${what}`), '', describeAddon()].join('\n');
}

/** Seconds a trusted source has to send its header unless --proxy-timeout says otherwise. */
export const PROXY_TIMEOUT_DEFAULT = 5;

export interface FrontDoor extends LimitOptions {
  proxy: string[];
  proxyTimeout?: number;
  activation: boolean;
}

export const frontDoorDefaults = (): FrontDoor => ({ ...LIMIT_DEFAULTS, proxy: [], activation: false });

/**
 * One long option into fd; false for a name that is none of them. unescape:
 * the command's reading of a message (--rate's).
 */
export function frontDoorOption(prog: string, fd: FrontDoor, name: string, v: string | undefined,
                                unescape: (s: string) => string): boolean {
  switch (name) {
    case 'proxy': {
      // Checked here, one value at a time, so that a bad one is told as any other bad value.
      const { parseTrust } = require('../listen/proxy') as typeof import('../listen/proxy');
      const bad = parseTrust([v ?? '']);
      if (typeof bad === 'string') throw badLongValue(prog, name, v ?? '', `CIDR[,CIDR...] (${bad})`);
      fd.proxy.push(v ?? '');
      return true;
    }
    case 'proxy-timeout':
      if (!/^\d{1,9}$/.test(v ?? '') || Number(v) < 1) throw badLongValue(prog, name, v ?? '', 'seconds, at least 1');
      fd.proxyTimeout = Number(v);
      return true;
    case 'socket-activation': fd.activation = true; return true;
    default: return limitOption(prog, fd, name, v, unescape);
  }
}

/** The engine's PROXY stage for these options (undefined without --proxy), or fail(message). */
export function proxyConfig(fd: FrontDoor, addon: Addon | null, fail: (msg: string) => never): EngineConfig['proxy'] {
  if (fd.proxy.length === 0) {
    if (fd.proxyTimeout !== undefined) fail('--proxy-timeout without --proxy');
    return undefined;
  }
  const { parseTrust, PROXY_VARS } = require('../listen/proxy') as typeof import('../listen/proxy');
  const { createProxyStage } = require('../listen/proxywait') as typeof import('../listen/proxywait');
  const trust = parseTrust(fd.proxy);
  if (typeof trust === 'string') fail(`--proxy: ${trust}`);
  const timeoutMs = (fd.proxyTimeout ?? PROXY_TIMEOUT_DEFAULT) * 1000;
  return { stage: createProxyStage({ trust, timeoutMs }, addon), vars: PROXY_VARS };
}

/**
 * With --socket-activation: the passed socket's fd (LISTEN_* removed from
 * env), or fail(message); undefined without the option.
 */
export function activationFd(fd: FrontDoor, env: NodeJS.ProcessEnv, fail: (msg: string) => never): number | undefined {
  if (!fd.activation) return undefined;
  const { passedSocket } = require('../listen/activation') as typeof import('../listen/activation');
  const r = passedSocket(env, process.pid);
  if (typeof r === 'string') fail(`socket activation: ${r}`);
  return r;
}

/**
 * With socket activation the port argument is not bound: "-" and "0" take
 * the passed socket's port, any other must name that port.
 */
export function activationPortMismatch(given: string, port: number | undefined, bound: number): string | undefined {
  if (given === '-' || given === '0' || port === bound) return undefined;
  return `socket activation: port ${given} given, the passed socket listens on ${bound}`;
}
