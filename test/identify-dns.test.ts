// createDns against the fake DNS server: honest answers, and hostile ones
// (bad names, many answers, wrong type, SERVFAIL, junk, silence) that must
// all come back as "unknown", never as a throw or an unsafe name.
import t from 'tap';
import { createDns, validName, parseServers } from '../src/identify/dns';
import { startFakeDns, type Zone } from './helpers/fakedns';

t.test('validName', async (t) => {
  const rows: Array<[string, string | undefined]> = [
    ['Client.Example.ORG', 'client.example.org'],
    ['host.example.', 'host.example'],
    ['localhost', 'localhost'],
    ['a-b_c.example', 'a-b_c.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['', undefined],
    ['.', undefined],
    ['a..b', undefined],
    ['.a.b', undefined],
    ['a/b.example', undefined],
    ['..', undefined],
    ['a\0b.example', undefined],
    ['a b.example', undefined],
    ['a\nb.example', undefined],
    ['a\\.b.example', undefined],
    ['ü.example', undefined],
    ['127.0.0.1', undefined],   // poses as an address file
    ['0', undefined],           // poses as the catch-all
    ['host.123', undefined],
    ['host.a123', 'host.a123'],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`],
    [`${'a'.repeat(64)}.example`, undefined],
    [Array(4).fill('a'.repeat(63)).join('.'), undefined],   // 255 > 253
    [Array(4).fill('a'.repeat(62)).join('.'), Array(4).fill('a'.repeat(62)).join('.')],
  ];
  for (const [i, o] of rows) t.equal(validName(i), o, JSON.stringify(i).slice(0, 40));
});

t.test('parseServers', async (t) => {
  const rows: Array<[string, string[]]> = [
    ['', []],
    ['127.0.0.1', ['127.0.0.1']],
    ['127.0.0.1:5353', ['127.0.0.1:5353']],
    ['[::1]:53', ['[::1]:53']],
    ['::1', ['::1']],
    ['10.0.0.1 10.0.0.2,10.0.0.3', ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ['127.0.0.1:0', []],
    ['127.0.0.1:70000', []],
    ['nonsense', []],
  ];
  for (const [i, o] of rows) t.same(parseServers(i), o, JSON.stringify(i));
});

const zone: Zone = {
  '127.0.0.2': { ptr: 'Client.Example.ORG' },
  'client.example.org': { a: ['127.0.0.2', '192.0.2.2'], aaaa: ['2001:db8::2'] },
  '::1': { ptr: 'six.example' },
  '127.0.0.3': { ptrLabels: ['evil/..', 'example'] },
  '127.0.0.4': { ptrLabels: ['a.b', 'example'] },
  '127.0.0.5': { ptrLabels: ['a\0b', 'example'] },
  '127.0.0.6': { ptrLabels: ['x\x1b[2J', 'example'] },
  '127.0.0.7': { ptrLabels: Array(5).fill('a'.repeat(63)) },
  '127.0.0.8': { ptr: '127.0.0.1' },
  '127.0.0.9': { ptr: ['bad/name.example', 'good.example'] },
  '127.0.0.10': { ptr: Array.from({ length: 40 }, (_, i) => `n${i}.example`) },
  '127.0.0.11': { mode: 'servfail' },
  '127.0.0.12': { mode: 'nxdomain' },
  '127.0.0.13': { mode: 'garbage' },
  '127.0.0.14': { mode: 'wrongtype' },
  '127.0.0.15': { mode: 'timeout' },
  'slow.example': { mode: 'timeout' },
  'fail.example': { mode: 'servfail' },
  'odd.example': { mode: 'wrongtype' },
};

t.test('ptr and addrs', async (t) => {
  const fake = await startFakeDns(zone);
  t.teardown(() => fake.close());
  const dns = createDns({ server: fake.addr, timeoutMs: 300, tries: 1 });
  t.equal(await dns.ptr('127.0.0.2'), 'client.example.org', 'lower-cased PTR');
  t.equal(await dns.ptr('::1'), 'six.example', 'IPv6 PTR');
  t.equal(await dns.ptr('127.0.0.10'), 'n0.example', 'many answers: the first');
  t.same((await dns.addrs('client.example.org')).sort(), ['127.0.0.2', '192.0.2.2', '2001:db8::2'].sort());
  t.same(await dns.addrs('Client.Example.Org.'), (await dns.addrs('client.example.org')), 'case and final dot');
  t.same(await dns.addrs('nowhere.example'), [], 'NXDOMAIN: no addresses');
  t.same(await dns.addrs('fail.example'), [], 'SERVFAIL: no addresses');
  t.same(await dns.addrs('odd.example'), [], 'wrong type: no addresses');
  t.same(await dns.addrs('slow.example'), [], 'timeout: no addresses');
  t.same(await dns.addrs('bad/name'), [], 'unsafe name: not even asked');
  t.notOk(fake.queries.some((q) => q.name.includes('/')), 'no question about an unsafe name');
  t.ok(fake.queries.some((q) => q.name === '2.0.0.127.in-addr.arpa' && q.type === 'PTR'), 'PTR asked under in-addr.arpa');
});

t.test('hostile PTR answers are unknown, never thrown', async (t) => {
  const fake = await startFakeDns(zone);
  t.teardown(() => fake.close());
  const dns = createDns({ server: fake.addr, timeoutMs: 300, tries: 1 });
  const rows: Array<[string, string]> = [
    ['127.0.0.3', 'slash and dots in a label'],
    ['127.0.0.4', 'a dot inside a label'],
    ['127.0.0.5', 'NUL inside a label'],
    ['127.0.0.6', 'terminal escape'],
    ['127.0.0.7', 'over 253 characters'],
    ['127.0.0.8', 'an address as a name'],
    ['127.0.0.9', 'first answer unsafe'],
    ['127.0.0.11', 'SERVFAIL'],
    ['127.0.0.12', 'NXDOMAIN'],
    ['127.0.0.13', 'garbage packet'],
    ['127.0.0.14', 'wrong record type'],
    ['127.0.0.15', 'no answer at all'],
    ['127.0.0.99', 'not in the zone'],
    ['not-an-ip', 'not an address'],
  ];
  for (const [ip, what] of rows) t.equal(await dns.ptr(ip), undefined, what);
  t.equal(await dns.ptr('127.0.0.2'), 'client.example.org', 'still answers honest questions afterwards');
});

t.test('server from $DNSCACHEIP (ip:port)', async (t) => {
  const fake = await startFakeDns(zone);
  t.teardown(() => fake.close());
  const saved = process.env.DNSCACHEIP;
  process.env.DNSCACHEIP = fake.addr;
  t.teardown(() => {
    if (saved === undefined) delete process.env.DNSCACHEIP;
    else process.env.DNSCACHEIP = saved;
  });
  const dns = createDns({ timeoutMs: 300, tries: 1 });
  t.equal(await dns.ptr('127.0.0.2'), 'client.example.org');
  t.equal(fake.queries.length, 1, 'asked the fake server');
});
