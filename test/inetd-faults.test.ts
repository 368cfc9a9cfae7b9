// Fault isolation in our inetd: one process serves every line, so nothing one
// line's program, client or datagram does may end it or hold the others.
// Each fault is set off on one line (a datagram storm, datagrams from port 0
// and oversized ones to each internal service, clients that connect and never
// read, a wait program that never exits, a line hammered past its rate, a
// program that cannot start, one that dies of a signal, an unknown user),
// and every other service must then answer as before.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { descendants, sleep, which } from './helpers/common';
import { freePortOn, randomLoopback, startInetd, tcpTalk, tmpDir, udpAsk } from './helpers/inetd';

const DG = { echo: 7, discard: 9, daytime: 13, chargen: 19, time: 37 } as const;

/** One UDP datagram over IPv6 loopback from any source port (0 too), through a raw socket (python3). */
function rawUdp6(from: number, to: number, n = 5): void {
  const py = `
import socket, struct, sys
sp, dp, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
a = socket.inet_pton(socket.AF_INET6, '::1')
ln = 8 + n
buf = a + a + struct.pack('!I3xB', ln, 17) + struct.pack('!HHHH', sp, dp, ln, 0) + b'x' * n
if len(buf) % 2: buf += b'\\0'
s = sum(struct.unpack('!%dH' % (len(buf) // 2), buf))
while s >> 16: s = (s & 0xffff) + (s >> 16)
r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_UDP)
r.sendto(struct.pack('!HHHH', sp, dp, ln, (~s) & 0xffff or 0xffff) + b'x' * n, ('::1', 0))
`;
  const r = spawnSync('python3', ['-c', py, String(from), String(to), String(n)], { timeout: 10_000, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`raw send failed: ${r.stderr}`);
}

t.test('no fault of one line ends inetd or holds the others', {
  skip: process.getuid?.() !== 0 ? 'needs root (internal services on their fixed ports, raw sockets)'
    : !which('python3') ? 'python3 not installed (it sends the raw datagrams)' : false,
}, async (t) => {
  const dir = tmpDir('inetd-faults-');
  const ip = randomLoopback();
  const [pOk, pHang, pRate, pMissing, pSig, pUser, pMissingN, pSigN, pOkN] = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => freePortOn(ip, i === 1)));
  fs.writeFileSync(path.join(dir, 'hang'), `#!/bin/sh\ndd bs=4096 count=1 >/dev/null 2>&1\necho $$ >> ${dir}/hang.log\necho $$ > ${dir}/hang.pid\nexec sleep 600\n`, { mode: 0o755 });
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(conf, [
    ...Object.keys(DG).map((s) => `[::1]:${s} dgram udp6 wait root internal`),
    ...Object.keys(DG).map((s) => `${ip}:${s} stream tcp nowait root internal`),
    `${ip}:${pOk} stream tcp nowait root /bin/echo echo ok`,
    `${ip}:${pHang} dgram udp4 wait root ${dir}/hang hang`,
    `${ip}:${pRate} stream tcp nowait.3 root /bin/echo echo rated`,
    `${ip}:${pMissing} stream tcp nowait root ${dir}/no-such-program x`,
    `${ip}:${pSig} stream tcp nowait root /bin/sh sh -c kill\${IFS}-SEGV\${IFS}$$`,
    `${ip}:${pUser} stream tcp nowait no-such-user /bin/echo echo`,
    // under another user: forked by the addon (supplementary groups), reaped on SIGCHLD
    `${ip}:${pMissingN} stream tcp nowait nobody ${dir}/no-such-program x`,
    `${ip}:${pSigN} stream tcp nowait nobody /bin/sh sh -c kill\${IFS}-SEGV\${IFS}$$`,
    `${ip}:${pOkN} stream tcp nowait nobody /bin/echo echo ok`,
    '',
  ].join('\n'));
  let srv: Awaited<ReturnType<typeof startInetd>> | undefined;
  for (let i = 0; !srv; i++) {
    try {
      srv = await startInetd('ours', conf, dir, { udp: [...Object.values(DG), pHang], tcp: [...Object.values(DG), pOk] });
    } catch (e) {
      if (i >= 4) throw e; // ::1's fixed ports held by another test meanwhile
      await sleep(500);
    }
  }
  const stalled: net.Socket[] = [];
  t.teardown(async () => {
    for (const s of stalled) s.destroy();
    // Every program still running (the wait program that never exits), each in a session of its
    // own: killed once inetd is gone (before, the wait line would start another).
    const programs = srv ? descendants(srv.pid) : [];
    await srv!.stop();
    for (const p of programs) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const served = async () => ({
    alive: srv!.proc.exitCode === null && srv!.proc.signalCode === null,
    ok: await tcpTalk(ip, pOk),
    okNobody: await tcpTalk(ip, pOkN),
    udpEcho: (await udpAsk('::1', '::1', 7, 'hello'))?.toString(),
    udpDaytime: (await udpAsk('::1', '::1', 13, 'x'))?.length,
    udpChargen: (await udpAsk('::1', '::1', 19, 'x'))?.length,
    udpTime: (await udpAsk('::1', '::1', 37, 'x'))?.length,
    echo: await tcpTalk(ip, 7, { send: 'hi\r\n', end: true }),
    discard: await tcpTalk(ip, 9, { send: 'gone\r\n', end: true }),
    daytime: (await tcpTalk(ip, 13)).length,
    time: (await tcpTalk(ip, 37)).length,
    chargen: (await tcpTalk(ip, 19, { max: 74 })).slice(0, 74).length,
  });
  const expected = {
    alive: true, ok: 'ok\n', okNobody: 'ok\n', udpEcho: 'hello', udpDaytime: 26, udpChargen: 74, udpTime: 4,
    echo: 'hi\r\n', discard: '', daytime: 26, time: 4, chargen: 74,
  };
  t.same(await served(), expected, 'every service answers at the start');

  const faults: Array<[string, () => Promise<void>]> = [
    ['a datagram from port 0 to each internal service', async () => { for (const p of Object.values(DG)) rawUdp6(0, p); }],
    ['a datagram from its own port to each internal service', async () => { for (const p of Object.values(DG)) rawUdp6(p, p); }],
    ['an oversized datagram to each internal service', async () => { for (const p of Object.values(DG)) rawUdp6(40_000, p, 65_000); }],
    ['a storm of 3000 datagrams to echo', async () => {
      const s = dgram.createSocket('udp6');
      s.on('error', () => {});
      await new Promise<void>((r) => s.bind(0, '::1', () => r()));
      for (let i = 0; i < 3000; i++) s.send('storm', 7, '::1');
      await sleep(300);
      s.close();
    }],
    ['clients that connect to each stream service and never read', async () => {
      for (const p of Object.values(DG)) {
        for (let i = 0; i < 5; i++) {
          const s = net.connect({ host: ip, port: p });
          s.on('error', () => {});
          s.pause();
          if (p === 7) s.write(Buffer.alloc(1 << 20));
          stalled.push(s);
        }
      }
      await sleep(300);
    }],
    ['clients that send garbage to each stream service and reset the connection', async () => {
      for (const p of Object.values(DG)) {
        for (let i = 0; i < 5; i++) {
          const s = net.connect({ host: ip, port: p });
          s.on('error', () => {});
          await new Promise<void>((r) => { s.once('connect', () => r()); s.once('error', () => r()); });
          s.write(Buffer.from([0, 255, 13, 10, 0xc3, 0x28]));
          await sleep(20);
          s.resetAndDestroy();
        }
      }
    }],
    ['a wait program that never exits', async () => {
      await udpAsk(ip, ip, pHang, 'wake', 1);
      const end = Date.now() + 8000;
      while (!fs.existsSync(path.join(dir, 'hang.pid')) && Date.now() < end) await sleep(20);
      t.ok(fs.existsSync(path.join(dir, 'hang.pid')), 'the wait program runs');
    }],
    ['a line hammered past its rate', async () => { for (let i = 0; i < 20; i++) await tcpTalk(ip, pRate, { ms: 2000 }); }],
    ['a program that cannot be started, one killed by a signal, an unknown user', async () => {
      for (let i = 0; i < 5; i++) {
        await tcpTalk(ip, pMissing, { ms: 2000 });
        await tcpTalk(ip, pSig, { ms: 2000 });
        await tcpTalk(ip, pUser, { ms: 2000 });
        await tcpTalk(ip, pMissingN, { ms: 2000 });
        await tcpTalk(ip, pSigN, { ms: 2000 });
      }
    }],
  ];
  for (const [what, fault] of faults) {
    await fault();
    t.same(await served(), expected, `after ${what}, every other service answers`);
  }
  // Every program that ended was reaped, those forked by the addon too.
  const zombies = () => descendants(srv!.pid).filter((p) => {
    try { return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${p}/status`, 'utf8')); } catch { return false; }
  });
  const end = Date.now() + 5000;
  while (zombies().length > 0 && Date.now() < end) await sleep(20);
  t.same(zombies(), [], 'no program left unreaped');
  t.equal(fs.readFileSync(path.join(dir, 'hang.log'), 'utf8').split('\n').filter(Boolean).length, 1, 'the wait line started its program once');
});
