// Our inetd against Debian's openbsd-inetd (/usr/sbin/inetd): the same
// inetd.conf, each server on its own random 127/8 address (the internal
// services have fixed ports), one after the other on ::1, and the same
// observations from both: what answers, the internal services' answers
// (daytime and time compared modulo the clock), the program's argv, fds,
// user and environment, tcpd's allow/deny, a SIGHUP reread, nowait.N and a
// dgram wait program.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { BIN, descendants, killGroup, needPackage, ours, sleep, spawn, waitFor, which } from './helpers/common';
import {
  canUnshare, freePortOn, needOpenbsdInetd, randomLoopback, startInetd, type StartOptions, TCPD, tcpTalk, tmpDir, udpAsk,
} from './helpers/inetd';
import { listeners } from './helpers/net';
import { needExtrausers } from './helpers/nss';

const Impls = ['ours', 'debian'] as const;
type Impl = typeof Impls[number];

const skipAll = needOpenbsdInetd().skip || (canUnshare() ? false : 'needs root and unshare -m (Debian\'s inetd writes /run/inetd.pid)');

const DAYTIME = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 123]\d \d\d:\d\d:\d\d \d{4}\r\n$/;

/** A daytime answer as "ok" when it has ctime's form and is within 5 s of now. */
function daytimeOk(s: string | Buffer | undefined): string {
  const text = s === undefined ? '' : s.toString();
  if (!DAYTIME.test(text)) return `bad: ${JSON.stringify(text)}`;
  const when = new Date(text.trim().replace(/^\w+ (\w+) +(\d+) ([\d:]+) (\d+)$/, '$1 $2 $4 $3')).getTime();
  return Math.abs(when - Date.now()) <= 5000 ? 'ok' : `off by ${when - Date.now()} ms`;
}

/** A time answer as "ok" when it is 4 bytes within 5 s of now. */
function timeOk(b: Buffer | undefined): string {
  if (!b || b.length !== 4) return `bad: ${b?.toString('hex')}`;
  const secs = b.readUInt32BE(0) - 2208988800;
  return Math.abs(secs - Date.now() / 1000) <= 5 ? 'ok' : `off by ${secs - Date.now() / 1000} s`;
}

const closed = (s: string) => (s === '' || s === 'ERR:ECONNRESET' ? 'closed' : s);

