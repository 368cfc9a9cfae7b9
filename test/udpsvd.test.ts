// udpsvd against the reference /usr/bin/udpsvd (ipsvd 1.0.0): same flags and
// exit codes, the same environment for prog (the server's own: udpsvd adds no
// variable), the same log lines, instructions from peers dirs and cdbs, one
// prog at a time with the datagrams meanwhile left queued, -u. Datagrams come
// from many 127/8 addresses; DNS goes to the fake server only.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { findReference, killGroup, needReference, ours, reference, sleep, spawn, waitFor } from './helpers/common';
import { parseEnv } from './helpers/net';
import { namesZone, startFakeDns } from './helpers/fakedns';
import { runOnce, sendFrom, startUdp, type UdpServer } from './helpers/udp';
import { parseArgs } from '../src/cmd/udpsvd';
import { parsePort } from '../src/listen/services';

const OURS = ours('udpsvd');
// Used only inside tests guarded by needReference('udpsvd').
const REF = findReference('udpsvd') ?? 'udpsvd';
const noRef = needReference('udpsvd').skip;
const tmp = mkdtempSync(path.join(tmpdir(), 'udpsvd-test-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

// Variables a UCSPI server would set or drop: udpsvd passes them all through untouched.
const baseEnv: NodeJS.ProcessEnv = {
  PATH: '/usr/bin:/bin', FOO: 'bar', PROTO: 'stale', TCPREMOTEIP: 'stale', UDPREMOTEIP: 'stale',
  NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem',
};

/** Log text with what differs by nature made equal: pids, the chosen ports, the version id. */
function norm(s: string): string {
  return s
    .replace(/\b(pid|start|deny|exec|end) \d+/g, '$1 P')
    .replace(/listening on ([\d.]+):\d+/g, 'listening on $1:PORT')
    .replace(/:(\d+\.\d+\.\d+\.\d+):\d+/g, ':$1:N')
    .replace(/\$Id:[^$]*\$/g, '$Id$')
    .replace(/^udpsvd: native addon: (in use|not in use|not built).*\n/m, ''); // -V: ours says whether the addon is in use
}

function ends(s: string): number {
  return (s.match(/udpsvd: info: end \d+/g) ?? []).length;
}

async function waitEnds(srv: UdpServer, n: number, ms = 8000): Promise<void> {
  const until = Date.now() + ms;
  while (ends(srv.stdout()) < n) {
    if (Date.now() > until) throw new Error(`expected ${n} end lines: ${srv.stdout()}${srv.stderr()}`);
    await sleep(10);
  }
}

interface Run {
  log: string;
  err: string;
  files: Record<string, string>;
  code: number | null;
}

/**
 * Starts cmd with flags, sends each datagram in turn (waiting for its "end"
 * line: the flags must include -v), stops the server. prog(dir) builds the
 * command line given a fresh directory for its output files.
 */
async function session(cmd: string, flags: string[], prog: (dir: string) => string[],
                       datagrams: Array<[from: string, data: string]>, env: NodeJS.ProcessEnv = baseEnv,
                       files: string[] = [], host = '127.0.0.1'): Promise<Run> {
  const dir = mkdtempSync(path.join(tmp, 'run-'));
  const srv = await startUdp(cmd, flags, host, prog(dir), env);
  let code: number | null = null;
  try {
    for (let i = 0; i < datagrams.length; i++) {
      await sendFrom(datagrams[i][0], srv.port, datagrams[i][1]);
      await waitEnds(srv, i + 1);
    }
  } finally {
    code = await srv.stop();
  }
  const out: Record<string, string> = {};
  for (const f of files) {
    try {
      out[f] = readFileSync(path.join(dir, f), 'utf8');
    } catch {
      out[f] = '(missing)';
    }
  }
  return { log: norm(srv.stdout()), err: norm(srv.stderr()), files: out, code };
}

// prog: records its environment and the datagram it reads, writes to its fd 1.
const recorder = (dir: string) => ['sh', '-c',
  `env > ${dir}/env; dd bs=4096 count=1 >> ${dir}/data 2>/dev/null; echo; echo to-fd1; ls -l /proc/$$/fd/0 > ${dir}/fd0; ` +
  `grep -E '^Sig(Ign|Blk)' /proc/self/status > ${dir}/signals`];

t.test('options: usage, version and exit codes as the reference', { skip: noRef }, async (t) => {
  const cases: string[][] = [
    [], ['-V'], ['0'], ['0', '0'],
    ['-c', '3', '0', '0', 'true'], // ipsvd 1.0.0's udpsvd has no -c (nor -C, -b, -E)
    ['-C', '1', '0', '0', 'true'], ['-E', '0', '0', 'true'], ['-b', '1', '0', '0', 'true'],
    ['-i', 'a', '-x', 'b', '0', '0', 'true'], ['-x', 'b', '-i', 'a', '0', '0', 'true'],
    ['-u', 'no-such-user', '127.0.0.1', '0', 'true'], ['-u', 'nobody:no-such-group', '127.0.0.1', '0', 'true'],
    ['-l', 'x', '127.0.0.1', 'no-such-port', 'true'], ['-l', 'x', '127.0.0.1', '', 'true'],
    ['-l', 'x', '127.0.0.1', 'tcpmux', 'true'], // tcp only in /etc/services
    ['-l', 'x', '192.0.2.1', '0', 'true'], // not a local address: cannot bind
    ['-l', 'x', '127.1', '0', 'true'], ['-l', 'x', 'no-such-host.example', '0', 'true'], // no address (fake DNS)
  ];
  // A few at a time: each is a fresh process of each kind.
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const runs = await Promise.all(batch.map((args) => Promise.all([runOnce(REF, args, baseEnv), runOnce(OURS, args, baseEnv)])));
    batch.forEach((args, j) => {
      const [ref, ours] = runs[j];
      t.same({ code: ours.code, err: norm(ours.stderr), out: ours.stdout },
        { code: ref.code, err: norm(ref.stderr), out: ref.stdout }, `udpsvd ${args.join(' ')}`);
    });
  }
});

t.test('environment: prog gets the server\'s own, as the reference (no variable added), on both launchers', { skip: noRef }, async (t) => {
  for (const [flags, launcher] of [['-v'], ['-v', '-l', 'local.name'], ['-v', '-l', ''], ['-vv', '-h', '-l', 'x']]
    .flatMap((f) => [[f, 'native'], [f, 'spawn']] as Array<[string[], string]>)) {
    const send: Array<[string, string]> = [['127.0.0.9', 'hello\n']];
    const files = ['env', 'data', 'fd0', 'signals'];
    // Both servers are given $UCSPI_LAUNCHER: it reaches prog in both environments alike.
    const env = { ...baseEnv, UCSPI_LAUNCHER: launcher };
    const [ref, ours] = await Promise.all([session(REF, flags, recorder, send, env, files), session(OURS, flags, recorder, send, env, files)]);
    const refEnv = parseEnv(ref.files.env), ourEnv = parseEnv(ours.files.env);
    for (const e of [refEnv, ourEnv]) for (const k of Object.keys(e)) if (k.startsWith('_TAPJS')) delete e[k];
    t.same(ourEnv, refEnv, `${flags.join(' ')}, ${launcher}: environment`);
    t.equal(ourEnv.UDPREMOTEIP, 'stale', 'the server\'s own variables pass through untouched');
    t.equal(ourEnv.NODE_EXTRA_CA_CERTS, '/nonexistent/ca.pem');
    t.equal(ours.files.data, 'hello\n', 'prog read the datagram itself');
    t.equal(ours.files.data, ref.files.data);
    t.match(ours.files.fd0, /socket:/, 'fd 0 is the socket');
    t.equal(ours.err, ref.err, 'fd 1 is the server\'s standard error');
    t.match(ours.err, /to-fd1/);
    t.equal(ours.files.signals, ref.files.signals, 'no signal ignored or blocked that the reference leaves alone');
    t.equal(ours.log, ref.log, `${flags.join(' ')}, ${launcher}: log lines`);
  }
  // Host 0: every local address, and the log line says 0.0.0.0.
  const send: Array<[string, string]> = [['127.0.0.9', 'any\n']];
  const [ref, ours] = await Promise.all([session(REF, ['-v', '-l', 'me'], recorder, send, baseEnv, ['data'], '0'), session(OURS, ['-v', '-l', 'me'], recorder, send, baseEnv, ['data'], '0')]);
  t.same(ours, ref, 'host 0');
  t.match(ours.log, /listening on 0\.0\.0\.0:PORT, starting\.\n.*\n.*start P me:0\.0\.0\.0 ::127\.0\.0\.9:N/);
});

function peersDir(): string {
  const d = mkdtempSync(path.join(tmp, 'peers-'));
  writeFileSync(path.join(d, '127.0.0.2'), '');
  chmodSync(path.join(d, '127.0.0.2'), 0o000); // deny
  // Every value holds a non-ASCII byte (UTF-8 text): it must reach prog byte for byte.
  writeFileSync(path.join(d, '127.0.0.3'), '+GREETING=hello wörld\n+FOO\n+UDPREMOTEIP=sét\n');
  writeFileSync(path.join(d, '127.0.4'), '+NET=café\n# comment\n');
  // An executable entry: its command runs instead of prog (and must read the datagram).
  writeFileSync(path.join(d, '127.0.0.5'), 'dd bs=4096 count=1 2>/dev/null | sed s/^/exec:/ >&2\n');
  chmodSync(path.join(d, '127.0.0.5'), 0o755);
  writeFileSync(path.join(d, '127.0.0.6'), 'bad instruction\n+OK=1é\n');
  writeFileSync(path.join(d, '127.0.0.7'), '=127.0.0.8\n');
  return d;
}

const RULE_CLIENTS: Array<[string, string]> = [
  ['127.0.0.2', 'denied\n'], ['127.0.0.9', 'after-deny\n'], ['127.0.0.3', 'three\n'], ['127.0.4.1', 'net\n'],
  ['127.0.0.5', 'five\n'], ['127.0.0.6', 'six\n'], ['127.0.0.7', 'seven\n'], ['127.0.0.2', 'denied-again\n'],
  ['127.1.2.3', 'other\n'],
];

// prog: the variables the instructions touch, and the datagram.
const ruleProg = (dir: string) => ['sh', '-c',
  `echo "$GREETING|\${FOO-unset}|$NET|$OK|$UDPREMOTEIP" >> ${dir}/vars; dd bs=4096 count=1 >> ${dir}/data 2>/dev/null`];

t.test('instructions: peers dir and cdb, log lines at -v and -vv, as the reference', needReference('udpsvd', 'ipsvd-cdb'), async (t) => {
  const dir = peersDir();
  const cdb = path.join(tmp, 'peers.cdb');
  const mk = spawnSync(reference('ipsvd-cdb'), [cdb, cdb + '.tmp', dir], { timeout: 10000 });
  const haveCdb = mk.status === 0;
  for (const [v, launcher] of [['-v', 'native'], ['-vv', 'native'], ['-v', 'spawn']]) {
    for (const rules of haveCdb ? [['-i', dir], ['-x', cdb]] : [['-i', dir]]) {
      const flags = [v, '-l', 'me', ...rules];
      const env = { ...baseEnv, UCSPI_LAUNCHER: launcher };
      const [ref, ours] = await Promise.all([session(REF, flags, ruleProg, RULE_CLIENTS, env, ['vars', 'data']), session(OURS, flags, ruleProg, RULE_CLIENTS, env, ['vars', 'data'])]);
      const what = `${flags.join(' ')}, ${launcher}`;
      t.equal(ours.log, ref.log, `${what}: log lines`);
      t.equal(ours.err, ref.err, `${what}: warnings and exec output`);
      t.same(ours.files, ref.files, `${what}: what prog saw`);
      for (const v of ['hello wörld', 'café', '1é', 'sét']) t.match(ours.files.vars, v, `${what}: ${v} byte for byte`);
      t.notMatch(ours.files.data, /denied/, 'a denied datagram is discarded, never read by prog');
      t.match(ours.files.data, /after-deny/, 'the one after it is served');
      t.match(ours.log, /deny P me:127\.0\.0\.1 ::127\.0\.0\.2:N/);
    }
  }
  t.test('unreadable instructions: the datagram is discarded', async (t) => {
    const flags = ['-v', '-l', 'me', '-x', path.join(tmp, 'no-such.cdb')];
    const send: Array<[string, string]> = [['127.0.0.9', 'lost\n'], ['127.0.0.10', 'lost too\n']];
    const [ref, ours] = await Promise.all([session(REF, flags, ruleProg, send, baseEnv, ['data']), session(OURS, flags, ruleProg, send, baseEnv, ['data'])]);
    t.equal(ours.log, ref.log);
    t.equal(ours.err, ref.err);
    t.match(ours.err, /udpsvd: drop: discard data: unable to read: .*no-such\.cdb: file does not exist/);
    t.equal(ours.files.data, '(missing)', 'prog never ran');
  });
  t.test('a damaged cdb: the datagram is discarded, worded as the reference', { skip: !haveCdb && 'ipsvd-cdb failed' }, async (t) => {
    const damaged = path.join(tmp, 'damaged.cdb');
    writeFileSync(damaged, readFileSync(cdb).subarray(0, 2049)); // cut short after its header
    const flags = ['-v', '-l', 'me', '-x', damaged];
    // A sender with an entry: its lookup reads where the file was cut (one
    // without may be answered from the header alone by ipsvd's reader).
    const send: Array<[string, string]> = [['127.0.0.3', 'lost\n']];
    const [ref, ours] = await Promise.all([session(REF, flags, ruleProg, send, baseEnv, ['data']), session(OURS, flags, ruleProg, send, baseEnv, ['data'])]);
    t.equal(ours.log, ref.log);
    t.equal(ours.err, ref.err);
    t.equal(ours.err, 'udpsvd: drop: discard data: unable to check inst: 127.0.0.3: protocol error\n');
    t.equal(ours.files.data, '(missing)', 'prog never ran');
  });
});

t.test('a value that is not UTF-8 reaches prog byte for byte through the addon\'s launcher, as the reference', { skip: noRef }, async (t) => {
  const d = mkdtempSync(path.join(tmp, 'peers-raw-'));
  // café, then bytes that are no UTF-8 at all.
  writeFileSync(path.join(d, '127.0.0.3'), Buffer.concat([Buffer.from('+RAW=café ', 'utf8'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('\n')]));
  const prog = (dir: string) => ['sh', '-c', `printf %s "$RAW" | od -An -tx1 | tr -s ' \\n' ' ' > ${dir}/raw; dd bs=4096 count=1 of=/dev/null 2>/dev/null`];
  const send: Array<[string, string]> = [['127.0.0.3', 'x\n']];
  const run = (cmd: string, env: NodeJS.ProcessEnv) => session(cmd, ['-v', '-l', 'me', '-i', d], prog, send, env, ['raw']);
  const [ref, native, spawned] = await Promise.all([run(REF, baseEnv), run(OURS, { ...baseEnv, UCSPI_LAUNCHER: 'native' }),
    run(OURS, { ...baseEnv, UCSPI_LAUNCHER: 'spawn' })]);
  t.equal(ref.files.raw.trim(), '63 61 66 c3 a9 20 ff fe 80', 'precondition: the reference passes the bytes as they are');
  t.equal(native.files.raw, ref.files.raw, 'the addon\'s launcher: byte for byte');
  t.equal(native.log, ref.log);
  // child_process takes text: bytes that are not UTF-8 become U+FFFD (udpsvd(8)); UTF-8 passes as it is.
  t.equal(spawned.files.raw.trim(), '63 61 66 c3 a9 20 ef bf bd ef bf bd ef bf bd', 'child_process: UTF-8 as it is, the rest U+FFFD');
  t.equal(spawned.log, ref.log);
});

t.test('one prog at a time: datagrams meanwhile wait in the socket, then prog runs again', { skip: noRef }, async (t) => {
  // Each prog reads one datagram, then lingers; the next ones arrive while it runs.
  const slow = (dir: string) => ['sh', '-c', `dd bs=4096 count=1 >> ${dir}/data 2>/dev/null; sleep 0.4`];
  const burst = async (cmd: string) => {
    const dir = mkdtempSync(path.join(tmp, 'burst-'));
    const srv = await startUdp(cmd, ['-v', '-l', 'me'], '127.0.0.1', slow(dir), baseEnv);
    try {
      for (const from of ['127.0.0.11', '127.0.0.12', '127.0.0.13']) await sendFrom(from, srv.port, `${from}\n`);
      await waitEnds(srv, 3);
    } finally {
      await srv.stop();
    }
    return { log: norm(srv.stdout()), raw: srv.stdout(), data: readFileSync(path.join(dir, 'data'), 'utf8') };
  };
  const [ref, ours] = await Promise.all([burst(REF), burst(OURS)]);
  t.equal(ours.log, ref.log, 'the same lines in the same order');
  t.equal(ours.data, '127.0.0.11\n127.0.0.12\n127.0.0.13\n', 'every datagram handled, in order');
  t.equal(ours.data, ref.data);
  // Never two progs at once: every start is followed by its own end before the next start.
  const seq = ours.raw.split('\n').map((l) => /info: (start|end) (\d+)/.exec(l)).filter((m) => m !== null);
  t.equal(seq.length, 6);
  for (let i = 0; i < seq.length; i += 2) {
    t.same([seq[i]![1], seq[i + 1]![1], seq[i + 1]![2]], ['start', 'end', seq[i]![2]], `prog ${i / 2 + 1} ends before the next starts`);
  }

  t.test('a prog that reads on handles the later datagrams itself', async (t) => {
    const greedy = (dir: string) => ['sh', '-c', `for i in 1 2 3; do dd bs=4096 count=1 >> ${dir}/data 2>/dev/null; done`];
    const run = async (cmd: string) => {
      const dir = mkdtempSync(path.join(tmp, 'greedy-'));
      const srv = await startUdp(cmd, ['-v', '-l', 'me'], '127.0.0.1', greedy(dir), baseEnv);
      try {
        for (const from of ['127.0.0.14', '127.0.0.15', '127.0.0.16']) await sendFrom(from, srv.port, `${from}\n`);
        await waitEnds(srv, 1);
        await sleep(300); // a second prog would start now if one were started
      } finally {
        await srv.stop();
      }
      return { log: norm(srv.stdout()), data: readFileSync(path.join(dir, 'data'), 'utf8') };
    };
    const [r, o] = await Promise.all([run(REF), run(OURS)]);
    t.same(o, r);
    t.equal((o.log.match(/start P/g) ?? []).length, 1, 'one prog for three datagrams');
  });
});

t.test('prog cannot be run: that datagram is discarded, the next one is served', { skip: noRef }, async (t) => {
  // ipsvd discards through the socket's old descriptor, already moved to 0:
  // recv(2) fails (EBADF, which it then reports), the datagram stays and the
  // reference starts over for it without end. Ours discards it (udpsvd(8)).
  const flags = ['-v', '-l', 'me'];
  const ours = await session(OURS, flags, () => ['/nonexistent/prog'], [['127.0.0.9', 'a\n'], ['127.0.0.10', 'b\n']]);
  t.equal(ours.err, 'udpsvd: drop: discard data: unable to run: /nonexistent/prog: file does not exist\n'.repeat(2));
  t.equal((ours.log.match(/start P/g) ?? []).length, 2, 'one attempt per datagram');
  // The reference words the first attempt's lines alike.
  const srv = await startUdp(REF, flags, '127.0.0.1', ['/nonexistent/prog'], baseEnv);
  try {
    await sendFrom('127.0.0.9', srv.port, 'a\n');
    await waitEnds(srv, 1);
  } finally {
    await srv.stop();
  }
  t.equal(ours.log.split('\n').slice(0, 4).join('\n'), norm(srv.stdout()).split('\n').slice(0, 4).join('\n'));
  t.match(srv.stderr(), /^udpsvd: drop: discard data: unable to run: \/nonexistent\/prog: /);
});

t.test('SIGTERM: "sigterm received, exit." at -v, exit 0; a running prog is left alone', { skip: noRef }, async (t) => {
  const run = async (cmd: string) => {
    const dir = mkdtempSync(path.join(tmp, 'term-'));
    const prog = ['sh', '-c', `echo $$ > ${dir}/pid; dd bs=4096 count=1 >/dev/null 2>&1; sleep 30`];
    const srv = await startUdp(cmd, ['-v', '-l', 'me'], '127.0.0.1', prog, baseEnv);
    let alive = false;
    try {
      await sendFrom('127.0.0.9', srv.port, 'x');
      await srv.waitLog(/start \d+/);
      for (let i = 0; i < 200 && !existsSync(path.join(dir, 'pid')); i++) await sleep(10);
      const pid = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
      srv.proc.kill('SIGTERM');
      await new Promise((r) => srv.proc.once('exit', r));
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    } finally {
      await srv.stop(); // ends the lingering prog too
    }
    return { code: srv.proc.exitCode, log: norm(srv.stdout()), alive };
  };
  const [ref, ours] = await Promise.all([run(REF), run(OURS)]);
  t.same(ours, ref);
  t.same(ours, { code: 0, alive: true, log: ours.log });
  t.match(ours.log, /udpsvd: info: sigterm received, exit\.\n$/);
});

t.test('-u: privileges dropped after binding, as the reference', { skip: noRef || (process.getuid!() !== 0 && 'needs root') }, async (t) => {
  // prog as nobody may write nowhere but its descriptors (here not even /dev/null).
  const prog = () => ['sh', '-c', 'dd bs=4096 count=1 status=none >&2; echo; id -u >&2; id -g >&2; id -G >&2'];
  for (const spec of ['nobody', 'nobody:nogroup', ':65534:65534:0']) {
    const flags = ['-v', '-l', 'me', '-u', spec];
    const send: Array<[string, string]> = [['127.0.0.9', 'x']];
    const [ref, ours] = await Promise.all([session(REF, flags, prog, send), session(OURS, flags, prog, send)]);
    // (What follows on stderr is tap's process tracking failing to write as nobody at exit.)
    const progOut = (e: string) => e.split('\n').slice(0, 4).join('\n');
    t.equal(progOut(ours.err), progOut(ref.err), `${spec}: uid, gid and groups`);
    t.match(ours.err, /^x\n65534\n/);
    // ipsvd prints the address of its gid array as the gid: ours prints the gid (see udpsvd(8)).
    const gidless = (s: string) => s.replace(/, gid \d+/, ', gid G');
    t.equal(gidless(ours.log), gidless(ref.log), `${spec}: log lines but the gid`);
    t.match(ours.log, /listening on 127\.0\.0\.1:PORT, uid 65534, gid 65534, starting\./);
  }
});

t.test('names from $DNSCACHEIP: local name at start, -h and -p, by-name instructions, as the reference',
  { skip: noRef || (process.getuid!() !== 0 && 'the reference asks port 53: needs root') }, async (t) => {
    const dns = await startFakeDns(namesZone(), { port53: true });
    t.teardown(() => dns.close());
    const env = { ...baseEnv, DNSCACHEIP: dns.addr };
    const clients: Array<[string, string]> = [
      ['127.0.0.21', 'a\n'], ['127.0.0.22', 'b\n'], ['127.0.0.23', 'c\n'], ['127.0.0.27', 'd\n'], ['127.0.0.9', 'e\n'],
    ];
    const d = mkdtempSync(path.join(tmp, 'peers-'));
    writeFileSync(path.join(d, 'good.example'), '+BYNAME=host\n');
    writeFileSync(path.join(d, 'example'), '+BYNAME=domain\n');
    const prog = (dir: string) => ['sh', '-c', `echo "\${BYNAME-none}" >> ${dir}/vars; dd bs=4096 count=1 >/dev/null 2>&1`];
    for (const flags of [['-v'], ['-v', '-h'], ['-v', '-p'], ['-vv', '-h', '-i', d], ['-vv', '-p', '-i', d]]) {
      // -p and a hostile name: djb's resolver asks for it and waits a minute for the fake server's
      // silence; ours never asks for a name it could not use (tcpsvd(8)). Not compared.
      const some = flags.includes('-p') ? clients.filter(([ip]) => ip !== '127.0.0.23' && ip !== '127.0.0.27') : clients;
      const [ref, ours] = await Promise.all([session(REF, flags, prog, some, env, ['vars']), session(OURS, flags, prog, some, env, ['vars'])]);
      t.equal(ours.log, ref.log, `${flags.join(' ')}: log lines`);
      t.equal(ours.err, ref.err, `${flags.join(' ')}: warnings`);
      t.same(ours.files, ref.files, `${flags.join(' ')}: instructions by name`);
    }
    t.match((await session(OURS, ['-v', '-h'], prog, clients.slice(0, 1), env)).log,
      /start P local\.example:127\.0\.0\.1 :good\.example:127\.0\.0\.21:N/, 'names in the start line');
  });

t.test('without the addon: a clear start-up error, exit 111', async (t) => {
  const r = await runOnce(OURS, ['-l', 'me', '127.0.0.1', '0', 'true'], { ...baseEnv, UCSPI_NO_NATIVE: '1' });
  t.equal(r.code, 111);
  t.equal(r.stderr, 'udpsvd: fatal: unable to create socket: no native addon with udpBind (build/Release/ucspi.node; npm install builds it)\n');
});

t.test('port 0: ours prints the port it got (the reference prints 0)', async (t) => {
  const p = spawn(OURS, ['-v', '-l', 'me', '127.0.0.1', '0', 'true'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => killGroup(p.pid));
  let out = '';
  p.stdout!.on('data', (b) => { out += b; });
  await waitFor('the listening line', () => out.includes('\n'), 8000);
  const m = /^udpsvd: info: listening on 127\.0\.0\.1:(\d+), starting\.\n$/.exec(out);
  t.ok(m && Number(m[1]) > 0, `listening line with a real port: ${out}`);
});

t.test('parseArgs and udp port names', async (t) => {
  t.throws(() => parseArgs(['-i', 'a', '-x', 'b', '0', '0', 'p']), /usage/);
  t.throws(() => parseArgs(['-c', '2', '0', '0', 'p']), /illegal option -- c/);
  t.throws(() => parseArgs(['-t', 'x', '0', '0', 'p']), /usage/);
  t.same(parseArgs(['-vv', '-p', '-t', '5', '-i', 'd', '0', '53', 'prog', '-x']),
    { verbose: 2, lookup: true, paranoid: true, timeout: 5, rules: { kind: 'peers-dir', path: 'd' },
      host: '0', port: '53', prog: ['prog', '-x'] });
  const services = path.join(tmp, 'services');
  writeFileSync(services, 'tftp\t\t69/udp\nsmtp\t\t25/tcp\t\tmail\nboth\t\t99/tcp\nboth\t\t98/udp\n');
  t.equal(parsePort('tftp', services, 'udp'), 69);
  t.equal(parsePort('tftp', services), undefined, 'tcp by default');
  t.equal(parsePort('both', services, 'udp'), 98);
  t.equal(parsePort('mail', services, 'udp'), undefined);
});
