// identLookup against the fake identd: the RFC 1413 request, good answers,
// error answers, wrong ports, silence (timeout), floods and no server.
import t from 'tap';
import * as net from 'node:net';
import { IdentReply, MAX_INFO, identLookup, parseIdent } from '../src/identify/ident';
import * as path from 'node:path';
import { startFakeIdentd } from './helpers/fakeidentd';
import { BIN, launchers, startServer, talk } from './helpers/net';
import { findReference, isRoot, needReference } from './helpers/common';

const OURS = path.join(BIN, 'tcpserver');
const REF = findReference('tcpserver') ?? 'tcpserver';

t.test('parseIdent cleans as ucspi-tcp 0.88', async (t) => {
  const rows: Array<[string, string | undefined]> = [
    ['12345 , 80 : USERID : UNIX : alice\n', 'alice'],
    ['12345,80:USERID:UNIX:alice\r\n', 'alice'],
    ['12345 , 80 : USERID : UNIX , UTF-8 : bob\r\n', 'bob'],
    ['12345 , 80 : USERID : OTHER :a:b:c\n', 'a:b:c'],
    ['12345 , 80 : USERID : UNIX : ca r\tol \r\r\n', 'carol'],  // blanks, tabs, CRs dropped anywhere
    ['12345 , 80 : ERROR : NO-USER\n', ''],                     // no check of USERID: two colons, nothing kept
    ['12345 , 80 : ERROR : X : why\n', 'why'],                  // what follows a third colon
    ['9 , 9 : USERID : UNIX : mallory\n', 'mallory'],           // no check of the ports
    ['12345 , 80 : USERID : UNIX : \xff\xfe\x80\x01\n', '\xff\xfe\x80\x01'],  // bytes kept
    ['12345 , 80 : USERID : UNIX : ab\0cd\n', 'ab'],            // a NUL ends the value
    ['12345 , 80 : USERID : UNIX : \n', ''],
    ['garbage\n', ''],
    ['\n', ''],
    ['12345 , 80 : USERID : UNIX : dave', undefined],  // no newline yet
    ['', undefined],
  ];
  for (const [i, o] of rows) t.equal(parseIdent(i), o, JSON.stringify(i));
  t.equal(parseIdent(`1,2:USERID:UNIX:${'x'.repeat(400)}`), 'x'.repeat(MAX_INFO), 'cut after 257 bytes, newline or not');
  const r = new IdentReply();
  t.equal(r.feed('1 , 2 : USE'), undefined);
  t.equal(r.feed('RID : UNIX : e r'), undefined);
  t.equal(r.feed('in\r\nignored'), 'erin', 'fed in pieces');
});

const local = { ip: '127.0.0.1', port: 80 };
const remote = { ip: '127.0.0.1', port: 12345 };

t.test('asks "remoteport , localport" and reads the user', async (t) => {
  const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : alice`);
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, remote, 2000, idd.port), 'alice');
  t.same(idd.requests, ['12345 , 80']);
});

t.test('ERROR and mismatched answers are taken as they are, as ucspi-tcp does', async (t) => {
  const idd = await startFakeIdentd((req) => (req.startsWith('1 ') ? `${req} : ERROR : NO-USER` : '9 , 9 : USERID : UNIX : mallory'));
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, { ip: '127.0.0.1', port: 1 }, 2000, idd.port), '', 'ERROR: nothing after a third colon');
  t.equal(await identLookup(local, remote, 2000, idd.port), 'mallory', 'other ports');
  t.equal(idd.requests.length, 2, 'both asked');
});

t.test('silence ends at the deadline', async (t) => {
  const idd = await startFakeIdentd(() => null);
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, remote, 300, idd.port), undefined);
  t.equal(idd.requests.length, 1, 'the question was asked');
});

t.test('an endless answer is cut off after 257 bytes', async (t) => {
  const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : ${'x'.repeat(100000)}`);
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, remote, 5000, idd.port), 'x'.repeat(MAX_INFO));
});

t.test('an endless answer before the third colon lasts until the deadline', async (t) => {
  const idd = await startFakeIdentd(() => Buffer.alloc(100000, 'y'));
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, remote, 2000, idd.port), undefined);
});

t.test('an answer without newline, then close, is unknown', async (t) => {
  const srv = net.createServer((s) => s.on('data', () => s.end('12345 , 80 : USERID : UNIX : dave')));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  t.equal(await identLookup(local, remote, 2000, (srv.address() as net.AddressInfo).port), undefined);
});

