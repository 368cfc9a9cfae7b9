// rblsmtpd, ours beside ucspi-tcp's (Debian's), byte for byte: $RBLSMTPD,
// the -r/-a lookups against a fake name server on 127.53.x.y:53 (djb's
// resolver asks port 53 only, hence root), the dialogue (long lines, bare LF,
// NUL, a client that stalls, one that does not read), -t, usage and exec.
import t, { type Test } from 'tap';
import * as net from 'node:net';
import { needReference, ours, reference, spawn, isRoot, killGroup, waitFor } from './helpers/common';
import { startFakeDns, FakeDns } from './helpers/fakedns';

interface Out { status: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs file to its end (killed after 60 s: a failure); input is written, then stdin is closed unless hold. */
function run(file: string, args: string[], env: Record<string, string>, input = '', hold = false): Promise<Out> {
  return new Promise((resolve) => {
    const p = spawn(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout!.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    p.stderr!.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    p.stdin!.on('error', () => {});
    p.stdin!.write(Buffer.from(input, 'latin1'));
    if (!hold) p.stdin!.end();
    const limit = setTimeout(() => killGroup(p.pid), 60_000);
    p.on('close', (status, signal) => {
      clearTimeout(limit);
      p.stdin!.destroy();
      resolve({ status, signal, stdout, stderr: stderr.replace(/ pid \d+: /g, ' pid X: ') });
    });
  });
}

const DIALOGUE = 'HELO client.example\r\nEHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nnoop\nRSET\r\nhelp\r\nQUIT\r\nafter quit\r\n';

let dns: FakeDns | undefined;
t.before(async () => {
  if (!isRoot) return;
  dns = await startFakeDns({
    '2.0.0.127.rbl.test': { txt: ['Blackholed - see <URL:http://rbl.test/lookup?127.0.0.2>'] },
    '3.0.0.127.rbl.test': { txt: [['part one; ', 'part two'], 'second\x01rec\x7ford\xff\xe9'] },
    '4.0.0.127.rbl.test': { txt: ['x'.repeat(150), 'y'.repeat(150)] },
    '5.0.0.127.rbl.test': { rcode: 2 },
    '7.0.0.127.rbl.test': { a: ['127.0.0.2'] },
    '8.0.0.127.rbl.test': { mode: 'wrongtype' },
    '2.0.0.127.white.test': { a: ['127.0.0.2'] },
    '5.0.0.127.white.test': { rcode: 2 },
    '2.0.0.127.fail.test': { rcode: 5 },
    '9.0.0.127.rbl.test': { mode: 'servfail' },
    '7.0.0.127.white.test': { txt: ['no address here'] },
    'rbl.test': { txt: ['the zone itself'] },
  }, { port53: true });
});
t.teardown(() => dns?.close());

const root = { skip: isRoot ? false : 'needs root: the reference resolver asks port 53 only' };

/** Both, same arguments, same environment and input: the same bytes, the same end. */
async function same(t: Test, what: string, args: string[], env: Record<string, string>, input = DIALOGUE): Promise<void> {
  const [want, got] = await Promise.all([run(reference('rblsmtpd'), args, env, input), run(ours('rblsmtpd'), args, env, input)]);
  t.same(got, want, what);
}

t.test('$RBLSMTPD, no lookups', needReference('rblsmtpd'), async (t) => {
  for (const [v, what] of [['', 'empty: runs the program'], ['Error', '451 Error'], ['-Error', '553 Error'],
    ['-', '553 and nothing'], ['a\ttab\x01 and é, ' + 'long '.repeat(60), 'cut at 200, controls and non-ASCII as ?']]) {
    await same(t, what, ['echo', 'ran'], { TCPREMOTEIP: '127.0.0.2', RBLSMTPD: v });
  }
  await same(t, 'no $TCPREMOTEIP', ['echo', 'ran'], { RBLSMTPD: 'Error' });
  await same(t, '$RBLSMTPD decides before any -r is asked', ['-r', 'rbl.test', 'echo', 'ran'],
    { TCPREMOTEIP: '127.0.0.2', RBLSMTPD: '', DNSCACHEIP: '127.0.0.1' });
});

t.test('the dialogue, line by line', needReference('rblsmtpd'), async (t) => {
  const env = { TCPREMOTEIP: '10.1.2.3', RBLSMTPD: 'go away' };
  const inputs: Array<[string, string]> = [
    ['bare LF ends a line', 'helo x\nmail\nrcpt\nquit\n'],
    ['case, spaces, CR', 'QuIt\r\r\n Quit\r\nquit\t\r\nNOOP   x y\r\nquit    \r\n'],
    ['NUL is a byte of the line', 'quit\0\r\nhe\0lo\r\nhelo\0 x\r\nrset\r\n'],
    ['a very long line, then more', 'helo ' + 'A'.repeat(300_000) + '\r\n' + 'B'.repeat(200_000) + '\nquit\r\n'],
    ['a long verb', 'quitquitquit\r\nquit\r\n'],
    ['end of input without QUIT', 'helo x\r\nmail from:<x>\r\n'],
    ['end of input in a line', 'helo x\r\nquit'],
    ['nothing at all', ''],
    ['QUIT, then lines not read', 'quit\r\nhelo\r\n' + 'z\n'.repeat(10_000)],
    ['many lines', 'rcpt to:<x>\r\n'.repeat(5000) + 'quit\r\n'],
  ];
  for (const [what, input] of inputs) await same(t, what, ['echo', 'ran'], env, input);
  await same(t, '-t0: the message alone, no greeting', ['-t0', 'echo', 'ran'], env);
  await same(t, '-t 0x is -t 0', ['-t', '0x', 'echo', 'ran'], env);
  await same(t, '-t 18446744073709551616 wraps to 0', ['-t', '18446744073709551616', 'echo', 'ran'], env);
  await same(t, '-t1 after -t0', ['-t0', '-t1', 'echo', 'ran'], env);
});

t.test('a client that stalls is dropped after -t', needReference('rblsmtpd'), async (t) => {
  const env = { TCPREMOTEIP: '10.1.2.3', RBLSMTPD: '-no' };
  const [want, got] = await Promise.all([
    run(reference('rblsmtpd'), ['-t1', 'echo', 'ran'], env, 'helo x\r\nmail from:<', true),
    run(ours('rblsmtpd'), ['-t1', 'echo', 'ran'], env, 'helo x\r\nmail from:<', true),
  ]);
  t.same(got, want);
  t.equal(got.status, 0);
});

t.test('a client that sends and never reads is dropped after -t', needReference('rblsmtpd', 'tcpserver'), async (t) => {
  // Under ucspi-tcp's tcpserver, as rblsmtpd runs: -1 prints the port, -v logs its end.
  for (const file of [reference('rblsmtpd'), ours('rblsmtpd')]) {
    const server = spawn(reference('tcpserver'), ['-1', '-v', '-R', '-H', '-l0', '127.0.0.1', '0', file, '-t2', 'echo', 'ran'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', RBLSMTPD: 'x'.repeat(200) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stderr!.setEncoding('latin1').on('data', (d: string) => { log += d; });
    const port = await new Promise<number>((ok) => server.stdout!.once('data', (d) => ok(Number(String(d).trim()))));
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.pause();
    // Short lines with long answers: the answers fill both socket buffers.
    const flood = Buffer.from('x\n'.repeat(1 << 20));
    const sending = () => { client.write(flood, (e) => { if (!e) sending(); }); };
    sending();
    const end = await waitFor(`${file}'s end in tcpserver's log`, () => /end \d+ status (\d+)/.exec(log)?.[1], 60_000)
      .catch((e: Error) => e.message);
    t.equal(end, '0', `${file}: ends at its alarm, exit 0`);
    client.destroy();
    killGroup(server.pid);
  }
});

/** rblsmtpd (file) under ucspi-tcp's tcpserver: a client sends input (then half-closes unless hold), reads to the end. */
async function overTcp(file: string, args: string[], env: Record<string, string>, input: string, halfClose: boolean): Promise<string> {
  const server = spawn(reference('tcpserver'), ['-1', '-R', '-H', '-l0', '127.0.0.1', '0', file, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const port = await new Promise<number>((ok) => server.stdout!.once('data', (d) => ok(Number(String(d).trim()))));
    return await new Promise<string>((ok) => {
      let got = '';
      const c = net.connect(port, '127.0.0.1', () => {
        c.write(Buffer.from(input, 'latin1'));
        if (halfClose) c.end();
      });
      c.setEncoding('latin1');
      c.on('data', (d: string) => { got += d; });
      c.on('error', (e) => { got += `[${e.message}]`; });
      c.on('close', () => ok(got));
      setTimeout(() => c.destroy(), 60_000).unref();
    });
  } finally {
    killGroup(server.pid);
  }
}

t.test('over TCP, under tcpserver', needReference('rblsmtpd', 'tcpserver'), async (t) => {
  const env = { RBLSMTPD: '-see http://rbl.test/' };
  for (const [what, input, half] of [['QUIT', DIALOGUE, false], ['a half-close without QUIT', 'helo x\r\nmail from:<x>\r\nrcpt\r\n', true],
    ['a half-close in a line', 'helo x\r\nrcpt to:<', true]] as Array<[string, string, boolean]>) {
    const [want, got] = await Promise.all([overTcp(reference('rblsmtpd'), ['echo', 'ran'], env, input, half),
      overTcp(ours('rblsmtpd'), ['echo', 'ran'], env, input, half)]);
    t.equal(got, want, what);
  }
  t.equal(await overTcp(ours('rblsmtpd'), ['-t0', 'echo', 'ran'], env, '', false), '553 see http://rbl.test/\r\n', '-t0');
});

t.test('usage and exec', needReference('rblsmtpd'), async (t) => {
  const env = { TCPREMOTEIP: '127.0.0.2', RBLSMTPD: '' };
  for (const args of [[], ['-b'], ['-R', 'echo'], ['-t'], ['-x', 'echo'], ['--', 'echo', 'a'], ['-bBcC', '-t5', 'echo', '-b'],
    ['no-such-program-here'], ['/nonexistent/prog'], ['sh', '-c', 'exit 7']]) {
    await same(t, args.join(' ') || '(none)', args, env, '');
  }
});

t.test('-r and -a against a name server', { ...root, ...needReference('rblsmtpd') }, async (t) => {
  const at = dns!.addr;
  const cases: Array<[string, string[], string | undefined, RegExp?]> = [
    ['listed: 451 and the TXT text', ['-r', 'rbl.test'], '127.0.0.2', /: 451 Blackholed - see <URL:http:\/\/rbl.test\/lookup\?127.0.0.2>\n$/],
    ['-b: 553', ['-b', '-r', 'rbl.test'], '127.0.0.2', /: 553 Blackholed/],
    ['-b then -B', ['-b', '-B', '-r', 'rbl.test'], '127.0.0.2', /: 451 Blackholed/],
    ['not listed: runs the program', ['-r', 'rbl.test'], '127.0.0.1', /^$/],
    ['several records and strings, controls', ['-r', 'rbl.test'], '127.0.0.3', /: 451 part one; part twosecond\?rec\?ord\?\?\n$/],
    ['a text over 200 bytes', ['-b', '-r', 'rbl.test'], '127.0.0.4', /: 553 x{150}y{50}\n$/],
    ['an A record but no TXT is not listed', ['-r', 'rbl.test'], '127.0.0.7', /^$/],
    ['an answer of another type', ['-r', 'rbl.test'], '127.0.0.8'],
    ['SERVFAIL, fail-open', ['-r', 'rbl.test'], '127.0.0.5', /^$/],
    ['NOERROR without records', ['-c', '-r', 'rbl.test'], '127.0.0.9', /^$/],
    ['SERVFAIL, -c: 451 temporary', ['-c', '-r', 'rbl.test'], '127.0.0.5', /: 451 temporary RBL lookup error\n$/],
    ['REFUSED, then listed with -b: 451', ['-b', '-r', 'fail.test', '-r', 'rbl.test'], '127.0.0.2', /: 451 Blackholed/],
    ['a failure earlier makes -b a 451', ['-b', '-c', '-a', 'white.test', '-r', 'rbl.test'], '127.0.0.5', /: 451 temporary RBL lookup error\n$/],
    ['anti-listed first', ['-a', 'white.test', '-r', 'rbl.test'], '127.0.0.2', /^$/],
    ['listed first', ['-r', 'rbl.test', '-a', 'white.test'], '127.0.0.2', /: 451 Blackholed/],
    ['anti-RBL SERVFAIL, fail-open: runs', ['-a', 'white.test', '-r', 'rbl.test'], '127.0.0.5', /^$/],
    ['anti-RBL REFUSED, -c: asks on, and -b is a 451', ['-c', '-b', '-a', 'fail.test', '-r', 'rbl.test'], '127.0.0.2', /: 451 Blackholed/],
    ['a TXT under the anti-RBL is no A', ['-a', 'white.test', '-r', 'rbl.test'], '127.0.0.7', /^$/],
    ['an anti-RBL of digits is not asked', ['-a', '5', '-r', 'rbl.test'], '127.0.0.2', /^$/],
    ['digits too few for an address', ['-a', '5', '-r', 'rbl.test'], '2', /^$/],
    ['empty labels dropped', ['-r', '.rbl.test'], '127.0.0.2', /: 451 Blackholed/],
    ['no $TCPREMOTEIP: the zone itself', ['-r', 'rbl.test'], undefined, /rblsmtpd:  pid X: 451 the zone itself\n$/],
    ['a label over 63 bytes fails', ['-c', '-r', 'l'.repeat(64) + '.test'], '127.0.0.2', /: 451 temporary RBL lookup error\n$/],
  ];
  for (const [what, args, ip, stderr] of cases) {
    const env: Record<string, string> = { DNSCACHEIP: at };
    if (ip !== undefined) env.TCPREMOTEIP = ip;
    dns!.queries.length = 0;
    const want = await run(reference('rblsmtpd'), [...args, 'echo', 'ran'], env, DIALOGUE);
    const asked = [...new Set(dns!.queries.map((q) => `${q.type} ${q.name.toLowerCase()}`))];
    dns!.queries.length = 0;
    const got = await run(ours('rblsmtpd'), [...args, 'echo', 'ran'], env, DIALOGUE);
    t.same(got, want, what);
    if (stderr) t.match(got.stderr, stderr, `${what}: the log line`);
    t.same([...new Set(dns!.queries.map((q) => `${q.type} ${q.name.toLowerCase()}`))], asked, `${what}: the same questions`);
  }
});

t.test('no name server at all', { ...root, ...needReference('rblsmtpd') }, async (t) => {
  // A loopback address where nothing listens on port 53: refused, then silence (the
  // reference waits out its retries, about 11 s).
  const env = { DNSCACHEIP: '127.54.0.1', TCPREMOTEIP: '127.0.0.2' };
  const runs = await Promise.all([['-c', '-b', '-r', 'rbl.test'], ['-r', 'rbl.test'],
    ['-a', 'white.test', '-c', '-r', 'rbl.test'], ['-c', '-a', 'white.test', '-r', 'rbl.test']].map((o) =>
    Promise.all([run(reference('rblsmtpd'), [...o, 'echo', 'ran'], env, DIALOGUE),
      run(ours('rblsmtpd'), [...o, 'echo', 'ran'], env, DIALOGUE)])));
  for (const [want, got] of runs) t.same(got, want);
  t.match(runs[0][1].stderr, /: 451 temporary RBL lookup error\n$/);
});
