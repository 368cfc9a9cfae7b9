// chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir]
// [-/ root] [-n inc] [-l|-L lock] [-m -d -o -p -f -c -r -t n] prog: run prog
// with a changed process state, as runit's chpst, in its order: session,
// environment directory, root, nice, $UID/$GID, uid/gid, lock, closing
// 0/1/2, limits. Called as setuidgid, envuidgid, envdir, pgrphack, setlock or
// softlimit (a link named so; a leading "d" is dropped, as runit does) it
// takes that tool's arguments, with chpst's wording.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { BadOption, getopt, UsageError } from '../lib/getopt';
import { writeLine } from '../lib/strerr';
import { errstr } from '../lib/errstr';
import { versionLine } from '../lib/version';
import { getpwnam, LookupError, UidGids, uidGids } from '../chain/account';
import { addNice, becomeAccount, changeRoot, newSession } from '../chain/effects';
import { EnvChanges, EnvDirError, readEnvDir } from '../chain/env';
import { canExec, execProg } from '../chain/exec';
import { LimitError, limitArg, Resource, softLimit } from '../chain/limits';
import { LockError, takeLock } from '../chain/lock';

const USAGE_MAIN = ' [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog';
const ALIAS_USAGE: Record<string, string> = {
  setuidgid: ' account child',
  envuidgid: ' account child',
  envdir: ' dir child',
  pgrphack: ' child',
  setlock: ' [ -nNxX ] file program [ arg ... ]',
  softlimit: ' [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child',
};

let progname = 'chpst';

function fatal(m: string, e?: unknown): never {
  writeLine(`chpst: fatal: ${m}${e === undefined ? '' : `: ${errstr(e)}`}`);
  process.exit(111);
}

/** "usage: name text", then an empty line, exit 100 (runit's strerr_die4x with "\n"). */
function usageOf(text: string, e?: unknown): never {
  if (e instanceof BadOption) writeLine(`${progname}: ${e.message}`);
  else if (e !== undefined && !(e instanceof UsageError)) throw e;
  writeLine(`usage: ${progname}${text}\n`);
  process.exit(100);
}

/**
 * Why glibc's getpwnam or getgrnam would have failed with errno set, where
 * runit then says so rather than "unknown user/group": the file it reads is
 * missing (a new root from -/ without /etc/passwd). The user is looked up
 * first, then the groups.
 */
function missingDatabase(spec: string): NodeJS.ErrnoException | undefined {
  const missing = (file: string) => {
    try {
      fs.accessSync(file);
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? e as NodeJS.ErrnoException : undefined;
    }
  };
  const colon = spec.indexOf(':');
  const e = missing('/etc/passwd');
  if (e || colon < 0) return e;
  try {
    if (getpwnam(spec.slice(0, colon)) === undefined) return undefined;
  } catch {
    return undefined;
  }
  return missing('/etc/group');
}

/** -u and -U, and the setuidgid/envuidgid names (ext false: an account name only). */
function ids(spec: string, ext: boolean): UidGids {
  let u: UidGids | undefined;
  try {
    if (ext) u = uidGids(spec);
    else {
      const pw = getpwnam(spec);
      u = pw && { uid: pw.uid, gids: [pw.gid] };
    }
  } catch (e) {
    fatal(ext ? 'unable to get password/group file entry' : 'unable to get password file entry',
      e instanceof LookupError ? e.cause : e);
  }
  if (u === undefined) {
    if (ext && spec.startsWith(':')) fatal(`invalid uid/gids: ${spec.slice(1)}`);
    if (ext) {
      const e = missingDatabase(spec);
      if (e) fatal('unable to get password/group file entry', e);
    }
    fatal(ext ? `unknown user/group: ${spec}` : `unknown account: ${spec}`);
  }
  return u;
}

function setIds(spec: string, ext: boolean): void {
  const u = ids(spec, ext);
  becomeAccount(u.gids, u.uid, (step, e) => fatal(`unable to ${step === 'groups' ? 'setgroups' : step === 'gid' ? 'setgid' : 'setuid'}`, e));
}

function envIds(spec: string, ext: boolean, env: EnvChanges): void {
  const u = ids(spec, ext);
  env.set('GID', String(u.gids[0]));
  env.set('UID', String(u.uid));
}

