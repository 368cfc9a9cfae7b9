// inetd: every service of an inetd.conf in one process, as Debian's
// openbsd-inetd serves them (src/inetd/).
import { spawn } from 'node:child_process';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { BadOption, getopt } from '../lib/getopt';
import { writeLine } from '../lib/strerr';
import { parseConf, TOOMANY } from '../inetd/conf';
import { programEnv } from '../inetd/environ';
import { createLog, type InetdLog } from '../inetd/log';
import { readConfText } from '../inetd/source';
import { Table } from '../inetd/table';
import { strerror } from '../lib/errstr';
import { resolveListenHost } from '../listen/resolve';
import { closeInherited } from '../launch/spawn';
import { keepIgnored } from '../lib/ignored';
import { chooseBackend } from '../engine/backend';

const USAGE = 'usage: inetd [-dEil] [-q len] [-R rate] [configuration_file]';
const CONFIG = '/etc/inetd.conf';
const PIDFILE = '/run/inetd.pid';
/** Set in the copy that runs in the background (without -d or -i): it is the daemon. */
const DAEMON_MARK = 'UCSPI_INETD_DAEMON';

export interface InetdOptions {
  debug: boolean;
  keepEnv: boolean;
  noDaemon: boolean;
  backlog: number;
  toomany: number;
  badRate?: string;
  config?: string;
  pidfile: string;
}

/** Pure: argv → options; BadOption, or a message string for exit 1. */
export function parseArgs(argv: string[], uid: number): InetdOptions | string {
  const o: InetdOptions = { debug: false, keepEnv: false, noDaemon: false, backlog: 128, toomany: TOOMANY, pidfile: PIDFILE };
  let libwrap = false;
  const rest = getopt(argv, 'dEilq:R:', (ch, v = '') => {
    switch (ch) {
      case 'd': o.debug = true; break;
      case 'E': o.keepEnv = true; break;
      case 'i': o.noDaemon = true; break;
      case 'l': libwrap = true; break;
      case 'q': o.backlog = Math.max(Number.parseInt(v, 10) || 0, 0); break;
      case 'R': {
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (n >= 1) o.toomany = n;
        else o.badRate = v;
        break;
      }
      case 'pidfile': o.pidfile = v; break;
    }
  }, { pidfile: true });
  if (libwrap) return 'libwrap support not enabled';
  if (uid !== 0 && rest.length === 0) return 'non-root must specify a config file';
  if (rest.length > 1) return 'more than one argument specified';
  o.config = rest[0] ?? CONFIG;
  return o;
}

/** Whether the kernel has IPv6 (openbsd-inetd probes with socket(2) per line). */
function ipv6Works(): boolean {
  return existsSync('/proc/net/if_inet6');
}

/**
 * The file's entries. Host names in it are looked up first (IPv4, through
 * $DNSCACHEIP as tcpsvd looks up its host, never the system resolver); a name
 * with no address is reported on its line, as openbsd-inetd reports
 * getaddrinfo's failure.
 */
async function readConfig(file: string, o: InetdOptions, log: InetdLog, ipv6: boolean, atStart: boolean) {
  const read = readConfText(file);
  if ('error' in read) {
    log.syslog('err', read.error);
    // A file that is not there: exit, as openbsd-inetd. One that would have blocked it, or is
    // too big to be an inetd.conf: the services stay as they are (at start there are none).
    if (read.fatal || atStart) process.exit(1);
    return undefined;
  }
  if (read.note) log.syslog('err', read.note);
  const text = read.text;
  const names = new Set<string>();
  parseConf(text, file, { toomany: o.toomany, ipv6, resolve: (host, v6) => { if (!v6) names.add(host); return undefined; } });
  const found = new Map<string, string>();
  for (const name of names) {
    try {
      found.set(name, await resolveListenHost(name, { asGivenFirst: true }));
    } catch {
      // reported below, on its line
    }
  }
  const { entries, messages } = parseConf(text, file, { toomany: o.toomany, ipv6, resolve: (host, v6) => (v6 ? undefined : found.get(host)) });
  for (const m of messages) log.syslog(m.level, `${m.file}:${m.line}: ${m.text}`);
  return entries;
}

