// tcpclient against Debian's /usr/bin/tcpclient, side by side: the same
// environment seen by the program, the same bytes through fds 6 and 7, the
// same words and exit codes for refused connections, bad options, unknown
// ports, names without an address or without an answering name server,
// bind failures and connection timeouts (-T x+y over two addresses). Both
// ask a fake DNS server on 127.x:53 (root) for names; loopback only.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { spawn as rawSpawn } from 'node:child_process';
import { isRoot, needReference, ours, reference } from './helpers/common';
import { startFakeDns } from './helpers/fakedns';
import { startFakeIdentd } from './helpers/fakeidentd';
import { loadNative } from '../src/native';

const need = needReference('tcpclient');
const OURS = ours('tcpclient');

interface Out { code: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs cmd with args and env (PATH added), stdin empty; bounded. */
function run(cmd: string, args: string[], env: Record<string, string> = {}, input = ''): Promise<Out> {
  return new Promise((resolve, reject) => {
    const p = rawSpawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    let stdout = '', stderr = '';
    p.stdout.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')}: no end in 30 s`)); }, 30_000);
    p.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    p.stdin.on('error', () => { /* a program that never reads */ });
    p.stdin.end(input);
  });
}

/** Ours and Debian's, one after the other, with the same arguments and environment. */
async function both(args: string[], env: Record<string, string> = {}, input = ''): Promise<[Out, Out]> {
  return [await run(OURS, args, env, input), await run(reference('tcpclient'), args, env, input)];
}

/** A server that greets, records what each client sends, and closes when the client does. */
async function server(host = '127.0.0.1', greeting = 'hello\r\n', delayMs = 0) {
  const got: string[] = [];
  const peers: Array<{ port: number }> = [];
  const s = net.createServer((c) => {
    c.on('error', () => {});
    peers.push({ port: c.remotePort ?? 0 });
    let data = '';
    c.setEncoding('latin1');
    c.on('data', (d: string) => { data += d; });
    c.on('end', () => { got.push(data); c.end(); });
    // Later, the program's first read waits for it (a non-blocking fd 6 would fail it: EAGAIN).
    if (delayMs > 0) setTimeout(() => c.write(greeting), delayMs);
    else c.write(greeting);
  });
  await new Promise<void>((ok) => s.listen(0, host, ok));
  t.teardown(() => new Promise<void>((ok) => s.close(() => ok())));
  return { port: (s.address() as net.AddressInfo).port, got, peers };
}

/** A port on host that nothing listens on. */
async function closedPort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((ok) => s.listen(0, host, ok));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '').sort();

t.test('the program sees the same environment, variables replaced and removed as there', need, async (t) => {
  const srv = await server();
  const env = { A: '1', TCPLOCALIP: 'stale', TCPREMOTEHOST: 'stale', TCPREMOTEINFO: 'stale', B: '2' };
  const [o, d] = await both(['-RHl0', '127.0.0.1', String(srv.port), 'env'], env);
  t.equal(o.code, 0);
  t.equal(d.code, 0);
  const norm = (s: string) => lines(s).filter((l) => !l.startsWith('PATH=')).map((l) => l.replace(/^(TCPLOCALPORT)=\d+$/, '$1=N'));
  t.same(norm(o.stdout), norm(d.stdout), 'same variables and values (local port aside)');
  t.match(o.stdout, /^PROTO=TCP$/m);
  t.match(o.stdout, new RegExp(`^TCPREMOTEPORT=${srv.port}$`, 'm'));
  t.notMatch(o.stdout, /TCPREMOTEHOST|TCPREMOTEINFO/, '-H and -R remove stale values');
  t.match(o.stdout, /^TCPLOCALHOST=0$/m);
  // The local port the program is told is the one the server saw.
  const lport = Number(/^TCPLOCALPORT=(\d+)$/m.exec(o.stdout)![1]);
  t.ok(srv.peers.some((p) => p.port === lport), 'TCPLOCALPORT is the connection\'s');
});

