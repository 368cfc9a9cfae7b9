// inetconv end to end: a sample inetd.conf with hosts.allow/hosts.deny is
// converted, the run scripts are checked word for word, reruns are
// idempotent, and the converted tcpsvd services run on loopback: from
// 127.x.y.z sources every decision, one row per rule form, is what tcpd's
// rules mean (and what tcpdmatch says, when package tcpd is installed).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, startServer, talk, type Running } from './helpers/net';
import { startFakeDns } from './helpers/fakedns';
import { tmp } from './helpers/svdir';
import { randomLoopback, tcpTalk } from './helpers/inetd';

const INETCONV = path.join(BIN, 'inetconv');
const TCPDMATCH = '/usr/sbin/tcpdmatch';

function conv(args: string[], cwd: string) {
  const r = spawnSync(INETCONV, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const SAMPLE = [
  '# a classic inetd.conf',
  'ftp\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\tin.ftpd -l',
  'telnet\tstream\ttcp\tnowait.40\ttelnetd:utmp\t/usr/sbin/tcpd\t/usr/sbin/in.telnetd',
  'finger\tstream\ttcp\tnowait\tnobody\t/usr/sbin/tcpd\tin.fingerd',
  'daytime\tstream\ttcp\tnowait\troot\tinternal',
  'tftp\tdgram\tudp\twait\tnobody\t/usr/sbin/tcpd\t/usr/sbin/in.tftpd /srv/tftp',
  'rsync\tstream\ttcp\tnowait\troot\t/usr/bin/rsync\trsyncd --daemon',
  '',
].join('\n');
const ALLOW = [
  'in.ftpd: 127.0.1. EXCEPT 127.0.1.7',
  'in.telnetd: 127.0.2.0/255.255.255.0 : setenv GREETING hi there',
  'in.fingerd: 127.0.4.4 : twist /bin/echo twisted',
  'ALL: 127.0.6.0/24 : spawn (echo %a) &',
  '',
].join('\n');
const DENY = 'in.ftpd, in.fingerd: ALL\n';

function sample(dir: string, inetd = SAMPLE): void {
  fs.writeFileSync(path.join(dir, 'inetd.conf'), inetd);
  fs.writeFileSync(path.join(dir, 'hosts.allow'), ALLOW);
  fs.writeFileSync(path.join(dir, 'hosts.deny'), DENY);
}
const ARGS = ['-d', 'sv', '-i', 'inetd.conf', '-a', 'hosts.allow', '-D', 'hosts.deny'];

t.test('the sample converts: run scripts, peers, and what is listed', async (t) => {
  const dir = tmp(t);
  sample(dir);
  const r = conv(ARGS, dir);
  t.equal(r.code, 2, 'exit 2: converted, with things listed');
  t.equal(r.err, '');
  for (const s of ['ftp', 'telnet', 'finger', 'tftp', 'rsync']) t.match(r.out, new RegExp(`^created sv/${s}$`, 'm'));
  t.notOk(fs.existsSync(path.join(dir, 'sv', 'daytime')), 'no tcpsvd directory for an internal service');
  t.match(r.out, /^created sv\/inetd-internal$/m, 'internal services: one directory for our inetd');
  t.equal(fs.readFileSync(path.join(dir, 'sv', 'inetd-internal', 'inetd.conf'), 'utf8'),
    '# converted by inetconv: the internal services, for inetd(8)\ndaytime\tstream\ttcp\tnowait\troot\tinternal\n');
  t.equal(fs.readFileSync(path.join(dir, 'sv', 'inetd-internal', 'run'), 'utf8'),
    '#!/bin/sh\n# converted by inetconv from inetd.conf: internal services, served by inetd itself\nexec 2>&1\n' +
    `exec ${path.join(BIN, 'inetd')} -i --pidfile="$PWD/inetd.pid" "$PWD/inetd.conf"\n`);
  t.notMatch(r.out, /internal service daytime/, 'not listed');
  t.match(r.out, /^inetd\.conf:3: not translated: .*nowait\.40: tcpsvd --rate=40\/60, a rate per client address/m);
  t.match(r.out, /^hosts\.allow:4: not translated: spawn \(echo %a\) &: spawn/m);
  t.match(r.out, /^inetd\.conf:7: not translated: rsyncd: argv0 differs/m);
  const run = (s: string) => fs.readFileSync(path.join(dir, 'sv', s, 'run'), 'utf8');
  const head = (_line: number) => '#!/bin/sh\n# converted by inetconv from inetd.conf\nexec 2>&1\n';
  const svd = path.join(BIN, 'tcpsvd');
  // inetd's tcp on * takes both families: tcpsvd's ::.
  t.equal(run('ftp'), `${head(2)}exec ${svd} -v -l '' -x peers.cdb :: ftp /usr/sbin/in.ftpd -l\n`);
  t.equal(run('telnet'), `${head(3)}exec ${svd} -v -l '' --rate=40/60 -u telnetd:utmp -x peers.cdb :: telnet /usr/sbin/in.telnetd\n`);
  t.equal(run('finger'), `${head(4)}exec ${svd} -v -l '' -u nobody -x peers.cdb :: finger /usr/sbin/in.fingerd\n`);
  t.equal(run('tftp'), `${head(6)}exec ${path.join(BIN, 'udpsvd')} -v -l '' -u nobody -x peers.cdb 0.0.0.0 tftp /usr/sbin/in.tftpd /srv/tftp\n`);
  t.equal(run('rsync'), `${head(7)}exec ${svd} -v -l '' :: rsync /bin/bash -c 'exec -a "$0" /usr/bin/rsync "$@"' rsyncd --daemon\n`);
  t.equal(fs.readFileSync(path.join(dir, 'sv', 'ftp', 'log', 'run'), 'utf8'), `#!/bin/sh\nexec ${path.join(BIN, 'multilog')} t ./main\n`);
  t.equal(fs.statSync(path.join(dir, 'sv', 'ftp', 'run')).mode & 0o777, 0o755);
  const peers = (s: string) => fs.readdirSync(path.join(dir, 'sv', s, 'peers')).sort();
  t.same(peers('ftp'), ['0', '127.0.1', '127.0.1.7', '127.0.6']);
  t.same(peers('telnet'), ['127.0.2', '127.0.6']);
  t.equal(fs.readFileSync(path.join(dir, 'sv', 'telnet', 'peers', '127.0.2'), 'utf8'), '+GREETING=hi there\n');
  t.ok(fs.existsSync(path.join(dir, 'sv', 'ftp', 'peers.cdb')));
  t.notOk(fs.existsSync(path.join(dir, 'sv', 'rsync', 'peers')), 'not wrapped: no rules, no peers');

  // The converted services run (the program replaced by a fake one, the port by 0).
  const fake = path.join(dir, 'fake');
  fs.writeFileSync(fake, '#!/bin/sh\necho "ok ${GREETING-}"\n', { mode: 0o755 });
  const probe = async (svc: string, prog: string, cases: Array<[string, string]>) => {
    const srv = await startRun(dir, svc, (s) => s.replace(` :: ${svc} ${prog}`, ` 127.0.0.1 0 ${fake}`).replace(/-u \S+ /, ''));
    try {
      for (const [src, want] of cases) t.equal(await reply(srv, src), want, `${svc} from ${src}`);
    } finally { await srv.stop(); }
  };
  await probe('ftp', '/usr/sbin/in.ftpd', [['127.0.1.5', 'ok \n'], ['127.0.1.7', ''], ['127.0.6.1', 'ok \n'], ['127.0.9.1', '']]);
  await probe('telnet', '/usr/sbin/in.telnetd', [['127.0.2.9', 'ok hi there\n'], ['127.0.9.1', 'ok \n']]);
  await probe('finger', '/usr/sbin/in.fingerd', [['127.0.4.4', 'twisted\n'], ['127.0.4.5', '']]);
});

/** Start a service's run script, edited by fix (host, port, program), in its directory. */
async function startRun(dir: string, svc: string, fix: (s: string) => string, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const sdir = path.join(dir, 'sv', svc);
  const text = fs.readFileSync(path.join(sdir, 'run'), 'utf8');
  const edited = fix(text);
  if (edited === text) throw new Error(`run of ${svc} not edited: ${text}`);
  fs.writeFileSync(path.join(sdir, 'run.test'), edited, { mode: 0o755 });
  return startServer('/bin/sh', ['-c', `cd '${sdir}' && exec ./run.test`], { PATH: '/usr/bin:/bin', ...env });
}

async function reply(srv: Running, src: string): Promise<string> {
  try {
    return await talk(srv.port, { local: src });
  } catch {
    return '';
  }
}

t.test('dry run writes nothing; reruns change only what changed', async (t) => {
  const dir = tmp(t);
  sample(dir);
  const dry = conv(['-n', ...ARGS], dir);
  t.equal(dry.code, 2);
  t.match(dry.out, /^would create sv\/ftp: \.inetconv, run, log\/run, peers\/127\.0\.1, peers\/127\.0\.1\.7, peers\/127\.0\.6, peers\/0, peers\.cdb$/m);
  t.match(dry.out, /^ {2}run \(0755\):\n {4}#!\/bin\/sh/m);
  t.match(dry.out, /^ {2}peers\/127\.0\.1\.7 \(0000\)$/m);
  t.notOk(fs.existsSync(path.join(dir, 'sv')), '-n wrote nothing');
  t.equal(conv(['--dry-run', ...ARGS], dir).out, dry.out, '--dry-run is -n');

  t.equal(conv(ARGS, dir).code, 2);
  const mtime = (f: string) => fs.statSync(path.join(dir, 'sv', f)).mtimeMs;
  const before = { telnet: mtime('telnet/run'), cdb: mtime('telnet/peers.cdb') };
  // A comment added on top moves every line: nothing changes.
  sample(dir, '# moved\n' + SAMPLE);
  const again = conv(ARGS, dir);
  for (const s of ['ftp', 'telnet', 'finger', 'tftp', 'rsync', 'inetd-internal']) t.match(again.out, new RegExp(`^unchanged sv/${s}$`, 'm'));
  t.equal(conv(['-n', ...ARGS], dir).out.split('\n').filter((l) => /^(would|unchanged)/.test(l)).length, 6, 'dry run: six unchanged');
  t.notMatch(conv(['-n', ...ARGS], dir).out, /^would/m);

  // ftp's arguments change, rsync goes away, telnet's rule changes.
  sample(dir, SAMPLE.replace('in.ftpd -l', 'in.ftpd -l -a').replace(/^rsync.*\n/m, ''));
  fs.writeFileSync(path.join(dir, 'hosts.allow'), ALLOW.replace('setenv GREETING hi there', 'setenv GREETING hello'));
  const third = conv(ARGS, dir);
  t.match(third.out, /^updated sv\/ftp: run$/m);
  t.match(third.out, /^updated sv\/telnet: peers\/127\.0\.2, peers\.cdb$/m);
  t.match(third.out, /^unchanged sv\/finger$/m);
  t.match(third.out, /^removed-from-input sv\/rsync \(left in place\)$/m);
  t.ok(fs.existsSync(path.join(dir, 'sv', 'rsync', 'run')), 'never deletes a service dir');
  t.match(fs.readFileSync(path.join(dir, 'sv', 'ftp', 'run'), 'utf8'), /in\.ftpd -l -a\n$/);
  t.equal(mtime('telnet/run'), before.telnet, 'telnet/run not rewritten');
  t.not(mtime('telnet/peers.cdb'), before.cdb, 'telnet/peers.cdb recompiled');
  t.same(fs.readdirSync(path.join(dir, 'sv', 'ftp')).filter((n) => n.includes('tmp')), [], 'no temporary files left');
});

t.test('a rerun never writes through a link planted in a service directory', async (t) => {
  const dir = tmp(t);
  sample(dir);
  t.equal(conv(ARGS, dir).code, 2);
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'root only\n', { mode: 0o600 });
  const ftp = path.join(dir, 'sv', 'ftp');
  // The temporary names inetconv used to write to, and a file replaced by a link.
  for (const n of ['.run.inetconv-tmp', '.peers.cdb.inetconv-tmp', 'peers/.0.inetconv-tmp']) fs.symlinkSync(victim, path.join(ftp, n));
  fs.rmSync(path.join(ftp, 'log', 'run'));
  fs.symlinkSync(victim, path.join(ftp, 'log', 'run'));
  fs.rmSync(path.join(ftp, 'peers', '0'));
  fs.symlinkSync(victim, path.join(ftp, 'peers', '0'));
  sample(dir, SAMPLE.replace('in.ftpd -l', 'in.ftpd -l -a'));
  const r = conv(ARGS, dir);
  t.equal(r.code, 2, r.err);
  t.match(r.out, /^updated sv\/ftp: run, log\/run, peers\/\.0\.inetconv-tmp \(removed\), peers\/0, peers\.cdb$/m);
  t.equal(fs.readFileSync(victim, 'utf8'), 'root only\n', 'the link target is unchanged');
  t.equal(fs.statSync(victim).mode & 0o777, 0o600, 'and keeps its mode');
  t.ok(fs.lstatSync(path.join(ftp, 'log', 'run')).isFile(), 'log/run is a file again');
  const zero = fs.lstatSync(path.join(ftp, 'peers', '0'));
  t.ok(zero.isFile() && (zero.mode & 0o7777) === 0, 'peers/0 is the deny entry again, a file of mode 0000');

  // log/ itself a link to another directory: nothing is written there.
  const elsewhere = path.join(dir, 'elsewhere');
  fs.mkdirSync(elsewhere);
  fs.rmSync(path.join(ftp, 'log'), { recursive: true });
  fs.symlinkSync(elsewhere, path.join(ftp, 'log'));
  const again = conv(ARGS, dir);
  t.equal(again.code, 111);
  t.match(again.err, /^inetconv: warning: sv\/ftp\/log is a symbolic link; sv\/ftp left alone$/m);
  t.same(fs.readdirSync(elsewhere), [], 'nothing written through the link');
});

t.test('internal services become lines for our inetd, and it serves them', { skip: process.getuid?.() !== 0 && 'needs root (the internal services\' ports are below 1024)' }, async (t) => {
  const dir = tmp(t);
  const ip = randomLoopback();
  fs.writeFileSync(path.join(dir, 'inetd.conf'), [
    `${ip}:daytime\tstream\ttcp\tnowait\troot\tinternal`,
    `${ip}:`,
    'echo stream tcp nowait.10 root internal',
    'echo dgram udp wait root internal',
    'qotd stream tcp nowait root internal',
    '',
  ].join('\n'));
  const r = conv(['-d', 'sv', '-i', 'inetd.conf', '-a', 'none', '-D', 'none'], dir);
  t.equal(r.code, 2, r.err);
  t.match(r.out, /^inetd\.conf:5: not translated: .*: internal service qotd: our inetd serves only echo, discard, daytime, chargen, time; not converted$/m);
  const sdir = path.join(dir, 'sv', 'inetd-internal');
  t.equal(fs.readFileSync(path.join(sdir, 'inetd.conf'), 'utf8'), '# converted by inetconv: the internal services, for inetd(8)\n' +
    `${ip}:daytime\tstream\ttcp\tnowait\troot\tinternal\n` +
    `${ip}:echo\tstream\ttcp\tnowait.10\troot\tinternal\n` +
    `${ip}:echo\tdgram\tudp\twait\troot\tinternal\n`, 'the lines, each with the local address it had');
  // The run script as written, in its directory, as a supervisor starts it.
  const srv = await startServer('/bin/sh', ['-c', `cd '${sdir}' && exec ./run`], { PATH: '/usr/bin:/bin' });
  t.teardown(() => srv.stop());
  // startServer saw one of its sockets listen; daytime's may come a moment later.
  let day = '';
  for (const end = Date.now() + 10_000; Date.now() < end && !/^\w/.test(day);) day = await tcpTalk(ip, 13);
  t.match(day, /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/, 'daytime answers');
  t.equal(await tcpTalk(ip, 7, { send: 'ping\n', end: true }), 'ping\n', 'echo answers');
  t.ok(fs.existsSync(path.join(sdir, 'inetd.pid')), 'the pid file in the service directory');
  await srv.stop();
});

t.test('the families: tcp is :: (both), tcp4 0.0.0.0, tcp6 :: with the difference listed', async (t) => {
  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'inetd.conf'),
    '7021 stream tcp nowait nobody /bin/echo echo a\n7022 stream tcp4 nowait nobody /bin/echo echo b\n7023 stream tcp6 nowait nobody /bin/echo echo c\n');
  const r = conv(['-d', 'sv', '-i', 'inetd.conf', '-a', 'none', '-D', 'none'], dir);
  const bind = (svc: string) => / (\S+) \d+ \/bin\/echo/.exec(fs.readFileSync(path.join(dir, 'sv', svc, 'run'), 'utf8'))?.[1];
  t.same([bind('7021'), bind('7022'), bind('7023')], ['::', '0.0.0.0', '::']);
  t.match(r.out, /^inetd\.conf:3: .*tcp6: served on ::, which takes IPv4 clients too/m, 'tcp6 differs, and says so');
  t.notMatch(r.out, /^inetd\.conf:1: /m, 'tcp: nothing to say');
});