function envDir(dir: string, env: EnvChanges, verbose: boolean, skipDirs: boolean): void {
  try {
    readEnvDir(dir, env, skipDirs, (name, e) => {
      if (verbose) writeLine(`chpst: warning: unable to read ${dir}/${name}: ${errstr(e)}`);
    });
  } catch (e) {
    if (!(e instanceof EnvDirError)) throw e;
    switch (e.step) {
      case 'cwd': fatal('unable to open current working directory', e.cause);
      // falls through
      case 'chdir': fatal(`unable to switch to directory: ${dir}`, e.cause);
      // falls through
      case 'opendir': fatal(`unable to open directory: ${dir}`, e.cause);
      // falls through
      case 'readdir': fatal(`unable to read directory: ${dir}`, e.cause);
      // falls through
      case 'read': fatal(`unable to read ${dir}/${e.file}`, e.cause);
      // falls through
      case 'back': fatal('unable to switch to starting directory', e.cause);
    }
  }
}

function lock(file: string, wait: boolean, quiet: boolean): number {
  try {
    return takeLock(file, wait);
  } catch (e) {
    if (!(e instanceof LockError)) throw e;
    if (quiet) process.exit(0);
    return fatal(`unable to ${e.step === 'open' ? 'open lock' : 'lock'}: ${file}`, e.cause);
  }
}

// runit's order of the limits; -1 is the hard limit.
const LIMIT_ORDER: [string, Resource][] = [['d', 'data'], ['s', 'stack'], ['l', 'memlock'], ['a', 'as'],
  ['o', 'nofile'], ['p', 'nproc'], ['f', 'fsize'], ['c', 'core'], ['r', 'rss'], ['t', 'cpu']];

function limits(want: Map<string, number>): void {
  for (const [letter, res] of LIMIT_ORDER) {
    const v = want.get(letter);
    if (v === undefined) continue;
    try {
      softLimit(res, v < 0 ? 'max' : v);
    } catch (e) {
      if (!(e instanceof LimitError)) throw e;
      fatal(`unable to ${e.step}()`, e.cause);
    }
  }
}

function run(file: string, argv: string[], env: NodeJS.ProcessEnv, keep: number[], session = false): never {
  return execProg({ tool: 'chpst', file, argv, env, keep, newSession: session && !canExec(),
    fail: (e) => fatal(`unable to run: ${argv[0]}`, e) });
}

// ---- the other names

function alias(name: string, argv: string[]): never {
  const text = ALIAS_USAGE[name];
  const env = new EnvChanges();
  const need = (n: number, rest: string[]) => { if (rest.length < n) usageOf(text); };
  switch (name) {
    case 'setuidgid':
    case 'envuidgid': {
      need(2, argv);
      if (name === 'setuidgid') setIds(argv[0], false); else envIds(argv[0], false, env);
      return run(argv[1], argv.slice(1), env.apply(process.env), []);
    }
    case 'envdir':
      need(2, argv);
      envDir(argv[0], env, false, false);
      return run(argv[1], argv.slice(1), env.apply(process.env), []);
    case 'pgrphack':
      need(1, argv);
      if (canExec()) newSession();
      return run(argv[0], argv, process.env, [], true);
    case 'setlock': {
      let nodelay = false, quiet = false;
      let rest: string[] = [];
      try {
        rest = getopt(argv, 'nNxX', (l) => {
          if (l === 'n') nodelay = true; else if (l === 'N') nodelay = false;
          else if (l === 'x') quiet = true; else quiet = false;
        });
      } catch (e) {
        usageOf(text, e);
      }
      need(2, rest);
      const fd = lock(rest[0], !nodelay, quiet);
      return execProg({ tool: 'chpst', file: rest[1], argv: rest.slice(1), env: process.env, keep: [fd],
        fail: (e) => (quiet ? process.exit(0) : fatal(`unable to run: ${rest[1]}`, e)) });
    }
    default: { // softlimit
      const want = new Map<string, number>();
      let rest: string[] = [];
      try {
        rest = getopt(argv, 'a:c:d:f:l:m:o:p:r:s:t:', (l, v) => {
          const n = v === '=' ? -1 : limitArg(v!);
          if (n === undefined) usageOf(USAGE_MAIN);
          if (l === 'm') for (const k of ['d', 's', 'l', 'a']) want.set(k, n);
          else want.set(l, n);
        });
      } catch (e) {
        usageOf(text, e);
      }
      need(1, rest);
      limits(want);
      return run(rest[0], rest, process.env, []);
    }
  }
}

