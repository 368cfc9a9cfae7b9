// Accounts only the name service switch knows: libnss-extrausers reads
// /var/lib/extrausers/{passwd,group}, and a command started through
// nssPrefix() runs in a mount namespace of its own (unshare -m) where the
// test's files are mounted there and /etc/nsswitch.conf says
// "files extrausers". Neither the system's files nor its nsswitch.conf are
// touched; getpwnam(3) finds the test's users, reading /etc/passwd does not.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needPackage } from './common';
import { canUnshare } from './inetd';

export const EXTRAUSERS = '/var/lib/extrausers';

/** The module's library, wherever the package put it. */
function moduleInstalled(): boolean {
  const dirs = ['/usr/lib', '/lib', ...['/usr/lib', '/lib'].flatMap((d) => {
    try {
      return fs.readdirSync(d).filter((n) => n.endsWith('-linux-gnu')).map((n) => path.join(d, n));
    } catch {
      return [];
    }
  })];
  return fs.existsSync(EXTRAUSERS) && dirs.some((d) => fs.existsSync(path.join(d, 'libnss_extrausers.so.2')));
}

/** Skip reason (or false): needs root, unshare -m and libnss-extrausers (a failure under UCSPI_REQUIRE_REFERENCE=1). */
export function needExtrausers(): { skip: string | false } {
  if (!canUnshare()) return { skip: 'needs root and unshare -m' };
  return { skip: needPackage('libnss-extrausers', moduleInstalled()) };
}

/**
 * Writes dir/extrausers/{passwd,group} and dir/nsswitch.conf; the words to
 * start a command with so that it runs where they are mounted.
 */
export function nssPrefix(dir: string, passwd: string, group: string): string[] {
  const eu = path.join(dir, 'extrausers');
  fs.mkdirSync(eu, { recursive: true });
  fs.writeFileSync(path.join(eu, 'passwd'), passwd);
  fs.writeFileSync(path.join(eu, 'group'), group);
  const nss = path.join(dir, 'nsswitch.conf');
  fs.writeFileSync(nss, 'passwd: files extrausers\ngroup: files extrausers\nhosts: files\n');
  const script = `mount --bind "$1" ${EXTRAUSERS} && mount --bind "$2" /etc/nsswitch.conf || exit 111; shift 2; exec "$@"`;
  return ['unshare', '-m', 'sh', '-c', script, 'sh', eu, nss];
}
