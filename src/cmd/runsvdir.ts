// runsvdir [-P] dir [log]: runit 2.1.2's runsvdir, with every runsv in this
// one process (see supervise/scan.ts for the scanner's rules). With log (at
// least seven characters), everything written to stderr, ours and the
// services', scrolls through the last part of log in the process title
// (supervise/logtitle.ts).
//
// Signals: TERM leaves the services running and exits 0, as runit's
// runsvdir leaves its runsv processes: every service directory is handed to
// one keeper process (supervise/keeper.ts; this command started again with
// UCSPI_KEEPER set), so that sv goes on finding a supervisor. HUP stops
// every service (each log service after its service), then exits 111.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errstr } from '../lib/errstr';
import { usage as lusage } from '../lib/getopt';
import { writeLine } from '../lib/strerr';
import { Title, type TitleState, scroll } from '../supervise/logtitle';
import { calledAs } from '../supervise/progname';
import { Scanner, runsvdirVoice } from '../supervise/scan';
import { pipe, raiseNofile } from '../supervise/sys';
import { KEEPER_ENV, handToKeeper, keep } from '../supervise/keeper';
import { onAddition } from '../lib/ignored';

export function main(argv: string[]): void {
  if (process.env[KEEPER_ENV] !== undefined) return keeper();
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
  let title: Title | null = null;
  let titleFd = -1;

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
        const t = title = new Title(['runsvdir', ...argv], argv.length - args.length + 2, [...logArg]);
        errFd = fds[1];
        titleFd = fds[0];
        say = scroll(t, fds[0]);
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
    let handing = false;
    process.on('SIGTERM', () => {
      if (!scanner) process.exit(0);
      if (handing) return;
      handing = true;
      const fds = title ? [titleFd] : [];
      const extra = ([fd]: number[]): TitleState | null => (title ? { ...title.state(), fd } : null);
      handToKeeper(scanner, { prog: process.argv[1], args: argv, flavor: 'runit', errFd, fds, extra, ownSession: pgrp }, (failure) => {
        if (failure === null) process.exit(0);
        handing = false;
        say(`runsvdir ${svdir}: warning: unable to hand the services over, still supervising: ${failure}`);
      });
    });
    // An addition: ALRM rescans at once (srv --add wakes the scanner so);
    // runit's runsvdir does not catch it, and srv signals only a scanner that does.
    process.removeAllListeners('SIGALRM');
    onAddition('SIGALRM', () => scanner?.scan());
    process.on('SIGHUP', () => {
      exitCode = 111;
      if (!scanner) process.exit(111);
      scanner.shutdown();
    });
  }
}

/**
 * The keeper a runsvdir hands its services to on TERM: it supervises them
 * (each as runsv would) without scanning, the log argument scrolling on in
 * its title, and exits once none is left. TERM or HUP: every service down,
 * each log service after its service, then exit 0.
 */
function keeper(): void {
  const fd = Number(process.env[KEEPER_ENV]);
  delete process.env[KEEPER_ENV];
  process.stderr.on('error', () => {});
  let say = (line: string) => writeLine(line);
  const kept = keep(fd, (line) => say(line), (extra) => {
    const t = extra as TitleState | null | undefined;
    if (t && Array.isArray(t.words) && Array.isArray(t.buf)) say = scroll(new Title(t.words, t.at, t.buf), t.fd);
    else {
      try { process.title = `runsvdir keeper ${process.cwd()}`; } catch { /* not settable here */ }
    }
  });
  process.on('SIGTERM', () => kept.stop());
  process.on('SIGHUP', () => kept.stop());
}
