// The launcher contract, server by server: what a program finds when tcpsvd,
// tcpserver, udpsvd and inetd (stream nowait, datagram wait) start it, on the
// addon's path and on the pure-Node path, beside the Debian server it
// replaces, run the same way: argv and argv[0], the environment's bytes
// (every rule value holds a non-ASCII byte), fds 0, 1 and 2, the working
// directory, the umask, the signal dispositions (the server started with HUP
// ignored), the user and groups, a session, and the exit status as the
// server logs it. (inetd's stream wait lines are not served by ours: see
// inetd(8).)
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isRoot, needReference, ours, reference, waitFor } from './helpers/common';
import { startServer } from './helpers/net';
import { sendFrom, startUdp } from './helpers/udp';
import { canUnshare, freePortOn, needOpenbsdInetd, startInetd } from './helpers/inetd';

// Ours on the addon's path, on the pure-Node path ($UCSPI_LAUNCHER=spawn),
// and (inetd's stream lines) with no addon at all ($UCSPI_NO_NATIVE).
type Who = 'debian' | 'native' | 'spawn' | 'noaddon';
const envOf = (who: Who) => who === 'noaddon' ? 'UCSPI_NO_NATIVE=1' : `UCSPI_LAUNCHER=${who === 'debian' ? 'native' : who}`;

const top = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-servers-'));
// Programs may run as nobody: they must reach their directory.
fs.chmodSync(top, 0o755);
t.teardown(() => fs.rmSync(top, { recursive: true, force: true }));
let serial = 0;
function dirFor(tag: string): string {
  const d = path.join(top, `${tag}-${serial++}`);
  fs.mkdirSync(d);
  fs.chmodSync(d, 0o777);
  return d;
}

// The probe: sh running a script, so that /proc/$$/cmdline shows the argv it
// was given (argv[0] included). It reads its client (a line, or the
// datagram), writes its findings next to $1 (each file whole, by rename:
// a datagram sent again may start a second probe meanwhile), and exits 7. Its signal masks
// are read by sh itself: sh blocks every signal while it starts a command.
const PROBE = path.join(top, 'probe.sh');
fs.writeFileSync(PROBE, `out=$1
if [ "$2" = udp ]; then dd bs=65536 count=1 of=/dev/null 2>/dev/null; else read line; fi
s0=$(readlink /proc/$$/fd/0); s1=$(readlink /proc/$$/fd/1); s2=$(readlink /proc/$$/fd/2); e=$(readlink /proc/$PPID/fd/2)
what() { if [ "$1" = "$s0" ]; then echo socket; elif [ "$1" = "$e" ]; then echo stderr; else echo "other"; fi; }
case $s0 in socket:*) f0=socket;; *) f0=other;; esac
{
  printf 'argv='; tr '\\0' '|' < /proc/$$/cmdline; echo
  echo "fds=$f0 $(what "$s1") $(what "$s2")"
  echo "cwd=$(readlink /proc/$$/cwd)"
  echo "umask=$(umask)"
  while IFS= read -r l; do case $l in SigIgn:*|SigBlk:*) echo "$l";; esac; done < /proc/$$/status
  echo "ids=$(id -u) $(id -g) $(id -G)"
  if [ "$(ps -o sid= -p $$ | tr -d ' ')" = $$ ]; then echo session=own; else echo session=server; fi
} > "$out.tmp.$$"
cat /proc/$$/environ > "$out.env.$$" && mv "$out.env.$$" "$out.env"
mv "$out.tmp.$$" "$out"
exit 7
`, { mode: 0o755 });

/**
 * What the probe found: its report, and its environment as byte strings
 * (latin1), sorted, ports as N, the run's own directory as DIR, without
 * $UCSPI_LAUNCHER and $UCSPI_NO_NATIVE (which path ours takes; Debian's is
 * given them too).
 */
interface Seen {
  report: string;
  env: string[];
  end: string;
}

function readSeen(out: string, end: string, dir: string): Seen {
  const env = fs.readFileSync(out + '.env').toString('latin1').split('\0').filter(Boolean)
    .filter((kv) => !kv.startsWith('_TAPJS_') && !/^NODE_OPTIONS=.*@tapjs/.test(kv) && !/^UCSPI_(LAUNCHER|NO_NATIVE)=/.test(kv))
    .map((kv) => kv.replace(/^((TCP6?)(LOCAL|REMOTE)PORT)=\d+$/, '$1=N').replaceAll(dir, 'DIR'))
    .sort();
  return { report: fs.readFileSync(out, 'utf8').replaceAll(dir, 'DIR'), env, end };
}

