// Our inetd alone: the reading of inetd.conf (src/inetd/conf.ts), its
// messages by file and line, the command line and exit codes, the pid file,
// going into the background, and what a reread keeps (the listening socket
// of a changed line, live connections of a removed one). Compared with
// openbsd-inetd in inetd-diff.test.ts.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { killGroup, ours, sleep, spawn, waitFor, which } from './helpers/common';
import { canUnshare, freePortOn, randomLoopback, startInetd, tcpTalk, tmpDir } from './helpers/inetd';
import { startFakeDns } from './helpers/fakedns';
import { listeners } from './helpers/net';
import { parseConf } from '../src/inetd/conf';
import { chargenLine, daytime, machtime } from '../src/inetd/internal';
import { programEnv } from '../src/inetd/environ';
import { createLog } from '../src/inetd/log';
import { credsFor } from '../src/inetd/launch';
import { textAccounts } from '../src/users/text';

const opts = { toomany: 256, ipv6: true, servicesFile: '/etc/services' };

t.test('inetd.conf as openbsd-inetd reads it', async (t) => {
  const text = [
    '# comment',
    'echo stream tcp nowait root internal',
    '127.0.0.2:',
    '8001 stream tcp4 nowait.10 nobody.nogroup /bin/cat cat -u',
    '[::1]:8002 stream tcp6 wait.x daemon:daemon /bin/cat',
    '8003 stream tcp4 nowait root /bin/sh sh',
    '  -c true',
    '*:',
    'rusers/1-3 dgram rpc/udp wait root /usr/sbin/rpc.rusersd rpc.rusersd',
    '/tmp/sock stream unix nowait root /bin/cat cat',
    '8004 stream tcp4 nowait root',
    '7001 stream tcp nowait root internal',
    'no-such-service stream tcp4 nowait root /bin/cat cat',
    '8005 stream udp4 nowait root /bin/cat cat',
    '',
  ].join('\n');
  const { entries, messages } = parseConf(text, 'f', opts);
  const brief = entries.map((e) => [e.line, e.service, e.proto, e.ip, e.port, e.wait, e.max, e.user, e.group ?? '-', e.server, e.argv.join(' ')]);
  t.same(brief, [
    [2, 'echo', 'tcp', '0.0.0.0', 7, false, 256, 'root', '-', 'internal', ''],
    [2, 'echo', 'tcp6', '::', 7, false, 256, 'root', '-', 'internal', ''],
    [4, '8001', 'tcp4', '127.0.0.2', 8001, false, 10, 'nobody', 'nogroup', '/bin/cat', 'cat -u'],
    [5, '8002', 'tcp6', '::1', 8002, true, 256, 'daemon', 'daemon', '/bin/cat', 'cat'],
    [6, '8003', 'tcp4', '127.0.0.2', 8003, false, 256, 'root', '-', '/bin/sh', 'sh -c true'],
  ], 'entries: tcp makes two, host: lines set the default, continuation lines, argv[0] defaults to the basename');
  t.same(messages.map((m) => `${m.file}:${m.line}: ${m.text}`), [
    'f:5: 8002: illegal max field "x", setting to 256',
    'f:9: rusers/1-3/rpc/udp: RPC services are not served',
    'f:10: /tmp/sock/unix: UNIX-domain services are not served',
    'f:11: syntax error in inetd config file',
    'f:12: internal service 7001 unknown',
    'f:13: no-such-service/tcp4: unknown service',
    'f:14: 8005/udp4: socket: Protocol not supported',
  ], 'each bad line named by file and line, in openbsd-inetd\'s words');
});

