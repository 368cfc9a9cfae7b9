// srv: manage supervised services (Annvix's tool) over daemontools' and
// runit's supervise/ files, for our supervisors and the originals alike.
// The live directory is $SVDIR (default /etc/service, the scan directory of
// Debian's runit and daemontools), where a scanner (svscan, runsvdir)
// supervises every entry; services are kept in $SRVDIR (default /etc/sv)
// and made live by a symbolic link. srv acts only on
// service directories (a run file in them). The actions: src/srv/actions.ts.
import { BadOption, UsageError, decimalArg, usage } from '../lib/getopt';
import { die } from '../lib/strerr';
import { type Ctx, run } from '../srv/actions';

const PROG = 'srv';
const USAGE_TEXT = `usage: srv [-w sec] --list|-l [svc ...]
       srv [-w sec] --info|-i | --add|-a | --del|-z | --up|-u | --down|-d | --restart|-r | --reload|-h svc ...
       srv --env|-e svc VAR=value|VAR ...
       srv --peers|-p svc [-g host] [-x host] [-y host] [-e VAR=value] [-m n]
       srv --help`;
const USAGE = { prog: PROG, text: USAGE_TEXT, code: 100 };

const ACTIONS: Record<string, string> = {
  '--list': 'list', '-l': 'list', '--info': 'info', '-i': 'info', '--add': 'add', '-a': 'add',
  '--del': 'del', '-z': 'del', '--up': 'up', '-u': 'up', '--down': 'down', '-d': 'down',
  '--restart': 'restart', '-r': 'restart', '--reload': 'reload', '-h': 'reload',
  '--env': 'env', '-e': 'env', '--peers': 'peers', '-p': 'peers',
};

export function main(argv: string[]): void {
  let waitSec = 7;
  let i = 0;
  try {
    while (argv[i] === '-w' || /^-w\d/.test(argv[i] ?? '')) {
      const v = argv[i] === '-w' ? argv[++i] : argv[i].slice(2);
      if (v === undefined) throw new UsageError(`${PROG}: option requires an argument -- w`);
      waitSec = decimalArg(v);
      i++;
    }
    if (argv[i] === '--help') {
      process.stdout.write(USAGE_TEXT + '\n');
      process.exit(0);
    }
    const action = ACTIONS[argv[i] ?? ''];
    if (action === undefined) {
      throw new UsageError(argv[i] === undefined ? undefined : `${PROG}: unknown action: ${argv[i]}`);
    }
    const rest = argv.slice(i + 1);
    const ctx: Ctx = {
      svdir: process.env.SVDIR || '/etc/service',
      srvdir: process.env.SRVDIR || '/etc/sv',
      waitMs: waitSec * 1000,
      now: () => Math.floor(Date.now() / 1000),
    };
    process.exit(run(ctx, action, rest));
  } catch (e) {
    if (e instanceof UsageError || e instanceof BadOption) usage(USAGE, e);
    // What no check above foresaw is still a system error, named, not a stack trace.
    die(PROG, 'unexpected error', e);
  }
}