/** Runs scenario against both implementations, one after the other, and compares what each saw. */
async function both(t: Test, what: string, scenario: (impl: Impl, dir: string) => Promise<Record<string, unknown>>) {
  const seen: Partial<Record<Impl, Record<string, unknown>>> = {};
  for (const impl of Impls) {
    const dir = tmpDir(`inetd-diff-${impl}-`);
    try {
      seen[impl] = await scenario(impl, dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  t.same(seen.ours, seen.debian, `${what}: ours as openbsd-inetd`);
  return seen;
}

t.test('internal services and programs over TCP', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'tcp services', async (impl, dir) => {
    const ip = randomLoopback();
    const [pEnv, pId, pFd, pMissing, pArgv, pArgv0, pSig] = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(() => freePortOn(ip)));
    // The descriptors ls itself holds, whatever it inherited: the shell's own
    // (/proc/$$/fd) race with the command substitution's pipe being closed.
    fs.writeFileSync(path.join(dir, 'fds'), '#!/bin/sh\necho "$0" "$@"; for f in 0 1 2; do readlink /proc/$$/fd/$f; done; echo $(ls /proc/self/fd)\n', { mode: 0o755 });
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, [
      `${ip}:echo stream tcp nowait root internal`,
      `${ip}:discard stream tcp nowait root internal`,
      `${ip}:daytime stream tcp nowait root internal`,
      `${ip}:time stream tcp nowait root internal`,
      `${ip}:chargen stream tcp nowait root internal`,
      `${ip}:${pEnv} stream tcp nowait root /usr/bin/env env`,
      `${ip}:${pId} stream tcp nowait nobody /usr/bin/id id`,
      `${ip}:${pFd} stream tcp nowait root ${dir}/fds fds-argv0 one two`,
      `${ip}:${pMissing} stream tcp nowait root ${dir}/no-such-program x`,
      `${ip}:${pArgv} stream tcp nowait root ${dir}/fds`,
      `${ip}:${pArgv0} stream tcp nowait root /bin/sh argv0-given -c cat\${IFS}/proc/$$/cmdline`,
      `${ip}:${pSig} stream tcp nowait root /bin/grep grep -E ^Sig(Ign|Blk) /proc/self/status`,
      `${ip}:7001 stream tcp nowait root internal`,
      '',
    ].join('\n'));
    // Descriptors the server inherited (fd 5 here, and whatever the runner left open) must not reach a program.
    const stray = fs.openSync(conf, 'r');
    const srv = await startInetd(impl, conf, dir, { tcp: [7, 9, 13, 37, 19, pEnv, pId, pFd, pMissing, pArgv, pArgv0, pSig], inheritFd: stray });
    fs.closeSync(stray);
    try {
      const env = Object.fromEntries((await tcpTalk(ip, pEnv)).split('\n').filter(Boolean).map((l) => l.split(/=(.*)/s).slice(0, 2)));
      delete env._; // the path of whatever started the server
      const fds = (await tcpTalk(ip, pFd)).replaceAll(dir, 'DIR').split('\n');
      const argvOnly = (await tcpTalk(ip, pArgv)).replaceAll(dir, 'DIR').split('\n')[0];
      return {
        echo: await tcpTalk(ip, 7, { send: 'hello, echo\r\n', end: true }),
        discard: await tcpTalk(ip, 9, { send: 'into the void\r\n', end: true }),
        daytime: daytimeOk(await tcpTalk(ip, 13)),
        time: timeOk(Buffer.from(await tcpTalk(ip, 37), 'latin1')),
        chargen: await tcpTalk(ip, 19, { max: 74 * 5 }).then((s) => s.slice(0, 74 * 5)),
        env,
        id: await tcpTalk(ip, pId),
        argv: fds[0],
        argvDefault: argvOnly,
        argv0: (await tcpTalk(ip, pArgv0)).split('\0'),
        signals: await tcpTalk(ip, pSig),
        fdsAreTheSocket: fds.slice(1, 4).every((l) => /^socket:\[\d+\]$/.test(l) && l === fds[1]),
        fdsOpen: fds[4],
        missingProgram: closed(await tcpTalk(ip, pMissing)),
        unknownInternal: await tcpTalk(ip, 7001),
      };
    } finally {
      await srv.stop();
    }
  });
  t.equal(seen.ours?.daytime, 'ok', 'daytime in ctime form, now');
  t.equal(seen.ours?.time, 'ok', 'time: seconds since 1900, now');
  t.equal(seen.ours?.echo, 'hello, echo\r\n');
  t.same((seen.ours?.argv0 as string[]).slice(0, 2), ['argv0-given', '-c'], 'argv[0] from the line, apart from the path');
  t.equal(seen.ours?.fdsAreTheSocket, true, 'fds 0, 1 and 2 are the socket');
  t.match(seen.ours?.signals, /^SigBlk:\s+0+\nSigIgn:\s+0+\n$/, 'no signal blocked or ignored in the program');
  t.notOk('PATH' in (seen.ours?.env as object), 'PATH laundered away');
});