export async function main(argv: string[]): Promise<void> {
  const uid = process.getuid?.() ?? 0;
  let o: InetdOptions | string;
  try {
    o = parseArgs(argv, uid);
  } catch (e) {
    if (!(e instanceof BadOption)) throw e;
    const letter = e.letter.replace(/^-/, '');
    writeLine(e.kind === 'illegal' ? `inetd: invalid option -- '${letter}'` : `inetd: option requires an argument -- '${letter}'`);
    writeLine(USAGE);
    process.exit(1);
  }
  if (typeof o === 'string') {
    writeLine(`inetd: ${o}`);
    process.exit(1);
  }
  // Without -d or -i (or systemd's NOTIFY_SOCKET), into the background as daemon(0, 0) would:
  // the same command again, detached, in /, on /dev/null.
  const daemon = process.env[DAEMON_MARK] === '1';
  delete process.env[DAEMON_MARK];
  if (!o.debug && !o.noDaemon && !daemon && process.env.NOTIFY_SOCKET === undefined) {
    const [file, args] = keepIgnored(process.argv[1], argv); // (lib/ignored.ts)
    const c = spawn(file, args, { detached: true, stdio: 'ignore', cwd: '/', env: { ...process.env, [DAEMON_MARK]: '1' } });
    c.on('error', (e) => { writeLine(`inetd: daemon(0, 0): ${strerror(e)}`); process.exit(1); });
    c.on('spawn', () => process.exit(0));
    return;
  }
  // openbsd-inetd closes every descriptor above 2 in the child; ours are
  // close-on-exec, so only what this process inherited is left to close.
  closeInherited();
  // Under root, the supplementary groups inetd was started with go, as openbsd-inetd drops
  // them (a root line's program would inherit them).
  if (uid === 0) {
    try { process.setgroups?.([process.getgid!()]); } catch { /* as the original: not checked */ }
  }
  process.umask(0o22);
  const log = createLog(o.debug);
  if (o.badRate !== undefined) log.syslog('err', `-R ${o.badRate}: bad value for service invocation rate`);
  const env = programEnv(process.env, o.keepEnv);
  try {
    writeFileSync(o.pidfile, `${process.pid}\n`);
  } catch {
    // as openbsd-inetd: no pid file, no complaint
  }
  const ipv6 = ipv6Works();
  // Every program through the chosen launcher; stream nowait lines on the addon's accept too, as tcpsvd's clients.
  let backend;
  try {
    backend = chooseBackend((what, err) => log.syslog('warning', `${what}: ${err.message}`));
  } catch (e) {
    log.syslog('err', (e as Error).message);
    process.exit(1);
  }
  // A young generation that never grows (the garbage per client is small).
  // Through child_process a new program per client costs far more than the
  // little JavaScript around it: memory over speed, no optimising compiler
  // (its code and its threads' work). On the addon's path that JavaScript
  // is most of inetd's own time per client, as it is tcpsvd's: compiled.
  if (!backend.addon) setFlagsFromString('--no-opt');
  setFlagsFromString('--max-semi-space-size=1');
  setFlagsFromString('--semi-space-growth-factor=1');
  const table = new Table({ log, env, backlog: o.backlog, uid, launcher: backend.launcher, addon: backend.addon ?? undefined });
  const config = o.config!;
  await table.apply((await readConfig(config, o, log, ipv6, true))!);
  // SIGHUP: reread; queued so that two rereads never interleave.
  let reread = Promise.resolve();
  process.on('SIGHUP', () => {
    reread = reread.then(async () => {
      const entries = await readConfig(config, o as InetdOptions, log, ipv6, false);
      if (entries) await table.apply(entries);
    }).catch((e) => {
      // Whatever went wrong in one reread is said; the services go on, and the next SIGHUP rereads.
      log.syslog('err', `${config}: ${strerror(e)}`);
    });
  });
  const die = () => {
    table.closeAll();
    try { unlinkSync((o as InetdOptions).pidfile); } catch { /* gone */ }
    process.exit(0);
  };
  process.on('SIGTERM', die);
  process.on('SIGINT', die);
  // Nothing else keeps the loop alive when no service could be opened: inetd waits for SIGHUP.
  setInterval(() => {}, 1 << 30);
}