t.test('nowait.N is tcpsvd --rate=N/60: each client address N a minute', async (t) => {
  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'inetd.conf'), '7011 stream tcp nowait.3 nobody /bin/echo echo hi\n7012 dgram udp wait.5 nobody /bin/true true\n');
  const r = conv(['-d', 'sv', '-i', 'inetd.conf', '-a', 'none', '-D', 'none'], dir);
  t.equal(r.code, 2, r.err);
  const run = fs.readFileSync(path.join(dir, 'sv', '7011', 'run'), 'utf8');
  t.match(run, / --rate=3\/60 -u nobody :: 7011 \/bin\/echo hi\n$/, 'tcp on * takes both families: ::');
  t.match(r.out, /^inetd\.conf:1: not translated: .*: nowait\.3: tcpsvd --rate=3\/60, a rate per client address: each may connect 3 times a minute, .*at most 2 a minute\) and then closed the service for ten minutes$/m);
  t.match(r.out, /^inetd\.conf:2: not translated: .*: wait\.5: 5 is a rate \(invocations per minute\); udpsvd has no rate limit; not translated$/m);
  t.notMatch(fs.readFileSync(path.join(dir, 'sv', '7012', 'run'), 'utf8'), /--rate/);
  // On the running service: the fourth connection in a minute from one address is refused, another address is served.
  const srv = await startRun(dir, '7011', (s) => s.replace(' -u nobody :: 7011 ', ' 127.0.0.1 0 '));
  try {
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push(await reply(srv, '127.0.0.21'));
    t.same(got, ['hi\n', 'hi\n', 'hi\n', ''], 'three from 127.0.0.21, then refused');
    t.equal(await reply(srv, '127.0.0.22'), 'hi\n', 'another client is still served');
  } finally { await srv.stop(); }
});