t.test('fd 6 reads from the server, fd 7 writes to it (addon and pure Node)', need, async (t) => {
  const srv = await server('127.0.0.1', 'greeting line\n', 300);
  const prog = ['sh', '-c', 'head -c 14 <&6; echo "to server" >&7; ls /proc/self/fd'];
  const [o, d] = await both(['-RHl0', '127.0.0.1', String(srv.port), ...prog]);
  const fds = (s: string) => s.split('\n').slice(1).filter((l) => /^\d+$/.test(l) && Number(l) >= 6 && Number(l) <= 7).join(',');
  t.equal(o.stdout.split('\n')[0], 'greeting line');
  t.equal(o.stdout.split('\n')[0], d.stdout.split('\n')[0]);
  t.equal(fds(o.stdout), '6,7');
  t.equal(o.stdout.split('\n').slice(1).join(','), d.stdout.split('\n').slice(1).join(','),
    'the program has the same descriptors as under Debian\'s (none of Node\'s, no copy of the socket)');
  // With descriptors inherited below Node's own, which then sit elsewhere: none of Node's goes on.
  for (const open of ['3', '3 4', '3 5', '3 4 5']) {
    const shifted = ['-c', `exec ${open.split(' ').map((fd) => `${fd}</dev/null`).join(' ')}; exec "$0" "$@"`];
    const o3 = await run('/bin/sh', [...shifted, OURS, '-RHl0', '127.0.0.1', String(srv.port), ...prog]);
    const d3 = await run('/bin/sh', [...shifted, reference('tcpclient'), '-RHl0', '127.0.0.1', String(srv.port), ...prog]);
    t.equal(o3.stdout.split('\n').slice(1).join(','), d3.stdout.split('\n').slice(1).join(','),
      `fds ${open} inherited: the same descriptors as under Debian's`);
  }
  const plain = await run(OURS, ['-RHl0', '127.0.0.1', String(srv.port), ...prog], { UCSPI_NO_NATIVE: '1' });
  t.equal(plain.code, 0, 'without the addon too');
  t.equal(plain.stdout.split('\n')[0], 'greeting line', 'a blocking fd 6 without the addon');
  t.equal(fds(plain.stdout), '6,7');
  await new Promise((r) => setTimeout(r, 200));
  t.same(srv.got.filter((g) => g === 'to server\n').length, 11, 'the server got each line through fd 7');
});

t.test('refused, bad options, unknown port, no program, -q, -v', need, async (t) => {
  const port = String(await closedPort());
  const srv = await server();
  const cases: string[][] = [
    ['-RHl0', '127.0.0.1', port, 'true'],
    ['-q', '-RHl0', '127.0.0.1', port, 'true'],
    ['-x'], ['-i'], ['-i', 'junk', '0', '1', 'true'], ['-q', '-z', '0', '1', 'true'], ['-q'], [], ['0'], ['0', '0'],
    ['-RHl0', '0', 'nonexistentport', 'true'],
    ['-RHl0', '', port, 'true'],
    ['-RHl0', '[127.000.000.001]', port, 'true'],
    ['-RHl0', '-i', '10.255.255.1', '127.0.0.1', port, 'true'],
    ['-RHl0', '127.0.0.1', String(srv.port), '/nonexistent/prog'],
    ['-v', '-RHl0', '127.0.0.1', String(srv.port), 'true'],
    // No time at all: the loopback answer still comes within timeoutconn's wait.
    ['-v', '-RHl0', '-T0', '127.0.0.1', String(srv.port), 'true'],
    ['-RHl0', '-i', '127.0.0.2', '-p', '0', '127.0.0.1', String(srv.port), 'sh', '-c', 'echo $TCPLOCALIP'],
    // The local port taken (by the server itself): bind fails.
    ['-RHl0', '-i', '127.0.0.1', '-p', String(srv.port), '127.0.0.1', String(srv.port), 'true'],
  ];
  for (const c of cases) {
    const [o, d] = await both(c);
    const name = `tcpclient ${c.map((a) => JSON.stringify(a)).join(' ')}`;
    t.same({ code: o.code, stdout: o.stdout, stderr: o.stderr }, { code: d.code, stdout: d.stdout, stderr: d.stderr }, name);
    const p = await run(OURS, c, { UCSPI_NO_NATIVE: '1' });
    t.same({ code: p.code, stdout: p.stdout, stderr: p.stderr }, { code: d.code, stdout: d.stdout, stderr: d.stderr },
      `${name}, without the addon`);
  }
});

const noAddon = !loadNative() && 'needs the addon to hold a listener that never accepts';

t.test('-T: a connection that gets no answer times out, the same words', { skip: need.skip || noAddon }, async (t) => {
  const n = loadNative()!;
  // A listener whose one-place queue is full drops further SYNs: no answer.
  const [fd, port] = n.listenTcp('127.0.0.1', 0, 0);
  t.teardown(() => fs.closeSync(fd));
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => {});
  t.teardown(() => filler.destroy());
  const filler2 = net.connect(port, '127.0.0.1');
  filler2.on('error', () => {});
  t.teardown(() => filler2.destroy());
  await new Promise((r) => setTimeout(r, 300));
  const [o, d] = await both(['-RHl0', '-T', '1', '127.0.0.1', String(port), 'true']);
  t.same(o, d, 'same words and code');
  t.equal(o.stderr, `tcpclient: unable to connect to 127.0.0.1 port ${port}: timed out\n`);
  t.equal(o.code, 111);
});

