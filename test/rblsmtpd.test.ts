// rblsmtpd, ours beside ucspi-tcp's (Debian's), byte for byte: $RBLSMTPD,
// the dialogue (long lines, bare LF, NUL, a client that stalls, one that
// does not read, over a pipe and over TCP), -t, usage and exec. The lookups
// are in rblsmtpd-dns.test.ts.
import t, { type Test } from 'tap';
import * as net from 'node:net';
import { needReference, ours, reference, spawn, killGroup, waitFor } from './helpers/common';
import { DIALOGUE, run } from './helpers/rblsmtpd';

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