t.test('internal answers', async (t) => {
  t.equal(daytime(new Date(2026, 0, 5, 7, 8, 9)), 'Mon Jan  5 07:08:09 2026\r\n', 'ctime form, day padded with a blank');
  t.equal(machtime(0).readUInt32BE(0), 2208988800, '1970 is 2208988800 s after 1900');
  t.equal(machtime(Date.UTC(2036, 1, 7, 6, 28, 16)).readUInt32BE(0), 0, 'the 32 bits wrap in 2036');
  t.equal(chargenLine(0).toString(), ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n');
  t.equal(chargenLine(94).toString().slice(0, 3), '~ !', 'the ring wraps after ~');
});

t.test('environment: laundered unless -E, with inetd_dummy', async (t) => {
  const env = { PATH: '/bin', HOME: '/root', LD_PRELOAD: 'x', TERMINFO: 'y', KEEP: 'z', SSH_AUTH_SOCK: 's' };
  t.same(programEnv(env, false), { KEEP: 'z', inetd_dummy: 'x'.repeat(99) });
  t.same(programEnv(env, true), { ...env, inetd_dummy: 'x'.repeat(99) });
});

function run(args: string[], ms = 8000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(ours('inetd'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr: err }); });
  });
}

t.test('command line and exit codes', async (t) => {
  const dir = tmpDir('inetd-args-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.same(await run(['-z']), { code: 1, stderr: "inetd: invalid option -- 'z'\nusage: inetd [-dEil] [-q len] [-R rate] [configuration_file]\n" });
  t.same(await run(['-l', '/dev/null']), { code: 1, stderr: 'inetd: libwrap support not enabled\n' });
  t.same(await run(['a', 'b']), { code: 1, stderr: 'inetd: more than one argument specified\n' });
  const missing = path.join(dir, 'no-such.conf');
  t.same(await run(['-d', `--pidfile=${dir}/pid`, missing]), { code: 1, stderr: `${missing}: No such file or directory\n` },
    'an unreadable file: its message, exit 1');
});

t.test('pid file, SIGTERM, and the background', async (t) => {
  const dir = tmpDir('inetd-pid-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ip = randomLoopback();
  const port = await freePortOn(ip);
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(conf, `${ip}:${port} stream tcp nowait root /bin/echo echo up\n`);
  const pidfile = path.join(dir, 'inetd.pid');
  // Without -d or -i: the command returns at once, a copy runs on in a session of its own.
  const r = await run([`--pidfile=${pidfile}`, conf]);
  t.equal(r.code, 0, 'the starting command exits 0');
  const pid = Number(await waitFor('pid file', () => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim()));
  try {
    await waitFor('listening', () => listeners(pid).some((l) => l.port === port));
    t.equal(await tcpTalk(ip, port), 'up\n', 'the daemon serves');
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    t.equal(Number(f[3]), pid, 'it leads a session of its own');
    t.equal(fs.readlinkSync(`/proc/${pid}/cwd`), '/', 'in /');
    process.kill(pid, 'SIGTERM');
    await waitFor('pid file removed', () => !fs.existsSync(pidfile));
    t.pass('SIGTERM: the pid file is removed');
  } finally {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

/** The inode of the listening socket pid holds on port. */
function listenInode(pid: number, port: number): string | undefined {
  for (const t of ['tcp', 'tcp6']) {
    for (const line of fs.readFileSync(`/proc/${pid}/net/${t}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) {
        const fds = fs.readdirSync(`/proc/${pid}/fd`).map((x) => { try { return fs.readlinkSync(`/proc/${pid}/fd/${x}`); } catch { return ''; } });
        if (fds.includes(`socket:[${f[9]}]`)) return f[9];
      }
    }
  }
  return undefined;
}

t.test('SIGHUP keeps a changed line\'s socket and the live connections of a removed one', { skip: canUnshare() ? false : 'needs root and unshare -m' }, async (t) => {
  const dir = tmpDir('inetd-hup-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ip = randomLoopback();
  const port = await freePortOn(ip);
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(conf, `${ip}:${port} stream tcp nowait root /bin/echo echo one\n${ip}:echo stream tcp nowait root internal\n`);
  const srv = await startInetd('ours', conf, dir, { tcp: [port, 7] });
  t.teardown(() => srv.stop());
  const before = listenInode(srv.pid, port);
  t.ok(before, 'listening');
  // A live echo session, kept across the reread that removes echo.
  const live = net.connect(7, ip);
  const got: string[] = [];
  live.on('data', (d) => got.push(d.toString()));
  await new Promise((r) => live.once('connect', r));
  live.write('before\n');
  await waitFor('first echo', () => got.join('') === 'before\n');
  fs.writeFileSync(conf, `${ip}:${port} stream tcp nowait root /bin/echo echo two\n`);
  srv.hup();
  await srv.waitLog(/FREE: [\d.]+:echo/);
  t.equal(await tcpTalk(ip, port), 'two\n', 'the changed line serves its new program');
  t.equal(listenInode(srv.pid, port), before, 'on the same listening socket');
  t.equal(await tcpTalk(ip, 7), 'ERR:ECONNREFUSED', 'echo is gone for new clients');
  live.write('after\n');
  await waitFor('echo after the reread', () => got.join('') === 'before\nafter\n');
  t.pass('the live echo session goes on');
  live.destroy();
  // A bad line in the new file: named, and the rest still served.
  fs.writeFileSync(conf, `${ip}:${port} stream tcp nowait root /bin/echo echo three\nbroken line\n`);
  srv.hup();
  await srv.waitLog(new RegExp(`${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: syntax error in inetd config file`));
  t.equal(await tcpTalk(ip, port), 'three\n');
  await sleep(10);
});

/** A datagram socket at sock standing for /dev/log (python3): what it has received, so far. */
async function fakeSyslog(t: Test, sock: string): Promise<() => string> {
  const py = spawn('python3', ['-c', [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("ready", flush=True)',
    'while True: print(s.recv(4096).decode(), flush=True)',
  ].join('\n'), sock], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => killGroup(py.pid));
  let out = '';
  py.stdout!.on('data', (d) => { out += d; });
  await waitFor('the log socket', () => out.startsWith('ready\n'));
  return () => out;
}

t.test('syslog: through logger(1) to the log socket, facility daemon, tag inetd[pid]', {
  skip: !which('python3') ? 'python3 not installed (it plays syslogd here)' : !fs.existsSync('/usr/bin/logger') ? 'logger not installed (bsdutils)' : false,
}, async (t) => {
  const dir = tmpDir('inetd-syslog-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'log');
  const heard = await fakeSyslog(t, sock);
  createLog(false, sock).syslog('err', 'ftp/tcp: bind: Address already in use');
  await waitFor('a message', () => heard().split('\n').length > 2);
  t.match(heard().split('\n')[1], new RegExp(`^<27>.* inetd\\[${process.pid}\\]: ftp/tcp: bind: Address already in use$`), 'daemon.err, inetd[pid], the text');
});

t.test('a host name in the file: looked up through $DNSCACHEIP, never the system resolver', { skip: canUnshare() ? false : 'needs root and unshare -m' }, async (t) => {
  const dir = tmpDir('inetd-name-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ip = randomLoopback();
  const port = await freePortOn(ip);
  const dns = await startFakeDns({ 'svc.example': { a: [ip] } });
  t.teardown(() => dns.close());
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(conf, `svc.example:${port} stream tcp4 nowait root /bin/echo echo named\nno-such.example:${port} stream tcp4 nowait root /bin/echo echo x\n`);
  const saved = process.env.DNSCACHEIP;
  process.env.DNSCACHEIP = dns.addr;
  t.teardown(() => { if (saved === undefined) delete process.env.DNSCACHEIP; else process.env.DNSCACHEIP = saved; });
  const srv = await startInetd('ours', conf, dir, { tcp: [port] });
  t.teardown(() => srv.stop());
  t.equal(await tcpTalk(ip, port), 'named\n', 'served on the name\'s address');
  await srv.waitLog(/inetd\.conf:2: \d+\/tcp4: no-such\.example: Name or service not known/);
  t.ok(dns.queries.some((q) => q.name.startsWith('svc.example')), 'asked of $DNSCACHEIP');
});

t.test('a file that would block or flood: a FIFO, a huge file (where openbsd-inetd blocks, or reads it all)', { skip: canUnshare() ? false : 'needs root and unshare -m' }, async (t) => {
  const dir = tmpDir('inetd-badfile-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mkfifo = (p: string) => { if (spawnSync('mkfifo', [p]).status !== 0) throw new Error(`mkfifo ${p}`); };
  // At start: said, exit 1, at once.
  const fifo = path.join(dir, 'fifo.conf');
  mkfifo(fifo);
  t.same(await run(['-d', `--pidfile=${dir}/pid0`, fifo]), { code: 1, stderr: `${fifo}: not a regular file\n` }, 'a FIFO at start: exit 1');
  // On SIGHUP: said, and the services stay as they were, served.
  const ip = randomLoopback();
  const [pA, pB] = await Promise.all([freePortOn(ip), freePortOn(ip)]);
  const conf = path.join(dir, 'inetd.conf');
  fs.writeFileSync(conf, `${ip}:${pA} stream tcp4 nowait root /bin/echo echo a\n`);
  const srv = await startInetd('ours', conf, dir, { tcp: [pA] });
  t.teardown(() => srv.stop());
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  fs.rmSync(conf);
  mkfifo(conf);
  srv.hup();
  await srv.waitLog(new RegExp(`${esc(conf)}: not a regular file`));
  t.equal(await tcpTalk(ip, pA), 'a\n', 'a FIFO: not opened, the services kept and served');
  fs.rmSync(conf);
  fs.writeFileSync(conf, `${ip}:${pB} stream tcp4 nowait root /bin/echo echo b\n`);
  fs.truncateSync(conf, (16 << 20) + 1);
  srv.hup();
  await srv.waitLog(new RegExp(`${esc(conf)}: File too large`));
  t.equal(await tcpTalk(ip, pA), 'a\n', 'a file over 16 MiB: not read, the services kept');
  t.notOk(listeners(srv.pid).some((l) => l.port === pB), 'nothing from it');
  fs.writeFileSync(conf, `${ip}:${pB} stream tcp4 nowait root /bin/echo echo b\n`);
  srv.hup();
  await waitFor('the good file read', () => listeners(srv.pid).some((l) => l.port === pB));
  t.equal(await tcpTalk(ip, pB), 'b\n', 'the next good file is read');
  t.equal(srv.proc.exitCode, null, 'still running');
});

t.test('syslog: one logger for every message, started again at most once a second', {
  skip: !which('python3') ? 'python3 not installed (it plays syslogd here)' : !fs.existsSync('/usr/bin/logger') ? 'logger not installed (bsdutils)' : false,
}, async (t) => {
  const dir = tmpDir('inetd-logger-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'log');
  const heard = await fakeSyslog(t, sock);
  // A logger that counts its starts.
  const starts = path.join(dir, 'starts');
  const counting = path.join(dir, 'logger');
  fs.writeFileSync(counting, `#!/bin/sh\necho >> ${starts}\nexec /usr/bin/logger "$@"\n`, { mode: 0o755 });
  const log = createLog(false, sock, counting);
  for (let i = 0; i < 100; i++) log.syslog(i % 2 ? 'err' : 'warning', `message ${i}\nwith a newline`);
  await waitFor('every message', () => heard().split('\n').filter((l) => / message \d+ with a newline$/.test(l)).length === 100);
  t.equal(fs.readFileSync(starts, 'utf8').length, 1, 'one logger for 100 messages');
  t.match(heard(), /<28>.* message 0 with a newline\n/, 'daemon.warning, the newline made a blank');
  t.match(heard(), /<27>.* message 1 with a newline\n/, 'daemon.err');
  // A logger that ends at once: not started once per message.
  const failing = path.join(dir, 'failing');
  const failStarts = path.join(dir, 'fail-starts');
  fs.writeFileSync(failing, `#!/bin/sh\necho >> ${failStarts}\nexit 1\n`, { mode: 0o755 });
  const bad = createLog(false, sock, failing);
  for (let i = 0; i < 50; i++) { bad.syslog('err', `lost ${i}`); await sleep(2); }
  await sleep(100);
  // (one a second: the loop takes a tenth of that; started for each message, it would be dozens)
  t.ok(fs.readFileSync(failStarts, 'utf8').length <= 5, 'not one start per message');
});

t.test('credsFor: uid, gid and supplementary groups as Debian\'s openbsd-inetd sets them', async (t) => {
  const passwd = 'root:x:0:0::/root:/bin/sh\nitest:x:4242:4242::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n';
  const group = 'root:x:0:\nitest:x:4242:\ngone1:x:4301:itest,nobody\ngone2:x:4302:daemon,itest\nroot2:x:4303:root\nweird:x:4304\n';
  const db = textAccounts(passwd, group);
  t.same(credsFor('itest', undefined, 0, db), { uid: 4242, gid: 4242, gids: [4242, 4301, 4302] }, 'a user: its gid, then its groups in file order');
  t.same(credsFor('itest', 'gone2', 0, db), { uid: 4242, gid: 4302, gids: [4302, 4301] }, 'with a group: that gid first, not twice');
  t.same(credsFor('root', undefined, 0, db), {}, 'root alone: nothing changes');
  t.same(credsFor('root', 'gone1', 0, db), { gid: 0, gids: [0, 4303] }, 'root with a group: root\'s own gid and groups');
  t.equal(credsFor('itest', 'gone1:gone2', 0, db), 'getgrnam: gone1:gone2: No such group', 'the group is the whole rest');
  t.equal(credsFor('nosuch', undefined, 0, db), 'getpwnam: nosuch: No such user');
  t.same(credsFor('itest', undefined, 4242, db), {}, 'inetd not root: its own user only');
  t.equal(credsFor('nobody', undefined, 4242, db), 'nobody: not the user inetd runs as');
  t.same(db.getgrouplist('nobody', 65534), [65534, 4301]);
});

t.test('the addon accepts on every stream line at once, and closes each alone', {
  skip: process.env.UCSPI_NO_NATIVE ? 'UCSPI_NO_NATIVE is set'
    : fs.existsSync(path.join(__dirname, '..', 'build', 'Release', 'ucspi.node')) ? false : 'addon not built (node-gyp)',
}, async (t) => {
  const { loadNative } = await import('../src/native');
  const { listenMany } = await import('../src/listen/native');
  const addon = loadNative()!;
  const got: Array<{ line: number; local: number; remote: number }> = [];
  const socks = [0, 1, 2].map((line) => {
    const s = listenMany(addon, '127.0.0.1', 0, 16, false);
    s.accept((a) => {
      got.push({ line, local: a.localPort, remote: a.remotePort });
      fs.writeSync(a.fd, `line ${line}\n`);
      fs.closeSync(a.fd);
    }, (err) => t.fail(`accept: ${err.message}`));
    return s;
  });
  t.teardown(() => { for (const s of socks) s.close(); });
  const ask = (port: number) => new Promise<string>((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    let b = '';
    c.setEncoding('utf8');
    c.on('data', (d) => (b += d));
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    c.on('close', () => resolve(b));
  });
  for (const line of [2, 0, 1]) t.equal(await ask(socks[line].port), `line ${line}\n`, `line ${line} answers on its own socket`);
  t.same(got.map((g) => [g.line, g.local]), [[2, socks[2].port], [0, socks[0].port], [1, socks[1].port]], 'each client reaches its own line');
  socks[1].close();
  t.equal(await ask(socks[1].port), 'ECONNREFUSED', 'a closed line no longer listens');
  t.equal(await ask(socks[0].port), 'line 0\n', 'the others still accept');
  t.equal(await ask(socks[2].port), 'line 2\n');
});