t.test('names through $DNSCACHEIP: addresses, none, no server; PTR names', { skip: need.skip || (!isRoot && 'needs root: a fake DNS server on 127.x:53') }, async (t) => {
  const srv = await server();
  const dns = await startFakeDns({
        'one.example': { a: ['127.0.0.1'] },
    '127.0.0.1': { ptr: 'localhost' },
    // A hostile PTR answer: blanks, a slash, upper case, a NUL, a dot inside a label.
    '127.0.0.5': { ptrLabels: ['Ex/am ple', 'a.b\0c', 'ORG'] },
  }, { port53: true });
  t.teardown(() => dns.close());
  const env = { DNSCACHEIP: dns.addr };
  for (const c of [
    ['-RHl0', 'one.example.', String(srv.port), 'sh', '-c', 'echo $TCPREMOTEIP'],
    ['-RHl0', 'nonexistent.example.', String(srv.port), 'true'],
    ['-RHl0', 'thislabelistoolongbecausednshasalimitof63charactersinasinglelabel.', String(srv.port), 'true'],
    ['-R', '127.0.0.1', String(srv.port), 'sh', '-c', 'echo "$TCPLOCALHOST/$TCPREMOTEHOST"'],
  ]) {
    const [o, d] = await both(c, env);
    t.same({ code: o.code, stdout: o.stdout, stderr: o.stderr }, { code: d.code, stdout: d.stdout, stderr: d.stderr },
      `tcpclient ${c.join(' ')}`);
    if (c[1] === 'one.example.') t.equal(o.stdout, '127.0.0.1\n', 'the name\'s address');
  }
  // A hostile name is written as djb's dns_name4 writes it.
  const hostile = await server('127.0.0.5');
  const [oh, dh] = await both(['-R', '-l', 'x', '127.0.0.5', String(hostile.port), 'sh', '-c', 'printf "%s\\n" "$TCPREMOTEHOST"'], env);
  t.equal(oh.stdout, dh.stdout, `the hostile PTR name as Debian's writes it: ${dh.stdout.trim()}`);
  // An address without a name: TCPREMOTEHOST set and empty, as dns_name4 leaves it.
  const nameless = await server('127.0.0.3');
  const [o, d] = await both(['-R', '-l', 'x', '127.0.0.3', String(nameless.port), 'sh', '-c', 'echo "${TCPREMOTEHOST-unset}"'], env);
  t.equal(o.stdout, '\n');
  t.equal(o.stdout, d.stdout);
  // No name server answers (nothing on 127.0.0.77:53): the name is unset.
  const [o2, d2] = await both(['-R', '-l', 'x', '127.0.0.1', String(srv.port), 'sh', '-c', 'echo "${TCPREMOTEHOST-unset}"'],
    { DNSCACHEIP: '127.0.0.77' });
  t.same([o2.code, o2.stdout], [d2.code, d2.stdout]);
  t.equal(o2.stdout, 'unset\n');
});

t.test('-T x+y: each address x seconds, then those that timed out y seconds', { skip: need.skip || noAddon || (!isRoot && 'needs root: a fake DNS server on 127.x:53') }, async (t) => {
  const n = loadNative()!;
  const [fd, port] = n.listenTcp('127.0.0.1', 0, 0);
  const fillers = [0, 1].map(() => net.connect(port, '127.0.0.1').on('error', () => {}));
  t.teardown(() => { for (const f of fillers) f.destroy(); fs.closeSync(fd); });
  await new Promise((r) => setTimeout(r, 300));
  // 127.0.0.1 never answers; 127.0.0.2 (same port, nothing there) refuses at once.
  const dns = await startFakeDns({ 'pair.example': { a: ['127.0.0.1', '127.0.0.2'] } }, { port53: true });
  t.teardown(() => dns.close());
  const [o, d] = await both(['-RHl0', '-T', '1+1', 'pair.example.', String(port), 'true'], { DNSCACHEIP: dns.addr });
  // The order of the addresses is random in both; the refusal is said at
  // once, the timeout only after the second try: always in this order.
  t.same(o.stderr, d.stderr, 'the same failures, in the same order');
  t.same(o.stderr.split('\n').slice(0, -1), [
    `tcpclient: unable to connect to 127.0.0.2 port ${port}: connection refused`,
    `tcpclient: unable to connect to 127.0.0.1 port ${port}: timed out`,
  ]);
  t.equal(o.code, 111);
  t.equal(d.code, 111);
});

t.test('-r: TCPREMOTEINFO from the server\'s identd; -t bounds the wait', { skip: need.skip || (!isRoot && 'needs root: an identd on 127.x:113') }, async (t) => {
  const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : alice`, { port113: true });
  t.teardown(() => idd.close());
  const srv = await server(idd.host);
  const prog = ['sh', '-c', 'echo "${TCPREMOTEINFO-unset}"'];
  const [o, d] = await both(['-Hl0', idd.host, String(srv.port), ...prog]);
  t.equal(o.stdout, 'alice\n');
  t.equal(o.stdout, d.stdout);
  const mute = await startFakeIdentd(() => null, { port113: true });
  t.teardown(() => mute.close());
  const srv2 = await server(mute.host);
  const [o2, d2] = await both(['-Hl0', '-t1', mute.host, String(srv2.port), ...prog]);
  t.equal(o2.stdout, 'unset\n');
  t.equal(o2.stdout, d2.stdout);
});