// ---- chpst itself

export function main(argv: string[]): void {
  const invoked = process.argv[1] === undefined ? 'chpst' : path.basename(process.argv[1]);
  progname = invoked.startsWith('d') ? invoked.slice(1) : invoked;
  if (progname in ALIAS_USAGE) alias(progname, argv);
  progname = invoked;

  let setUser: string | undefined, envUser: string | undefined, argv0: string | undefined;
  let envDirName: string | undefined, root: string | undefined, lockFile: string | undefined;
  let lockWait = false, verbose = false, pgrp = false, nice = 0;
  const close = [false, false, false];
  const want = new Map<string, number>();
  let prog: string[] = [];
  try {
    prog = getopt(argv, 'u:U:b:e:m:d:o:p:f:c:r:t:/:n:l:L:vP012V', (l, v) => {
      const num = () => { const n = limitArg(v!); if (n === undefined) throw new UsageError(); return n; };
      switch (l) {
        case 'u': setUser = v; break;
        case 'U': envUser = v; break;
        case 'b': argv0 = v; break;
        case 'e': envDirName = v; break;
        case 'm': { const n = num(); for (const k of ['s', 'l', 'a', 'd']) want.set(k, n); break; }
        case 'd': case 'o': case 'p': case 'f': case 'c': case 'r': case 't': want.set(l, num()); break;
        case '/': root = v; break;
        case 'n': {
          const s = v!;
          if (s.startsWith('-')) { const n = limitArg(s.slice(1)); if (n === undefined) throw new UsageError(); nice = -n; }
          else { const n = limitArg(s.startsWith('+') ? s.slice(1) : s); if (n === undefined) throw new UsageError(); nice = n; }
          break;
        }
        case 'l': case 'L':
          if (lockFile !== undefined) throw new UsageError();
          lockFile = v; lockWait = l === 'l';
          break;
        case 'v': verbose = true; break;
        case 'P': pgrp = true; break;
        case '0': case '1': case '2': close[Number(l)] = true; break;
        case 'V': {
          // Our own version line, as tcpsvd's, svlogd's: never the original's id.
          writeLine(versionLine('chpst'));
          throw new UsageError();
        }
      }
    });
  } catch (e) {
    usageOf(USAGE_MAIN, e);
  }
  if (prog.length === 0) usageOf(USAGE_MAIN);

  if (pgrp && canExec()) newSession();
  const env = new EnvChanges();
  if (envDirName !== undefined) envDir(envDirName, env, verbose, true);
  if (root !== undefined) {
    try {
      process.chdir(root);
    } catch (e) {
      fatal(`unable to change directory: ${root}`, e);
    }
    try {
      changeRoot();
    } catch (e) {
      fatal('unable to change root directory', e);
    }
  }
  if (nice !== 0) {
    try {
      addNice(nice);
    } catch (e) {
      fatal('unable to set nice level', e);
    }
  }
  if (envUser !== undefined) envIds(envUser, true, env);
  if (setUser !== undefined) setIds(setUser, true);
  const keep: number[] = [];
  if (lockFile !== undefined) keep.push(lock(lockFile, lockWait, false));
  const names = ['stdin', 'stdout', 'stderr'];
  for (let fd = 0; fd < 3; fd++) {
    if (!close[fd]) continue;
    try {
      fs.closeSync(fd);
    } catch (e) {
      fatal(`unable to close ${names[fd]}`, e);
    }
  }
  limits(want);
  const file = prog[0];
  const args = argv0 === undefined ? prog : [argv0, ...prog.slice(1)];
  execProg({ tool: 'chpst', file, argv: args, env: env.apply(process.env), keep, newSession: pgrp && !canExec(),
    fail: (e) => fatal(`unable to run: ${args[0]}`, e) });
}
