// chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir]
// [-/ root] [-n inc] [-l|-L lock] [-m -d -o -p -f -c -r -t n] prog: run prog
// with a changed process state, as runit's chpst, in its order: session,
// environment directory, root, nice, $UID/$GID, uid/gid, lock, closing
// 0/1/2, limits. Called as setuidgid, envuidgid, envdir, pgrphack, setlock or
// softlimit (a link named so; a leading "d" is dropped, as runit does) it
// takes that tool's arguments, with chpst's wording. The steps themselves:
// src/chain/chpst.ts.
import * as path from 'node:path';
import { BadOption, getopt, UsageError } from '../lib/getopt';
import { writeLine } from '../lib/strerr';
import { versionLine } from '../lib/version';
import { canExec, execProg } from '../chain/exec';
import { newSession } from '../chain/effects';
import { limitArg } from '../chain/limits';
import { EnvChanges } from '../chain/env';
import { chpst, envDir, envIds, fatal, limits, lock, run, setIds } from '../chain/chpst';

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

/** "usage: name text", then an empty line, exit 100 (runit's strerr_die4x with "\n"). */
function usageOf(text: string, e?: unknown): never {
  if (e instanceof BadOption) writeLine(`${progname}: ${e.message}`);
  else if (e !== undefined && !(e instanceof UsageError)) throw e;
  writeLine(`usage: ${progname}${text}\n`);
  process.exit(100);
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

  chpst({ setUser, envUser, argv0, envDirName, root, lockFile, lockWait, verbose, pgrp, nice, close, want, prog });
}
