// createDns against the fake DNS server: honest answers, and hostile ones
// (bad names, many answers, wrong type, SERVFAIL, junk) that come back as
// djb's dns library writes names (never an unsafe one) or as "no name";
// only silence is an error (DnsError), as the originals tell them apart.
import t from 'tap';
import { DnsError, createDns, hostName, validName, parseServers } from '../src/identify/dns';
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

t.test('hostName: c-ares text to djbdns text', async (t) => {
  const rows: Array<[string, string | undefined]> = [
    ['Client.Example.ORG', 'client.example.org'],
    ['host.example.', 'host.example'],
    ['a-b_c.example', 'a-b_c.example'],
    ['', undefined],
    ['.', undefined],
    ['evil/\\.\\..Example', 'evil\\057\\056\\056.example'],
    ['a b.c\\\\d.x\\"y.semi\\;colon.UP', 'a\\040b.c\\134d.x\\042y.semi\\073colon.up'],
    ['ctl\\001\\127\\255.ex', 'ctl\\001\\177\\377.ex'],
    ['has\\.dot.ex', 'has\\056dot.ex'],
    ['\u00fc.example', '\\374.example'],
    ['127.0.0.1', '127.0.0.1'],   // kept for the environment; peers lookups skip it (candidates)
    [Array(4).fill('a'.repeat(63)).join('.').slice(0, 253), Array(4).fill('a'.repeat(63)).join('.').slice(0, 253)],
    [Array(5).fill('a'.repeat(63)).join('.'), undefined],   // over 255: no file name
  ];
  for (const [i, o] of rows) t.equal(hostName(i), o, JSON.stringify(i).slice(0, 40));
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

t.test('hostile PTR answers: escaped as djbdns does, or no name; silence throws', async (t) => {
  const fake = await startFakeDns(zone);
  t.teardown(() => fake.close());
  const dns = createDns({ server: fake.addr, timeoutMs: 300, tries: 1 });
  const rows: Array<[string, string | undefined, string]> = [
    ['127.0.0.3', 'evil\\057\\056\\056.example', 'slash and dots in a label'],
    ['127.0.0.4', 'a\\056b.example', 'a dot inside a label'],
    ['127.0.0.5', 'a\\000b.example', 'NUL inside a label'],
    ['127.0.0.6', 'x\\033\\1332j.example', 'terminal escape'],
    ['127.0.0.7', undefined, 'over 255 characters'],
    ['127.0.0.8', '127.0.0.1', 'an address as a name (candidates skip it)'],
    ['127.0.0.9', 'bad\\057name.example', 'first answer, escaped'],
    ['127.0.0.11', undefined, 'SERVFAIL'],
    ['127.0.0.12', undefined, 'NXDOMAIN'],
    ['127.0.0.14', undefined, 'wrong record type'],
    ['127.0.0.99', undefined, 'not in the zone'],
    ['not-an-ip', undefined, 'not an address'],
  ];
  for (const [ip, want, what] of rows) t.equal(await dns.ptr(ip), want, what);
  for (const ip of ['127.0.0.15', '127.0.0.13']) {
    const got = await dns.ptr(ip).then((v) => v, (e) => e);
    t.ok(got instanceof DnsError && got.code === 'ETIMEDOUT', `${ip}: no answer (or only junk) is an error`);
  }
  t.equal(await dns.ptr('127.0.0.2'), 'client.example.org', 'still answers honest questions afterwards');
});