t.test('tcpd-wrapped program: the same allow and deny; and inetconv\'s translation served by tcpsvd decides alike', { skip: skipAll || needPackage('tcpd', fs.existsSync(TCPD), `${TCPD} (allow/deny not compared)`) }, async (t) => {
  const seen = await both(t, 'tcpd', async (impl, dir) => {
    const ip = randomLoopback();
    const port = await freePortOn(ip);
    fs.writeFileSync(path.join(dir, 'hosts.allow'), 'greet: 127.0.0.1\n');
    fs.writeFileSync(path.join(dir, 'hosts.deny'), 'ALL: ALL\n');
    fs.writeFileSync(path.join(dir, 'greet'), '#!/bin/sh\necho "hello $0"\n', { mode: 0o755 });
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, `${ip}:${port} stream tcp nowait root ${TCPD} ${dir}/greet\n`);
    const srv = await startInetd(impl, conf, dir, { tcp: [port], hostsAllow: path.join(dir, 'hosts.allow'), hostsDeny: path.join(dir, 'hosts.deny') });
    try {
      return {
        allowed: (await tcpTalk(ip, port, { local: '127.0.0.1' })).replace(dir, 'DIR'),
        // (tcpd waits 5 s before it closes a refused connection)
        denied: closed(await tcpTalk(ip, port, { local: '127.0.0.3', ms: 12_000 })),
      };
    } finally {
      await srv.stop();
    }
  });
  t.same(seen.ours, { allowed: 'hello DIR/greet\n', denied: 'closed' });
  // The same line and tables through inetconv: tcpd unwrapped, the tables as peers for tcpsvd.
  const dir = tmpDir('inetd-diff-inetconv-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ip = randomLoopback();
  const port = await freePortOn(ip);
  fs.writeFileSync(path.join(dir, 'hosts.allow'), 'greet: 127.0.0.1\n');
  fs.writeFileSync(path.join(dir, 'hosts.deny'), 'ALL: ALL\n');
  fs.writeFileSync(path.join(dir, 'greet'), '#!/bin/sh\necho "hello $0"\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'inetd.conf'), `${ip}:${port} stream tcp nowait root ${TCPD} ${dir}/greet\n`);
  const conv = spawnSync(ours('inetconv'), ['-i', `${dir}/inetd.conf`, '-a', `${dir}/hosts.allow`, '-D', `${dir}/hosts.deny`, '-d', `${dir}/sv`, '-B', BIN],
    { encoding: 'utf8', timeout: 30_000 });
  t.equal(conv.status, 0, `inetconv converts (${conv.stderr})`);
  const svc = path.join(dir, 'sv', port.toString());
  const svcDir = fs.existsSync(svc) ? svc : path.join(dir, 'sv', fs.readdirSync(path.join(dir, 'sv'))[0]);
  const run = spawn('/bin/sh', ['./run'], { cwd: svcDir, stdio: 'ignore', env: { ...process.env, DNSCACHEIP: '127.0.0.1' } });
  t.teardown(() => killGroup(run.pid));
  await waitFor('tcpsvd listening', () => listeners(run.pid!).some((l) => l.port === port) ||
    descendants(run.pid!).some((p) => listeners(p).some((l) => l.port === port)));
  t.same({
    allowed: (await tcpTalk(ip, port, { local: '127.0.0.1' })).replace(dir, 'DIR'),
    denied: closed(await tcpTalk(ip, port, { local: '127.0.0.3' })),
  }, seen.ours, 'inetconv\'s translation under tcpsvd: the same decisions as tcpd under inetd');
});

t.test('SIGHUP: services added, removed and changed', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'reread', async (impl, dir) => {
    const ip = randomLoopback();
    const [pA, pC] = await Promise.all([freePortOn(ip), freePortOn(ip)]);
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, `${ip}:${pA} stream tcp nowait root /bin/echo echo first\n${ip}:daytime stream tcp nowait root internal\n`);
    const srv = await startInetd(impl, conf, dir, { tcp: [pA, 13] });
    try {
      const before = { a: await tcpTalk(ip, pA), daytime: daytimeOk(await tcpTalk(ip, 13)) };
      fs.writeFileSync(conf, `${ip}:${pA} stream tcp nowait root /bin/echo echo second\n${ip}:${pC} stream tcp nowait root /bin/echo echo added\n`);
      srv.hup();
      const end = Date.now() + 8000;
      for (;;) {
        const ports = new Set(listeners(srv.pid).map((l) => l.port));
        if (ports.has(pC) && !ports.has(13)) break;
        if (Date.now() > end) throw new Error(`${impl}: reread not seen: ${srv.stderr()}`);
        await sleep(20);
      }
      return { before, after: { a: await tcpTalk(ip, pA), c: await tcpTalk(ip, pC), daytime: await tcpTalk(ip, 13) } };
    } finally {
      await srv.stop();
    }
  });
  t.same(seen.ours?.after, { a: 'second\n', c: 'added\n', daytime: 'ERR:ECONNREFUSED' }, 'changed, added, removed');
});