// Started with HUP and QUIT ignored, umask 027, in the directory given.
const START = `trap '' HUP QUIT; umask 027; cd "$DIR" &&`;
function wrapped(dir: string, cmd: string, args: string[]): [string, string[]] {
  return ['/bin/sh', ['-c', `DIR=${dir}; ${START} exec "$0" "$@"`, cmd, ...args]];
}

const cafe = 'café'; // two non-ASCII bytes, UTF-8
const ids = isRoot ? ['65534', '65534'] : undefined;

function compare(t: Test, server: string, seen: Partial<Record<Who, Seen>> & { debian: Seen; native: Seen }): void {
  for (const p of ['native', 'spawn', 'noaddon'] as const) {
    const d = seen.debian, o = seen[p];
    if (!o) continue;
    let want = d.report;
    if (p !== 'native' && server.startsWith('inetd')) {
      // child_process cannot set supplementary groups (inetd(8)); and, a signal
      // ignored at start being kept ignored through sh, argv[0] is the path
      // (lib/ignored.ts).
      want = want.replace(/^ids=(\d+) (\d+) .*$/m, 'ids=$1 $2 $2').replace(/^argv=[^|]*\|/m, 'argv=/bin/sh|');
    }
    t.equal(o.report, want, `${server}, ${p}: argv, fds, cwd, umask, signals, ids, session as Debian's`);
    t.same(o.env, d.env, `${server}, ${p}: the environment, byte for byte`);
    t.equal(o.end, d.end, `${server}, ${p}: the exit status as logged`);
  }
  t.match(seen.native.report, /^fds=socket /m, `${server}: precondition: the probe ran and saw its socket`);
  t.match(seen.native.report, /^SigIgn:\s*0*[1-9a-f][0-9a-f]*$/m, `${server}: precondition: a signal ignored at start stays ignored`);
}

t.test('tcpsvd: peers dir', needReference('tcpsvd'), async (t) => {
  const peers = dirFor('peers');
  fs.writeFileSync(path.join(peers, '127.0.0.1'), `+RULE=${cafe}\n+ALSO=x${cafe}y\n`);
  fs.chmodSync(peers, 0o755);
  const one = async (who: Who): Promise<Seen> => {
    const dir = dirFor(`tcpsvd-${who}`);
    const out = path.join(dir, 'seen');
    const cmd = who === 'debian' ? reference('tcpsvd') : ours('tcpsvd');
    const [sh, args] = wrapped(dir, cmd, ['-v', '-l', 'me', '-i', peers, ...(ids ? ['-u', 'nobody'] : []),
      '127.0.0.1', '0', '/bin/sh', PROBE, out]);
    const srv = await startServer(sh, args, { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: who === 'debian' ? 'native' : who });
    try {
      await talkTo(srv.port);
      const log = await srv.waitLog(/end \d+ exit \d+/);
      return readSeen(out, /end \d+ (exit \d+)/.exec(log)![1], dir);
    } finally {
      await srv.stop();
    }
  };
  const [debian, native, spawn] = await Promise.all([one('debian'), one('native'), one('spawn')]);
  compare(t, 'tcpsvd', { debian, native, spawn });
  t.ok(native.env.includes(Buffer.from(`RULE=${cafe}`).toString('latin1')), 'the rule value reached prog');
});

t.test('tcpserver: rules cdb', needReference('tcpserver', 'tcprules'), async (t) => {
  const rdir = dirFor('rules');
  const cdb = path.join(rdir, 'rules.cdb');
  const mk = spawnSync(reference('tcprules'), [cdb, cdb + '.tmp'], { input: Buffer.from(`127.0.0.1:allow,RULE="${cafe}",ALSO="x${cafe}y"\n`) });
  t.equal(mk.status, 0, 'tcprules compiled the rules');
  fs.chmodSync(cdb, 0o644);
  const one = async (who: Who): Promise<Seen> => {
    const dir = dirFor(`tcpserver-${who}`);
    const out = path.join(dir, 'seen');
    const cmd = who === 'debian' ? reference('tcpserver') : ours('tcpserver');
    const [sh, args] = wrapped(dir, cmd, ['-v', '-R', '-H', '-l', 'me', '-x', cdb, ...(ids ? ['-u', ids[0], '-g', ids[1]] : []),
      '127.0.0.1', '0', '/bin/sh', PROBE, out]);
    const srv = await startServer(sh, args, { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: who === 'debian' ? 'native' : who });
    try {
      await talkTo(srv.port);
      const log = await srv.waitLog(/end \d+ status \d+/);
      return readSeen(out, /end \d+ (status \d+)/.exec(log)![1], dir);
    } finally {
      await srv.stop();
    }
  };
  const [debian, native, spawn] = await Promise.all([one('debian'), one('native'), one('spawn')]);
  compare(t, 'tcpserver', { debian, native, spawn });
  t.ok(native.env.includes(Buffer.from(`RULE=${cafe}`).toString('latin1')), 'the rule value reached prog');
});