t.test('a refused line or service lists every problem, not the first', async (t) => {
  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'inetd.conf'), 'a,b:7020 stream udp6 nowait.x nobody: /usr/sbin/tcpd in.x\n');
  let r = conv(['-d', 'sv', '-i', 'inetd.conf', '-a', 'none', '-D', 'none'], dir);
  t.equal(r.code, 2, r.err);
  const lines = r.out.split('\n').filter((l) => l.startsWith('inetd.conf:1: '));
  t.match(lines.join('\n'), /nowait\.x: x is not a number; not converted/);
  t.match(lines.join('\n'), /several local addresses on one line/);
  t.match(lines.join('\n'), /stream\/udp6: not converted$/m);
  t.match(lines.join('\n'), /nobody:: not user\[:group\]; not converted/);
  t.equal(lines.length, 4, 'four problems, four lines');
  t.notOk(fs.existsSync(path.join(dir, 'sv')), 'nothing written');

  fs.writeFileSync(path.join(dir, 'xinetd.conf'), 'service x\n{\n socket_type = stream\n wait = yes\n redirect = 10.0.0.1 23\n access_times = 2:00-8:59\n only_from = .example.org\n}\n');
  r = conv(['-d', 'sv', '-x', 'xinetd.conf', '-a', 'none', '-D', 'none'], dir);
  t.equal(r.code, 2, r.err);
  for (const re of [/service x: redirect/, /service x: access_times/, /service x: stream with wait = yes/, /service x: no server/, /only_from = \.example\.org: host names/]) t.match(r.out, re);
  t.notOk(fs.existsSync(path.join(dir, 'sv')), 'nothing written');
});

