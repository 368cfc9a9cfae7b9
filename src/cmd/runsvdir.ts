// runsvdir [-P] dir [log]: runit 2.1.2's runsvdir, with every runsv in this
// one process (see supervise/scan.ts for the scanner's rules). With log (at
// least seven characters), everything written to stderr, ours and the
// services', scrolls through the last part of log in the process title, the
// first five characters staying put; a dot every 15 minutes shows that the
// title is alive.
//
// Signals: TERM leaves the services running and exits 0; each service
// directory is handed to a runsv process of its own (bin/runsv), which takes
// the running service back, so that sv goes on finding its supervisor. HUP
// stops every service (each log service after its service), then exits 111.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { usage as lusage } from '../lib/getopt';
import { writeLine } from '../lib/strerr';
import { setTitle } from '../lib/title';
import { calledAs } from '../supervise/progname';
import { Scanner, runsvdirVoice } from '../supervise/scan';
import { pipe, raiseNofile } from '../supervise/sys';

/** The original's heartbeat on the log: a dot every 900 seconds. */
const DOT_MS = 900_000;
/** How much of log stays put at its start. */
const KEEP = 5;

export function main(argv: string[]): void {
  const progname = calledAs('runsvdir');
  // The original's usage: the program as called, then an empty line.
  const usage = (): never => lusage({ prog: progname, text: `usage: ${progname} [-P] dir\n`, code: 1 });
  const args = [...argv];
  if (!args.length) usage();
  // The original looks at the first argument's second character only: -P
  // (and "--") are taken away, any other "-x" is the directory.
  let pgrp = false;
  if (args[0][0] === '-') {
    if (args[0][1] === 'P') { pgrp = true; args.shift(); }
    else if (args[0][1] === '-') args.shift();
    if (!args.length) usage();
  }
  const svdir = args[0];
  // Room for every service's descriptors; the children get the administrator's limit.
  raiseNofile();
  const voice = runsvdirVoice(svdir);
  let say = (line: string) => writeLine(line);
  let errFd: 'inherit' | number = 'inherit';

  if (args.length > 1) {
    const logArg = args[1];
    if (logArg.length < 7) {
      say(`runsvdir ${svdir}: warning: log must have at least seven characters.`);
      say(`runsvdir ${svdir}: warning: log service disabled.`);
    } else {
      let fds: [number, number] | null = null;
      try { fds = pipe(path.resolve('.')); } catch { /* said below */ }
      if (!fds) {
        say(`runsvdir ${svdir}: warning: unable to create pipe for log.`);
        say(`runsvdir ${svdir}: warning: log service disabled.`);
      } else {
        const title = new Title(['runsvdir', ...argv], argv.length - args.length + 2, logArg);
        errFd = fds[1];
        // Our own lines go straight to the title: a write to a pipe that we
        // read ourselves could block us while it is full.
        say = (line: string) => title.add(line + '\n');
        const reader = new net.Socket({ fd: fds[0], readable: true, writable: false });
        reader.on('data', (b: Buffer) => title.add(b.toString('latin1')));
        reader.on('error', () => { /* only at exit */ });
        reader.unref();
        setInterval(() => title.add('.'), DOT_MS).unref();
      }
    }
  }

  // The original tries again every second until dir can be entered.
  const enter = (): boolean => {
    try {
      fs.statSync(svdir);
    } catch (e) {
      say(`runsvdir ${svdir}: warning: unable to stat ${svdir}: ${errstr(e)}`);
      return false;
    }
    try {
      process.chdir(svdir);
    } catch (e) {
      say(`runsvdir ${svdir}: warning: unable to change directory to ${svdir}: ${errstr(e)}`);
      return false;
    }
    return true;
  };
  if (enter()) start();
  else {
    const retry = setInterval(() => {
      if (!enter()) return;
      clearInterval(retry);
      start();
    }, 1000);
    handleSignals(null);
  }

  function start(): void {
    const scanner = new Scanner(say, () => process.exit(exitCode), { flavor: 'runit', voice, errFd });
    handleSignals(scanner);
    scanner.scan();
  }

  let exitCode = 0;
  function handleSignals(scanner: Scanner | null): void {
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGHUP');
    process.on('SIGTERM', () => {
      if (!scanner) process.exit(0);
      scanner.release((name) => handOver(name, pgrp, errFd));
      process.exit(0);
    });
    process.on('SIGHUP', () => {
      exitCode = 111;
      if (!scanner) process.exit(111);
      scanner.shutdown();
    });
  }
}

/** A runsv process of its own for one service directory (the current directory's name). */
function handOver(name: string, pgrp: boolean, errFd: 'inherit' | number): void {
  const runsv = path.join(__dirname, '..', '..', 'bin', 'runsv');
  try {
    const cp = spawn(runsv, [name], { detached: pgrp, stdio: ['ignore', 'ignore', errFd] });
    cp.on('error', () => { /* as the original's child that failed to exec: nothing more */ });
    cp.unref();
  } catch { /* idem */ }
}

/**
 * The process title: the command line, its log argument scrolling. Each
 * byte written shifts the log argument's characters after the first five
 * left by one and takes the last place, as the original does in place.
 */
class Title {
  private buf: string[];

  constructor(private words: string[], private at: number, log: string) {
    this.buf = [...log];
    this.show();
  }

  add(s: string): void {
    for (const ch of s) {
      if (ch === '\0') continue;
      this.buf.splice(KEEP, 1);
      this.buf.push(ch);
    }
    this.show();
  }

  private show(): void {
    const w = [...this.words];
    w[this.at] = this.buf.join('');
    setTitle(w, this.words[0]);
  }
}