t.test('nowait.N: N - 1 programs a minute, then the service is closed (or, IPv4 port >= 1024, the client dropped)', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'nowait.3', async (impl, dir) => {
    const ip = randomLoopback();
    const [p4, p6] = await Promise.all([freePortOn(ip), freePortOn('::1')]);
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, `${ip}:${p4} stream tcp nowait.3 root /bin/echo echo hi\n[::1]:${p6} stream tcp6 nowait.3 root /bin/echo echo hi\n`);
    const srv = await startInetd(impl, conf, dir, { tcp: [p4, p6] });
    try {
      const v4: string[] = [], v6: string[] = [];
      for (let i = 0; i < 5; i++) v4.push(closed(await tcpTalk(ip, p4)));
      for (let i = 0; i < 3; i++) v6.push(closed(await tcpTalk('::1', p6)));
      // A client racing the close can be reset rather than refused: wait for the socket to go.
      const end = Date.now() + 3000;
      while (listeners(srv.pid).some((l) => l.port === p6) && Date.now() < end) await sleep(20);
      for (let i = 0; i < 2; i++) v6.push(closed(await tcpTalk('::1', p6)));
      const ports = new Set(listeners(srv.pid).map((l) => l.port));
      return { v4, v6, v4Listening: ports.has(p4), v6Listening: ports.has(p6) };
    } finally {
      await srv.stop();
    }
  });
  // openbsd-inetd counts the invocation before comparing with N: N - 1 programs start.
  t.same(seen.ours, {
    v4: ['hi\n', 'hi\n', 'closed', 'closed', 'closed'],
    v6: ['hi\n', 'hi\n', 'closed', 'ERR:ECONNREFUSED', 'ERR:ECONNREFUSED'],
    v4Listening: true, v6Listening: false,
  }, 'the counts');
});

t.test('dgram wait program: one at a time, each reads its datagram', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'dgram wait', async (impl, dir) => {
    const ip = randomLoopback();
    const port = await freePortOn(ip, true);
    const rec = path.join(dir, 'rec');
    // Reads one datagram, notes it with whether another copy was running, lingers a little.
    fs.writeFileSync(rec, '#!/bin/sh\nd=$1\nif ! mkdir "$d/lock" 2>/dev/null; then echo overlap >> "$d/data"; fi\n' +
      'dd bs=4096 count=1 2>/dev/null >> "$d/data"; echo >> "$d/data"; sleep 0.2; rmdir "$d/lock"\n', { mode: 0o755 });
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, `${ip}:${port} dgram udp4 wait root ${rec} rec ${dir}\n`);
    const srv = await startInetd(impl, conf, dir, { udp: [port] });
    try {
      for (const w of ['one', 'two', 'three']) await udpAsk(ip, ip, port, w, 1);
      const file = path.join(dir, 'data');
      const end = Date.now() + 8000;
      while (!(fs.existsSync(file) && fs.readFileSync(file, 'utf8').split('\n').length >= 4) && Date.now() < end) await sleep(20);
      await sleep(300);
      return { data: fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '(none)' };
    } finally {
      await srv.stop();
    }
  });
  t.equal(seen.ours?.data, 'one\ntwo\nthree\n', 'three runs, never two at once, each read its own datagram');
});

t.test('internal datagram services on ::1, and no answer to 127/8', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'udp internal', async (impl, dir) => {
    const ip = randomLoopback();
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, ['daytime', 'echo', 'chargen', 'time'].map((s) => `[::1]:${s} dgram udp6 wait root internal\n`).join('') +
      `${ip}:echo dgram udp4 wait root internal\n`);
    let srv;
    for (let i = 0; ; i++) {
      try {
        srv = await startInetd(impl, conf, dir, { udp: [13, 7, 19, 37] });
        break;
      } catch (e) {
        if (i >= 4) throw e; // ::1's fixed ports held by someone else meanwhile
        await sleep(500);
      }
    }
    try {
      return {
        daytime: daytimeOk(await udpAsk('::1', '::1', 13, 'x')),
        time: timeOk(await udpAsk('::1', '::1', 37, 'x')),
        echo: (await udpAsk('::1', '::1', 7, 'hello'))?.toString(),
        chargen: [(await udpAsk('::1', '::1', 19, 'x'))?.toString(), (await udpAsk('::1', '::1', 19, 'x'))?.toString()],
        echoFrom127: (await udpAsk(ip, ip, 7, 'hello', 500))?.toString() ?? 'none',
      };
    } finally {
      await srv.stop();
    }
  });
  t.equal(seen.ours?.echo, 'hello');
  t.equal(seen.ours?.echoFrom127, 'none', '127/8 senders get no answer');
});

/** python3 source: one UDP datagram over IPv6 from any source port (0 too), checksum computed. */
const RAW_UDP6 = `
import socket, struct, sys
sp, dp, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
data = b'x' * n
src = dst = socket.inet_pton(socket.AF_INET6, '::1')
ln = 8 + n
buf = src + dst + struct.pack('!I3xB', ln, 17) + struct.pack('!HHHH', sp, dp, ln, 0) + data
if len(buf) % 2: buf += b'\\0'
s = sum(struct.unpack('!%dH' % (len(buf) // 2), buf))
while s >> 16: s = (s & 0xffff) + (s >> 16)
r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
r.sendto(struct.pack('!HHHH', sp, dp, ln, (~s) & 0xffff or 0xffff) + data, ('::1', 0))
`;