t.test('xinetd: cps is --rate=R/1; an internal service is a line for our inetd, unless access rules apply to it', async (t) => {
  const dir = tmp(t);
  fs.writeFileSync(path.join(dir, 'xinetd.conf'), [
    'service web\n{\n socket_type = stream\n wait = no\n server = /bin/echo\n port = 7030\n cps = 2 10\n}',
    'service daytime\n{\n type = INTERNAL\n id = daytime-stream\n socket_type = stream\n wait = no\n bind = 127.0.0.7\n}',
    'service echo\n{\n type = INTERNAL\n id = echo-dgram\n socket_type = dgram\n wait = yes\n port = 7007\n}',
    'service time\n{\n type = INTERNAL\n id = time-stream\n socket_type = stream\n wait = no\n}',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'hosts.deny'), 'time-stream: 10.0.0.1\n');
  const r = conv(['-d', 'sv', '-x', 'xinetd.conf', '-a', 'none', '-D', 'hosts.deny'], dir);
  t.equal(r.code, 2, r.err);
  t.match(fs.readFileSync(path.join(dir, 'sv', 'web', 'run'), 'utf8'), / --rate=2\/1 0 7030 \/bin\/echo\n$/);
  t.match(r.out, /^xinetd\.conf:7: not translated: cps = 2 10: tcpsvd --rate=2\/1, .*stopped the service for 10 seconds$/m);
  t.equal(fs.readFileSync(path.join(dir, 'sv', 'inetd-internal', 'inetd.conf'), 'utf8'), '# converted by inetconv: the internal services, for inetd(8)\n' +
    '127.0.0.7:daytime\tstream\ttcp\tnowait\troot\tinternal\n');
  t.match(r.out, /^xinetd\.conf:23: not translated: port = 7007: our inetd serves echo on its own port, 7; not converted$/m);
  t.match(r.out, /^xinetd\.conf:25: not translated: internal service time: the access tables apply to it \(hosts\.deny:1\); our inetd has no access control; not converted$/m);
});