t.test('udpsvd: peers dir', needReference('udpsvd'), async (t) => {
  const peers = dirFor('peers');
  fs.writeFileSync(path.join(peers, '127.0.0.1'), `+RULE=${cafe}\n+ALSO=x${cafe}y\n`);
  fs.chmodSync(peers, 0o755);
  const one = async (who: Who): Promise<Seen> => {
    const dir = dirFor(`udpsvd-${who}`);
    const out = path.join(dir, 'seen');
    const cmd = who === 'debian' ? reference('udpsvd') : ours('udpsvd');
    const [sh, args] = wrapped(dir, cmd, ['-v', '-l', 'me', '-i', peers, ...(ids ? ['-u', 'nobody'] : [])]);
    const srv = await startUdp(sh, args, '127.0.0.1', ['/bin/sh', PROBE, out, 'udp'],
      { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: who === 'debian' ? 'native' : who });
    try {
      await sendFrom('127.0.0.1', srv.port, 'hello\n');
      await waitFor('the probe\'s report', () => fs.existsSync(out));
      const log = await srv.waitLog(/end \d+/);
      return readSeen(out, /(end) \d+/.exec(log)![1], dir);
    } finally {
      await srv.stop();
    }
  };
  const [debian, native, spawn] = await Promise.all([one('debian'), one('native'), one('spawn')]);
  compare(t, 'udpsvd', { debian, native, spawn });
  t.ok(native.env.includes(Buffer.from(`RULE=${cafe}`).toString('latin1')), 'the rule value reached prog');
});

const inetdSkip = needOpenbsdInetd().skip || (canUnshare() ? false : 'needs root and unshare -m (Debian\'s inetd writes /run/inetd.pid)');

t.test('inetd: stream nowait and datagram wait', { skip: inetdSkip }, async (t) => {
  for (const kind of ['stream', 'dgram'] as const) {
    const one = async (who: Who): Promise<Seen> => {
      const dir = dirFor(`inetd-${kind}-${who}`);
      const out = path.join(dir, 'seen');
      const port = await freePortOn('127.0.0.1', true);
      const conf = path.join(dir, 'inetd.conf');
      const user = ids ? 'nobody' : os.userInfo().username;
      fs.writeFileSync(conf, kind === 'stream'
        ? `127.0.0.1:${port} stream tcp nowait ${user} /bin/sh probe-name ${PROBE} ${out}\n`
        : `127.0.0.1:${port} dgram udp wait ${user} /bin/sh probe-name ${PROBE} ${out} udp\n`);
      const srv = await startInetd(who === 'debian' ? 'debian' : 'ours', conf, dir, {
        ...(kind === 'stream' ? { tcp: [port] } : { udp: [port] }),
        prefix: ['/bin/sh', '-c', `DIR=${dir}; ${START} ${envOf(who)} exec "$0" "$@"`],
      });
      try {
        if (kind === 'stream') await talkTo(port);
        else await sendFrom('127.0.0.1', port, 'hello\n');
        await waitFor('the probe\'s report', () => fs.existsSync(out));
        await srv.waitLog(/\d+ reaped, status [0-9a-f]+/);
        return readSeen(out, /\d+ reaped, (status [0-9a-f]+)/.exec(srv.stderr())![1], dir);
      } finally {
        await srv.stop();
      }
    };
    // Datagram programs need the addon's socket: served on neither path without it.
    const [debian, native, spawn, noaddon] = await Promise.all([one('debian'), one('native'), one('spawn'),
      kind === 'stream' ? one('noaddon') : undefined]);
    compare(t, `inetd ${kind}`, { debian, native, spawn, noaddon });
    t.match(native.report, /^argv=probe-name\|/m, `inetd ${kind}: argv[0] as the line gives it`);
  }
});

/** One client: a line, then read to the end. */
function talkTo(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { c.destroy(); reject(new Error('client timed out')); }, 10_000);
    c.on('error', () => {});
    c.on('data', () => {});
    c.on('close', () => { clearTimeout(timer); resolve(); });
    c.end('hello\n');
  });
}