/** Sends one datagram of n bytes from [::1]:from to [::1]:to through a raw socket (any source port). */
function rawUdp6(from: number, to: number, n = 5): void {
  const r = spawnSync('python3', ['-c', RAW_UDP6, String(from), String(to), String(n)], { timeout: 10_000, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`raw send failed: ${r.stderr}`);
}

/** Starts impl on a conf of fixed ports on ::1, retrying while someone else holds them. */
async function startFixed(impl: Impl, conf: string, dir: string, o: Parameters<typeof startInetd>[3]) {
  for (let i = 0; ; i++) {
    try {
      return await startInetd(impl, conf, dir, o);
    } catch (e) {
      if (i >= 4) throw e;
      await sleep(500);
    }
  }
}

t.test('internal services: datagrams from port 0, from their own port, oversized; clients that stall', {
  skip: skipAll || (which('python3') ? false : 'python3 not installed (it sends the raw datagrams)'),
}, async (t) => {
  const DG = { echo: 7, discard: 9, daytime: 13, chargen: 19, time: 37 } as const;
  const loops: Partial<Record<Impl, Record<string, string>>> = {};
  const seen = await both(t, 'bad senders', async (impl, dir) => {
    const ip = randomLoopback();
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, Object.keys(DG).map((s) => `[::1]:${s} dgram udp6 wait root internal\n${ip}:${s} stream tcp nowait root internal\n`).join(''));
    const srv = await startFixed(impl, conf, dir, { udp: Object.values(DG), tcp: Object.values(DG) });
    const stalled: net.Socket[] = [];
    try {
      const answers = async () => ({
        daytime: daytimeOk(await udpAsk('::1', '::1', 13, 'x')),
        time: timeOk(await udpAsk('::1', '::1', 37, 'x')),
        echo: (await udpAsk('::1', '::1', 7, 'hello'))?.toString(),
        chargen: (await udpAsk('::1', '::1', 19, 'x'))?.length,
        discard: (await udpAsk('::1', '::1', 9, 'x', 300))?.length ?? 'none',
        tcpEcho: await tcpTalk(ip, 7, { send: 'hi\r\n', end: true }),
        tcpDaytime: daytimeOk(await tcpTalk(ip, 13)),
        tcpChargen: (await tcpTalk(ip, 19, { max: 74 })).length >= 74,
      });
      // Source port 0: nothing can be sent there; every service must still answer the next client.
      for (const port of Object.values(DG)) rawUdp6(0, port);
      const afterPort0 = await answers();
      // Oversized: each reads what it reads of it and answers as usual.
      const oversized: Record<string, number | string> = {};
      for (const [name, port] of Object.entries(DG)) oversized[name] = (await udpAsk('::1', '::1', port, 'x'.repeat(65_000)))?.length ?? 'none';
      // Clients that stall: connected, never reading (chargen, echo fed but unread), or silent.
      for (const port of [7, 9, 13, 19, 37]) {
        for (let i = 0; i < 5; i++) {
          const s = net.connect({ host: ip, port });
          s.on('error', () => {});
          s.pause();
          if (port === 7) s.write(Buffer.alloc(1 << 20));
          stalled.push(s);
        }
      }
      await sleep(200);
      const whileStalled = await answers();
      // A datagram from the service's own port to itself: answered, it answers itself again.
      const mine: Record<string, string> = {};
      for (const [name, port] of Object.entries(DG)) {
        if (name === 'discard') continue;
        const wants = (s: string) => s.split('\n').filter((l) => l === `someone wants ${name}`).length;
        const before = wants(srv.stderr());
        rawUdp6(port, port);
        await sleep(500);
        mine[name] = wants(srv.stderr()) - before > 20 ? 'loops' : 'once';
      }
      loops[impl] = mine;
      return { afterPort0, oversized, whileStalled, alive: srv.proc.exitCode === null && srv.proc.signalCode === null };
    } finally {
      for (const s of stalled) s.destroy();
      await srv.stop();
    }
  });
  t.same(seen.ours?.afterPort0, {
    daytime: 'ok', time: 'ok', echo: 'hello', chargen: 74, discard: 'none', tcpEcho: 'hi\r\n', tcpDaytime: 'ok', tcpChargen: true,
  }, 'after a datagram from port 0 to each, every service answers');
  t.same(seen.ours?.oversized, { echo: 4096, discard: 'none', daytime: 26, chargen: 74, time: 4 }, 'oversized: echo gives back 4096 bytes');
  t.equal(seen.ours?.alive, true, 'still running');
  // The one difference: Debian's openbsd-inetd answers a datagram from its own port (and so answers itself for ever).
  t.same(loops.debian, { echo: 'loops', daytime: 'loops', chargen: 'loops', time: 'loops' }, 'openbsd-inetd: each answers itself for ever');
  t.same(loops.ours, { echo: 'once', daytime: 'once', chargen: 'once', time: 'once' }, 'ours: a datagram from an answering service\'s port is not answered');
});