t.test('-w: the tables apply to unwrapped lines too, by argv[0]', async (t) => {
  const dir = tmp(t);
  sample(dir);
  fs.appendFileSync(path.join(dir, 'hosts.deny'), 'rsyncd: 127.0.9.\n');
  t.equal(conv(ARGS, dir).code, 2);
  t.notOk(fs.existsSync(path.join(dir, 'sv', 'rsync', 'peers')), 'without -w rsync is not wrapped');
  const r = conv(['-w', ...ARGS], dir);
  t.match(r.out, /^updated sv\/rsync: run, peers\/127\.0\.6, peers\/127\.0\.9, peers\.cdb$/m);
  t.equal(fs.statSync(path.join(dir, 'sv', 'rsync', 'peers', '127.0.9')).mode & 0o777, 0, 'rsyncd: 127.0.9. denied');
  t.match(fs.readFileSync(path.join(dir, 'sv', 'rsync', 'run'), 'utf8'), / -x peers\.cdb :: rsync /);
});

t.test('a directory it did not make is left alone', async (t) => {
  const dir = tmp(t);
  sample(dir);
  fs.mkdirSync(path.join(dir, 'sv', 'telnet'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sv', 'telnet', 'run'), '#!/bin/sh\nexec mine\n');
  const r = conv(ARGS, dir);
  t.equal(r.code, 111);
  t.match(r.err, /^inetconv: warning: sv\/telnet exists and was not made by inetconv; left alone$/m);
  t.equal(fs.readFileSync(path.join(dir, 'sv', 'telnet', 'run'), 'utf8'), '#!/bin/sh\nexec mine\n');
  t.same(fs.readdirSync(path.join(dir, 'sv', 'telnet')), ['run']);
  t.match(r.out, /^created sv\/ftp$/m, 'the others are written');
});

t.test('bad input: file and line, exit code, nothing written', async (t) => {
  const dir = tmp(t);
  sample(dir);
  fs.writeFileSync(path.join(dir, 'hosts.deny'), 'in.ftpd: ALL\nthis line has no colon\n');
  const r = conv(ARGS, dir);
  t.equal(r.code, 100);
  t.equal(r.err, 'inetconv: fatal: hosts.deny:2: not "daemons : clients [: options]": this line has no colon\n');
  t.notOk(fs.existsSync(path.join(dir, 'sv')));
  const u = conv(['-q'], dir);
  t.equal(u.code, 100);
  t.match(u.err, /^inetconv: illegal option -- q\nusage: inetconv /);
  const missing = conv(['-d', 'sv', '-i', 'nonexistent'], dir);
  t.equal(missing.code, 111);
  t.match(missing.err, /^inetconv: fatal: unable to read nonexistent: file does not exist/);
});

// One row per rule form: its hosts.allow and hosts.deny lines (for daemon d),
// and the decision expected from each source address.
interface Row { form: string; allow?: string[]; deny?: string[]; probes: Array<[string, string]>; refused?: RegExp; names?: boolean }
const ROWS: Row[] = [
  { form: 'default allow', probes: [['127.0.0.2', 'allow:'], ['127.200.0.1', 'allow:']] },
  { form: 'ALL (deny table)', deny: ['d: ALL'], probes: [['127.0.0.2', 'deny'], ['127.9.9.9', 'deny']] },
  { form: 'prefix a.b.c.', allow: ['d: 127.0.1.'], deny: ['d: ALL'], probes: [['127.0.1.5', 'allow:'], ['127.0.2.5', 'deny']] },
  { form: 'net/mask', allow: ['d: 127.1.0.0/255.255.0.0'], deny: ['d: ALL'], probes: [['127.1.3.4', 'allow:'], ['127.2.0.1', 'deny']] },
  { form: 'net/len', allow: ['d: 127.0.0.128/25'], deny: ['d: ALL'], probes: [['127.0.0.200', 'allow:'], ['127.0.0.100', 'deny']] },
  { form: 'EXCEPT', allow: ['d: 127.0.0.0/255.255.255.0 EXCEPT 127.0.0.7'], deny: ['d: ALL'],
    probes: [['127.0.0.6', 'allow:'], ['127.0.0.7', 'deny'], ['127.0.3.1', 'deny']] },
  { form: 'allow/deny options', allow: ['d: 127.0.3.3 : deny', 'd: 127.0.3.'], deny: ['d: 127.0.4. : allow', 'd: ALL'],
    probes: [['127.0.3.3', 'deny'], ['127.0.3.9', 'allow:'], ['127.0.4.1', 'allow:'], ['127.0.5.1', 'deny']] },
  { form: 'first match over longest prefix', allow: ['d: 127.0.11. : deny', 'd: 127.0.11.5'],
    probes: [['127.0.11.5', 'deny'], ['127.0.12.5', 'allow:']] },
  { form: 'setenv', allow: ['d: 127.0.0.0/8 : setenv GREETING hello world'], probes: [['127.0.0.9', 'allow:hello world']] },
  { form: 'twist', allow: ['d: 127.0.6. : twist /bin/echo twisted'], probes: [['127.0.6.1', 'twist:twisted'], ['127.0.7.1', 'allow:']] },
  { form: 'deny table', deny: ['d: 127.0.8.'], probes: [['127.0.8.1', 'deny'], ['127.0.9.1', 'allow:']] },
  { form: '.domain (names from the fake DNS, -p)', allow: ['d: .lab.example'], deny: ['d: ALL'], names: true,
    probes: [['127.0.12.1', 'allow:'], ['127.0.12.2', 'deny'], ['127.0.12.3', 'deny']] },
  { form: 'LOCAL', allow: ['d: LOCAL'], deny: ['d: ALL'], probes: [], refused: /LOCAL and the like cannot be expressed/ },
];

const ZONE = {
  '127.0.12.1': { ptr: 'a.lab.example' }, 'a.lab.example': { a: ['127.0.12.1'] },
  '127.0.12.2': { ptr: 'b.other.example' }, 'b.other.example': { a: ['127.0.12.2'] },
  // A PTR name that does not resolve back: -p drops it, as tcpd's PARANOID would refuse it.
  '127.0.12.3': { ptr: 'c.lab.example' }, 'c.lab.example': { a: ['127.0.12.99'] },
};

function kindOf(text: string): string {
  if (text === '') return 'deny';
  if (text.startsWith('ok ')) return `allow:${text.slice(3).replace(/\n$/, '')}`;
  return `twist:${text.replace(/\n$/, '')}`;
}

t.test('decisions of the converted services, one row per rule form', async (t) => {
  const dir = tmp(t);
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const inetd: string[] = [], allow: string[] = [], deny: string[] = [];
  ROWS.forEach((row, i) => {
    const d = `r${i}`;
    fs.writeFileSync(path.join(bin, d), '#!/bin/sh\necho "ok ${GREETING-}"\n', { mode: 0o755 });
    inetd.push(`${7100 + i} stream tcp nowait root /usr/sbin/tcpd ${path.join(bin, d)}`);
    for (const l of row.allow ?? []) allow.push(l.replace(/^d:/, `${d}:`));
    for (const l of row.deny ?? []) deny.push(l.replace(/^d:/, `${d}:`));
  });
  fs.writeFileSync(path.join(dir, 'inetd.conf'), inetd.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'hosts.allow'), allow.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'hosts.deny'), deny.join('\n') + '\n');
  const r = conv(ARGS, dir);
  t.equal(r.err, '');
  const dns = await startFakeDns(ZONE);
  t.teardown(() => dns.close());
  const haveTcpdmatch = fs.existsSync(TCPDMATCH);
  if (!haveTcpdmatch) t.pass('comparison with tcpdmatch skipped', { skip: `${TCPDMATCH} absent (Debian package tcpd)` });

  for (const [i, row] of ROWS.entries()) {
    await t.test(row.form, async (t) => {
      const port = String(7100 + i);
      if (row.refused) {
        t.match(r.out, new RegExp(`^inetd\\.conf:${i + 1}: not translated: ${port} \\(r${i}\\): .*${row.refused.source}`, 'm'));
        t.notOk(fs.existsSync(path.join(dir, 'sv', port)), 'refused: nothing written');
        return;
      }
      t.match(r.out, new RegExp(`^created sv/${port}$`, 'm'));
      const run = fs.readFileSync(path.join(dir, 'sv', port, 'run'), 'utf8');
      t.equal(/ -p /.test(run), row.names === true, row.names ? 'names are looked up (-p)' : 'no name lookups');
      const srv = await startRun(dir, port, (s) => s.replace(` :: ${port} `, ` 127.0.0.1 0 `), { DNSCACHEIP: dns.addr });
      try {
        for (const [src, want] of row.probes) {
          const got = kindOf(await reply(srv, src));
          t.equal(got, want, `from ${src}`);
          if (!haveTcpdmatch || row.names) continue;
          const m = spawnSync(TCPDMATCH, ['-d', `r${i}`, src], { cwd: dir, encoding: 'utf8', timeout: 10_000 });
          const access = /^access:\s+(\w+)/m.exec(m.stdout)?.[1];
          const tcpd = { granted: 'allow', denied: 'deny', delegated: 'twist' }[access ?? ''] ?? `?${m.stdout}${m.stderr}`;
          t.equal(got.replace(/:.*/, ''), tcpd, `from ${src}: tcpdmatch says ${access}`);
        }
      } finally {
        await srv.stop();
      }
    });
  }
});
