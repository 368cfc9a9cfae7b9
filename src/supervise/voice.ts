// The diagnostic lines of a supervisor, in the words of the original it stands
// in for: daemontools' supervise ("supervise: fatal: ...", the directory named
// in each line) or runit's runsv ("runsv DIR: fatal: ...", paths relative to
// DIR, whose log service's files are log/...).
import { errstr } from '../lib/errstr';

export interface Voice {
  mkdirFailed(e: unknown): string;
  lockFailed(e: unknown): string;
  setupFailed(e: unknown): string;
  controlReadFailed(e: unknown): string;
  startFailed(prog: string, e: unknown): string;
  forkFailed(seconds: number, e: unknown): string;
  writeFailed(file: string, e: unknown): string;
  renameFailed(file: string, e: unknown): string;
  readlinkFailed(e: unknown): string;
  /** A control/<letter> script could not be run. */
  customFailed(what: string, e: unknown): string;
  warning(m: string): string;
  /** A policy file (policy.ts) of the directory is ignored, and why. */
  badFile(file: string, why: string): string;
  /** run ended once more than respawn-max allows: left down. */
  stayDown(restarts: number, max: number, periodMs: number | null): string;
}

/** "run ended again after 3 restarts within 60 seconds (respawn-max 3)": the body of stayDown, and svstat --long's. */
export function tooMany(restarts: number, max: number, periodMs: number | null): string {
  const within = periodMs === null ? ' since last asked up' : ` within ${periodMs / 1000} seconds`;
  return `run ended again after ${restarts} restarts${within} (respawn-max ${max})`;
}

/** daemontools' supervise; name is the directory as given (svscan: the entry, entry/log). */
export function supervise(name: () => string): Voice {
  const w = (m: string) => `supervise: warning: ${m}`;
  const f = (m: string) => `supervise: fatal: ${m}`;
  return {
    mkdirFailed: (e) => f(`unable to create ${name()}/supervise: ${errstr(e)}`),
    lockFailed: (e) => f(`unable to acquire ${name()}/supervise/lock: ${errstr(e)}`),
    setupFailed: (e) => f(`unable to set up ${name()}/supervise: ${errstr(e)}`),
    controlReadFailed: (e) => w(`unable to read ${name()}/supervise/control: ${errstr(e)}`),
    startFailed: (prog, e) => f(`unable to start ${name()}/${prog}: ${errstr(e)}`),
    forkFailed: (s, e) => w(`unable to fork for ${name()}, sleeping ${s} seconds: ${errstr(e)}`),
    writeFailed: (file, e) => w(`unable to write ${name()}/supervise/${file}: ${errstr(e)}`),
    renameFailed: (file, e) => w(`unable to rename ${name()}/supervise/${file}.new to ${file}: ${errstr(e)}`),
    readlinkFailed: (e) => f(`unable to readlink ${name()}/supervise: ${errstr(e)}`),
    customFailed: (what, e) => w(`${what}: ${errstr(e)}`),
    warning: w,
    badFile: (file, why) => w(`${name()}/${file}: ${why}: ignored`),
    stayDown: (n, max, period) => w(`${name()}: ${tooMany(n, max, period)}: left down until svc -u`),
  };
}

/** runit's runsv for DIR; log: the voice for DIR's log service. */
export function runsv(dir: string, log: boolean): Voice {
  const at = log ? 'log/' : '';
  const w = (m: string) => `runsv ${dir}: warning: ${m}`;
  const f = (m: string) => `runsv ${dir}: fatal: ${m}`;
  return {
    mkdirFailed: (e) => f(`unable to open ${at}supervise/lock: ${errstr(e)}`),
    lockFailed: (e) => f(`unable to lock ${at}supervise/lock: ${errstr(e)}`),
    setupFailed: (e) => f(`unable to open ${at}supervise/control: ${errstr(e)}`),
    controlReadFailed: (e) => w(`unable to read ${at}supervise/control: ${errstr(e)}`),
    startFailed: (prog, e) => f(`unable to start ${at}./${prog}: ${errstr(e)}`),
    forkFailed: (_s, e) => w(`unable to fork, sleeping: ${errstr(e)}`),
    writeFailed: (file, e) => w(`unable to open ${at}supervise/${file}: ${errstr(e)}`),
    renameFailed: (file, e) => w(`unable to rename ${file}.new to ${at}supervise/${file}: ${errstr(e)}`),
    readlinkFailed: (e) => f(`unable to readlink ./${at}supervise: ${errstr(e)}`),
    // "unable to run control/?" is the original's text, the question mark and all.
    customFailed: (what, e) => (what === 'run' ? f(`unable to run control/?: ${errstr(e)}`) : w(`${what}: ${errstr(e)}`)),
    warning: w,
    badFile: (file, why) => w(`${at}${file}: ${why}: ignored`),
    stayDown: (n, max, period) => w(`${at}${tooMany(n, max, period)}: left down until sv up`),
  };
}