t.test('SIGHUP to a file that is a directory, long lines, NUL bytes, a symlink loop', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'bad rereads', async (impl, dir) => {
    const ip = randomLoopback();
    const [pA, pB, pC, pD, pE, pF] = await Promise.all([0, 1, 2, 3, 4, 5].map(() => freePortOn(ip)));
    const names = new Map([[pA, 'A'], [pB, 'B'], [pC, 'C'], [pD, 'D'], [pE, 'E'], [pF, 'F']]);
    const conf = path.join(dir, 'inetd.conf');
    const line = (p: number, word: string) => `${ip}:${p} stream tcp4 nowait root /bin/echo echo ${word}`;
    fs.writeFileSync(conf, line(pA, 'a') + '\n');
    const srv = await startInetd(impl, conf, dir, { tcp: [pA] });
    const listening = () => [...new Set(listeners(srv.pid).map((l) => names.get(l.port)).filter(Boolean))].sort().join(',');
    const alive = () => srv.proc.exitCode === null && srv.proc.signalCode === null;
    const settle = async (until: () => boolean) => {
      const end = Date.now() + 5000;
      while (!until() && alive() && Date.now() < end) await sleep(20);
    };
    try {
      // A directory in the file's place.
      fs.renameSync(conf, `${conf}.good`);
      fs.mkdirSync(conf);
      srv.hup();
      await settle(() => !listening().includes('A'));
      const directory = { alive: alive(), listening: listening() };
      fs.rmdirSync(conf);
      fs.writeFileSync(conf, `${line(pA, 'a')}\n${line(pB, 'b')}\n`);
      srv.hup();
      await settle(() => listening() === 'A,B');
      const recovered = { listening: listening(), a: await tcpTalk(ip, pA), b: await tcpTalk(ip, pB) };
      // fgets into 1024 bytes: a line of 1023 bytes and more comes in pieces, each read as a line;
      // a line ends at a NUL byte.
      const head = `${line(pC, 'c')} `;
      const text = head + 'x'.repeat(1023 - head.length) + `${line(pD, 'd')}\n` +
        `${line(pE, 'e')}\0 ignored\n` + `\0${line(pF, 'f')}\n`;
      fs.writeFileSync(conf, text, 'latin1');
      srv.hup();
      await settle(() => listening() === 'C,D,E');
      const long = { listening: listening(), c: (await tcpTalk(ip, pC)).length - 'c \n'.length + head.length, d: await tcpTalk(ip, pD), e: await tcpTalk(ip, pE) };
      // Binary garbage (the same bytes for both; no ':', so no host name to look up): nothing served, still up.
      let seed = 12345;
      const junk = Buffer.alloc(200_000, 0).map(() => { seed = (seed * 1103515245 + 12345) % 2 ** 31; const b = seed >> 16 & 255; return b === 0x3a ? 0x20 : b; });
      fs.writeFileSync(conf, Buffer.concat([junk, Buffer.from(`\n${line(pF, 'f')}\n`)]));
      srv.hup();
      await settle(() => listening() === 'F');
      const garbage = { alive: alive(), listening: listening() };
      // A symlink loop: the file cannot be opened.
      fs.rmSync(conf);
      fs.symlinkSync(path.basename(conf), conf);
      srv.hup();
      await settle(() => false);
      return { directory, recovered, long, garbage, loop: { alive: alive() } };
    } finally {
      await srv.stop();
    }
  });
  t.same(seen.ours?.directory, { alive: true, listening: '' }, 'a directory reads as an empty file: every service goes, inetd stays');
  t.same(seen.ours?.recovered, { listening: 'A,B', a: 'a\n', b: 'b\n' }, 'the next good file is read');
  t.same(seen.ours?.long, { listening: 'C,D,E', c: 1023, d: 'd\n', e: 'e\n' }, 'the piece after 1023 bytes is a line of its own; a NUL ends a line');
  t.same(seen.ours?.garbage, { alive: true, listening: 'F' }, 'binary garbage: skipped, the good line after it served');
  t.same(seen.ours?.loop, { alive: false }, 'a file that cannot be opened: exit, as openbsd-inetd');
});

