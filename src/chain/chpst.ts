// chpst's steps, in runit's order (session, environment directory, root,
// nice, $UID/$GID, uid/gid, lock, closing 0/1/2, limits), then the exec of
// prog; and the other tools' steps when chpst is called by their names. Each
// failure is said in chpst's words and ends the process (111), as runit's
// chpst says it. The command line is src/cmd/chpst.ts's.
import * as fs from 'node:fs';
import { writeLine } from '../lib/strerr';
import { errstr } from '../lib/errstr';
import { getpwnam, LookupError, UidGids, uidGids } from './account';
import { addNice, becomeAccount, changeRoot, newSession } from './effects';
import { EnvChanges, EnvDirError, readEnvDir } from './env';
import { canExec, execProg } from './exec';
import { LimitError, Resource, softLimit } from './limits';
import { LockError, takeLock } from './lock';

/** What chpst's options ask for (see man/chpst.8). */
export interface ChpstSteps {
  setUser?: string;
  envUser?: string;
  argv0?: string;
  envDirName?: string;
  root?: string;
  lockFile?: string;
  lockWait: boolean;
  verbose: boolean;
  pgrp: boolean;
  nice: number;
  /** -0, -1, -2. */
  close: boolean[];
  /** Soft limits by chpst's letter; -1 the hard limit. */
  want: Map<string, number>;
  prog: string[];
}

/** chpst: fatal: m (: the error), exit 111. */
export function fatal(m: string, e?: unknown): never {
  writeLine(`chpst: fatal: ${m}${e === undefined ? '' : `: ${errstr(e)}`}`);
  process.exit(111);
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

export function setIds(spec: string, ext: boolean): void {
  const u = ids(spec, ext);
  becomeAccount(u.gids, u.uid, (step, e) => fatal(`unable to ${step === 'groups' ? 'setgroups' : step === 'gid' ? 'setgid' : 'setuid'}`, e));
}

export function envIds(spec: string, ext: boolean, env: EnvChanges): void {
  const u = ids(spec, ext);
  env.set('GID', String(u.gids[0]));
  env.set('UID', String(u.uid));
}

export function envDir(dir: string, env: EnvChanges, verbose: boolean, skipDirs: boolean): void {
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

export function lock(file: string, wait: boolean, quiet: boolean): number {
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

export function limits(want: Map<string, number>): void {
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

export function run(file: string, argv: string[], env: NodeJS.ProcessEnv, keep: number[], session = false): never {
  return execProg({ tool: 'chpst', file, argv, env, keep, newSession: session && !canExec(),
    fail: (e) => fatal(`unable to run: ${argv[0]}`, e) });
}

/** Does what the options ask, in runit's order, and becomes prog. */
export function chpst(o: ChpstSteps): never {
  const { setUser, envUser, argv0, envDirName, root, lockFile, lockWait, verbose, pgrp, nice, close, want, prog } = o;
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
  return execProg({ tool: 'chpst', file, argv: args, env: env.apply(process.env), keep, newSession: pgrp && !canExec(),
    fail: (e) => fatal(`unable to run: ${args[0]}`, e) });
}