t.test('no identd: unknown', async (t) => {
  // A port that was just free: connection refused.
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  t.equal(await identLookup(local, remote, 2000, port), undefined);
});

t.test('asks from the local address the client connected to', async (t) => {
  const from: string[] = [];
  const idd = net.createServer((s) => {
    from.push(s.remoteAddress ?? '');
    s.on('data', () => s.end('12345 , 80 : USERID : UNIX : erin\r\n'));
  });
  await new Promise<void>((r) => idd.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => idd.close(() => r())));
  t.equal(await identLookup({ ip: '127.0.0.7', port: 80 }, remote, 2000, (idd.address() as net.AddressInfo).port), 'erin');
  t.same(from, ['127.0.0.7']);
});

// Hostile replies through a whole server: what prog gets in TCPREMOTEINFO (od
// of its bytes, or "unset"), ours and the reference's, byte for byte. The
// reference always asks port 113 of the client's address: the fake identd
// listens on 127.113.x.y:113 and the client connects from there.
const PROBE = 'if [ -n "${TCPREMOTEINFO+x}" ]; then printf %s "$TCPREMOTEINFO" | od -An -tx1 -v; echo end; else echo unset; fi';
const hostile: Array<[string, (req: string) => Buffer | null]> = [
  ['plain', (req) => Buffer.from(`${req} : USERID : UNIX : alice\r\n`, 'latin1')],
  ['blanks, tabs and CRs inside', (req) => Buffer.from(`${req} : USERID : UNIX : a l\ti\rce \r\r\n`, 'latin1')],
  ['high and control bytes', (req) => Buffer.from(`${req} : USERID : UNIX : \xff\xfe\x80\xe9\x01\x1b[0m\n`, 'latin1')],
  ['a NUL', (req) => Buffer.from(`${req} : USERID : UNIX : ab\0cd\r\n`, 'latin1')],
  ['ERROR', (req) => Buffer.from(`${req} : ERROR : NO-USER\r\n`, 'latin1')],
  ['wrong ports', () => Buffer.from('9 , 9 : USERID : UNIX : mallory\r\n', 'latin1')],
  ['colons in the user', (req) => Buffer.from(`${req}:USERID:UNIX:a:b::c\n`, 'latin1')],
  ['over-long', (req) => Buffer.from(`${req} : USERID : UNIX : ${'x'.repeat(300)}${'y'.repeat(300)}\r\n`, 'latin1')],
  ['over-long in pieces of blanks', (req) => Buffer.from(`${req} : USERID : UNIX : ${'x \t'.repeat(300)}\r\n`, 'latin1')],
  ['fewer than three colons', () => Buffer.from('garbage\r\n', 'latin1')],
  ['an empty line', () => Buffer.from('\n', 'latin1')],
  ['no newline, then close', (req) => Buffer.from(`${req} : USERID : UNIX : dave`, 'latin1')],
  ['silence', () => null],
];
t.test('TCPREMOTEINFO byte for byte as the reference tcpserver -r', needReference('tcpserver'), async (t) => {
  if (!isRoot) {
    t.comment('skipped: port 113 needs root');
    return;
  }
  if (launchers().find((l) => l.name === 'native')?.skip) {
    t.comment('skipped: the native launcher is needed to pass bytes that are not UTF-8');
    return;
  }
  // Each reply has its own fake identd and servers: several run side by
  // side, and the reference beside ours. The deadline is no part of what is
  // compared but for silence: -t 10 leaves an answer time to come on a loaded
  // machine (at -t 1, and once at -t 5 with the machine loaded ~35 deep,
  // ours gave up on an answer the reference got), and silence costs those
  // 10 s once, beside the other cases.
  t.jobs = 4;
  for (const [name, answer] of hostile) {
    t.test(name, async (t) => {
      const idd = await startFakeIdentd(answer, { port113: true });
      let seen: string[];
      try {
        seen = await Promise.all(([[REF, {}], [OURS, { UCSPI_LAUNCHER: 'native' }]] as const).map(async ([cmd, extra]) => {
          const srv = await startServer(cmd, ['-Hr', '-t', '10', '127.0.0.1', '0', 'sh', '-c', PROBE],
            { PATH: '/usr/bin:/bin', ...extra });
          try {
            return await talk(srv.port, { local: idd.host, ms: 30_000 });
          } finally {
            await srv.stop();
          }
        }));
      } finally {
        await idd.close();
      }
      t.equal(seen[1], seen[0], name);
      t.equal(idd.requests.length, 2, `${name}: both asked`);
    });
  }
});