t.test('user, user:group, user.group: the same uid, gid and supplementary groups (id)', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'ids', async (impl, dir) => {
    const ip = randomLoopback();
    // Accounts for this test alone, mounted on /etc/passwd and /etc/group in the server's namespace.
    const passwd = path.join(dir, 'passwd'), group = path.join(dir, 'group');
    fs.writeFileSync(passwd, `${fs.readFileSync('/etc/passwd', 'utf8')}itest:x:4242:4242::/nonexistent:/usr/sbin/nologin\n`);
    fs.writeFileSync(group, `${fs.readFileSync('/etc/group', 'utf8')}itest:x:4242:\ngone1:x:4301:itest,nobody\ngone2:x:4302:daemon,itest\nroot2:x:4303:root\n`);
    const users = ['itest', 'itest:gone2', 'itest.gone2', 'root', 'root:gone1', 'root.gone1', 'nobody', 'itest:nosuch', 'itest.gone1.x', 'itest:gone1:gone2'];
    // Started with supplementary groups of its own: a root line's program must not get them.
    return idPerUser(impl, dir, ip, users, { passwd, group, prefix: ['setpriv', '--groups', '4302,4301', '--regid', '4302'] });
  });
  t.same(seen.ours, {
    'itest': 'uid=4242(itest) gid=4242(itest) groups=4242(itest),4301(gone1),4302(gone2)\n',
    'itest:gone2': 'uid=4242(itest) gid=4302(gone2) groups=4302(gone2),4301(gone1)\n',
    'itest.gone2': 'uid=4242(itest) gid=4302(gone2) groups=4302(gone2),4301(gone1)\n',
    'root': 'uid=0(root) gid=4302(gone2) groups=4302(gone2)\n',
    'root:gone1': 'uid=0(root) gid=0(root) groups=0(root),4303(root2)\n',
    'root.gone1': 'uid=0(root) gid=0(root) groups=0(root),4303(root2)\n',
    'nobody': 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup),4301(gone1)\n',
    'itest:nosuch': 'closed', 'itest.gone1.x': 'closed', 'itest:gone1:gone2': 'closed',
  }, 'initgroups for a user; root with a group keeps root\'s own; the group is all after the first . or :');
});

/** One line per user field running id(1) on ip, inetd started with more: what each line's client reads ('closed' for nothing). */
async function idPerUser(impl: 'ours' | 'debian', dir: string, ip: string, users: string[], more: StartOptions): Promise<Record<string, string>> {
  const ports = await Promise.all(users.map(() => freePortOn(ip)));
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(conf, users.map((u, i) => `${ip}:${ports[i]} stream tcp nowait ${u} /usr/bin/id id\n`).join(''));
  const srv = await startInetd(impl, conf, dir, { tcp: ports, ...more });
  try {
    const out: Record<string, string> = {};
    for (const [i, u] of users.entries()) out[u] = closed(await tcpTalk(ip, ports[i]));
    return out;
  } finally {
    await srv.stop();
  }
}

