// identLookup against the fake identd: the RFC 1413 request, good answers,
// error answers, wrong ports, silence (timeout), floods and no server.
import t from 'tap';
import * as net from 'node:net';
import { identLookup, parseIdent } from '../src/identify/ident';
import { startFakeIdentd } from './helpers/fakeidentd';

t.test('parseIdent', async (t) => {
  const rows: Array<[string, string | undefined]> = [
    ['12345 , 80 : USERID : UNIX : alice', 'alice'],
    ['12345,80:USERID:UNIX:alice', 'alice'],
    ['12345 , 80 : USERID : UNIX , UTF-8 : bob', 'bob'],
    ['12345 , 80 : USERID : OTHER :a:b:c', 'a:b:c'],
    ['12345 , 80 : USERID : UNIX : carol  \r', 'carol'],
    ['12345 , 80 : ERROR : NO-USER', undefined],
    ['12345 , 80 : ERROR : HIDDEN-USER', undefined],
    ['12345 , 81 : USERID : UNIX : alice', undefined],  // not our connection
    ['54321 , 80 : USERID : UNIX : alice', undefined],
    ['12345 , 80 : USERID : UNIX : ', undefined],
    ['12345 , 80 : USERID : UNIX', undefined],
    ['garbage', undefined],
    ['', undefined],
  ];
  for (const [i, o] of rows) t.equal(parseIdent(i, 12345, 80), o, JSON.stringify(i));
});

const local = { ip: '127.0.0.1', port: 80 };
const remote = { ip: '127.0.0.1', port: 12345 };

t.test('asks "remoteport , localport" and reads the user', async (t) => {
  const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : alice`);
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, remote, 2000, idd.port), 'alice');
  t.same(idd.requests, ['12345 , 80']);
});

t.test('ERROR and mismatched answers are unknown', async (t) => {
  const idd = await startFakeIdentd((req) => (req.startsWith('1 ') ? `${req} : ERROR : NO-USER` : '9 , 9 : USERID : UNIX : mallory'));
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, { ip: '127.0.0.1', port: 1 }, 2000, idd.port), undefined, 'ERROR');
  t.equal(await identLookup(local, remote, 2000, idd.port), undefined, 'other ports');
  t.equal(idd.requests.length, 2, 'both asked');
});

t.test('silence ends at the deadline', async (t) => {
  const idd = await startFakeIdentd(() => null);
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, remote, 300, idd.port), undefined);
  t.equal(idd.requests.length, 1, 'the question was asked');
});

t.test('an endless answer is cut off', async (t) => {
  const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : ${'x'.repeat(100000)}`);
  t.teardown(() => idd.close());
  t.equal(await identLookup(local, remote, 5000, idd.port), undefined);
});

t.test('an answer without newline, then close, still counts', async (t) => {
  const srv = net.createServer((s) => s.on('data', () => s.end('12345 , 80 : USERID : UNIX : dave')));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  t.equal(await identLookup(local, remote, 2000, (srv.address() as net.AddressInfo).port), 'dave');
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
