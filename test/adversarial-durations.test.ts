// Durations past what a Node timer holds (2^31-1 ms, about 24.8 days): each
// option or file that sets a timer, given 2147484 seconds and more. Before
// lib/timer.ts such a timer fired after 1 ms.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ours, scratch, sleep, waitFor } from './helpers/common';
import { launchers, startServer } from './helpers/net';
import { daemon, service } from './helpers/svdir';

t.setTimeout(120000);

const tmp = scratch('adversarial-durations');
const LONG = ['2147484', '4294967296', '99999999999'];
// --proxy-timeout takes at most 9 digits (about 31 years); past that it is a bad value (exit 100).
const LONG_PROXY = ['2147484', '999999999'];

/** Sends a, then b after ms (b a separate segment); resolves with what the server sent until it closed. */
function twoSegments(port: number, a: string, b: string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const k = setTimeout(() => { s.destroy(); resolve(got + '<no end>'); }, 10000);
    s.on('data', (d) => { got += d; });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(k); resolve(got); });
    s.on('connect', () => {
      s.setNoDelay(true);
      s.write(a);
      setTimeout(() => s.write(b), ms);
    });
  });
}

for (const l of launchers()) {
  for (const cmd of ['tcpsvd', 'tcpserver']) {
    t.test(`${cmd} --proxy-timeout past 24.8 days (${l.name}): a header in two segments is waited for`, { skip: l.skip }, async (t) => {
      for (const secs of LONG_PROXY) {
        const args = cmd === 'tcpserver' ? ['-H', '-R', '-l0'] : ['-l0'];
        const srv = await startServer(ours(cmd), [...args, '--proxy=127.0.0.1', `--proxy-timeout=${secs}`,
          '127.0.0.1', '0', 'sh', '-c', 'echo "$TCPREMOTEIP"'], { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: l.name });
        const out = await twoSegments(srv.port, 'PROXY TCP4 192.0.2.7 127.0.0.1 1000', ' 2000\r\n', 300);
        await srv.stop();
        t.equal(out, '192.0.2.7\n', `--proxy-timeout=${secs}: the client is served with the header's address`);
        t.notMatch(srv.stderr(), /TimeoutOverflowWarning|timed out/, 'no timer overflow, no time-out');
      }
    });
  }
}

t.test('tcpserver -r -t past 24.8 days: the ident answer is waited for', async (t) => {
  // An identd that answers after 300 ms.
  const identd = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', (d) => {
      const req = d.toString('latin1').trim();
      setTimeout(() => s.end(`${req} : USERID : UNIX : alice\r\n`), 300);
    });
  });
  await new Promise<void>((r) => identd.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => identd.close());
  const identPort = (identd.address() as net.AddressInfo).port;
  for (const secs of LONG) {
    const srv = await startServer(ours('tcpserver'), ['-H', '-l0', '-r', '-t', secs, '127.0.0.1', '0',
      'sh', '-c', 'echo "$TCPREMOTEINFO"'], { PATH: '/usr/bin:/bin', UCSPI_IDENT_PORT: String(identPort) });
    const out = await twoSegments(srv.port, '', '', 0);
    await srv.stop();
    t.equal(out, 'alice\n', `-t ${secs}: TCPREMOTEINFO from the late answer`);
    t.notMatch(srv.stderr(), /TimeoutOverflowWarning/, 'no timer overflow');
  }
});

t.test('supervise respawn-delay past 24.8 days: the service is not restarted at once', async (t) => {
  for (const secs of ['2147484', '999999999.999']) {
    const dir = tmp('respawn');
    const starts = path.join(dir, 'starts');
    const svc = service(dir, 'late', { run: `#!/bin/sh\necho x >> ${starts}\nexit 1\n` });
    fs.writeFileSync(path.join(svc, 'respawn-delay'), `${secs}\n`);
    const d = daemon(t, ours('supervise'), [svc], dir);
    const lines = () => {
      try { return fs.readFileSync(starts, 'latin1').split('\n').filter(Boolean).length; } catch { return 0; }
    };
    await waitFor('the first run', () => lines() >= 1);
    // The run has ended (its line is written before it exits): a 1 ms timer would have started the next by now.
    await sleep(1500);
    t.equal(lines(), 1, `respawn-delay ${secs}: one run only`);
    t.notMatch(d.stderr(), /TimeoutOverflowWarning/, 'no timer overflow');
  }
});