// Users and groups only NSS knows (libnss-extrausers here; LDAP or systemd's
// dynamic users in the field): openbsd-inetd asks getpwnam, getgrnam and
// initgroups, so the program gets the same ids and groups, NSS-only groups included.
t.test('user and group fields of users and groups only NSS knows: the same id as openbsd-inetd', { skip: skipAll || needExtrausers().skip }, async (t) => {
  const seen = await both(t, 'nss ids', async (impl, dir) => {
    const ip = randomLoopback();
    const eu = path.join(dir, 'extrausers');
    fs.mkdirSync(eu);
    fs.writeFileSync(path.join(eu, 'passwd'), 'nssu:x:4343:4343::/nonexistent:/usr/sbin/nologin\n');
    fs.writeFileSync(path.join(eu, 'group'), 'nssu:x:4343:\nnssg:x:4344:nssu,nobody\nnssg2:x:4345:nssu\nnssroot:x:4346:root\n');
    const users = ['nssu', 'nssu:nssg', 'nssu.nssg2', 'nobody', 'nobody:nssg2', 'root:nssg', 'nssu:nosuch'];
    return idPerUser(impl, dir, ip, users, { extrausers: eu });
  });
  t.same(seen.ours, {
    'nssu': 'uid=4343(nssu) gid=4343(nssu) groups=4343(nssu),4344(nssg),4345(nssg2)\n',
    'nssu:nssg': 'uid=4343(nssu) gid=4344(nssg) groups=4344(nssg),4345(nssg2)\n',
    'nssu.nssg2': 'uid=4343(nssu) gid=4345(nssg2) groups=4345(nssg2),4344(nssg)\n',
    'nobody': 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup),4344(nssg)\n',
    'nobody:nssg2': 'uid=65534(nobody) gid=4345(nssg2) groups=4345(nssg2),4344(nssg)\n',
    'root:nssg': 'uid=0(root) gid=0(root) groups=0(root),4346(nssroot)\n',
    'nssu:nosuch': 'closed',
  }, 'getpwnam, getgrnam and initgroups through NSS');
});

t.test('SIGHUP to a file inetd may not read (inetd not root): exit 1, as openbsd-inetd', { skip: skipAll }, async (t) => {
  const seen = await both(t, 'unreadable', async (impl, dir) => {
    const ip = randomLoopback();
    const port = await freePortOn(ip);
    fs.chmodSync(dir, 0o755);
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, `${ip}:${port} stream tcp4 nowait nobody /bin/echo echo a\n`);
    const srv = await startInetd(impl, conf, dir, { tcp: [port], prefix: ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups'] });
    try {
      const before = await tcpTalk(ip, port);
      fs.chmodSync(conf, 0);
      srv.hup();
      const end = Date.now() + 5000;
      while (srv.proc.exitCode === null && srv.proc.signalCode === null && Date.now() < end) await sleep(20);
      return { before, exitCode: srv.proc.exitCode };
    } finally {
      await srv.stop();
    }
  });
  t.same(seen.ours, { before: 'a\n', exitCode: 1 });
});

// The host part and the protocol's family, as openbsd-inetd opens them: "tcp"
// (and "*:") is two sockets, IPv4 and an IPv6-only one; "tcp4" IPv4 only;
// "tcp6" IPv6 only; "tcp46" one dual-stack socket. (tcpsvd's host 0 is IPv4
// only, as ipsvd's: this is inetd's rule, not the servers'.)
t.test('tcp, tcp4, tcp6, tcp46 and *: as openbsd-inetd opens them', { skip: skipAll }, async (t) => {
  const names = ['tcp', 'tcp4', 'tcp6', 'tcp46', 'star'] as const;
  const seen = await both(t, 'families', async (impl, dir) => {
    const ports = await Promise.all(names.map(() => freePortOn('::')));
    const conf = path.join(dir, 'inetd.conf');
    fs.writeFileSync(conf, names.map((n, i) => (n === 'star'
      ? `*:${ports[i]} stream tcp nowait root /bin/echo echo hi\n`
      : `${ports[i]} stream ${n} nowait root /bin/echo echo hi\n`)).join(''));
    const srv = await startInetd(impl, conf, dir, { tcp: ports });
    try {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) {
        const tables = listeners(srv.pid).filter((l) => l.port === ports[i]).map((l) => l.table).sort();
        out[names[i]] = { tables, v4: closed(await tcpTalk('127.0.0.1', ports[i])), v6: closed(await tcpTalk('::1', ports[i])) };
      }
      return out;
    } finally {
      await srv.stop();
    }
  });
  const both46 = { v4: 'hi\n', v6: 'hi\n' };
  t.same(seen.ours, {
    tcp: { tables: ['tcp', 'tcp6'], ...both46 }, tcp4: { tables: ['tcp'], v4: 'hi\n', v6: 'ERR:ECONNREFUSED' },
    tcp6: { tables: ['tcp6'], v4: 'ERR:ECONNREFUSED', v6: 'hi\n' }, tcp46: { tables: ['tcp6'], ...both46 },
    star: { tables: ['tcp', 'tcp6'], ...both46 },
  }, 'the sockets and who reaches them');
});
