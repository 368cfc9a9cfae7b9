// rblsmtpd's -r and -a, ours beside ucspi-tcp's (Debian's), byte for byte,
// against fake name servers on 127.53.x.y:53 (djb's resolver asks port 53
// only, hence root): listings, texts, rcodes, a server that is not there.
// Each run has a server of its own, so that ours and the reference can run
// at once (a failing server costs djb's resolver its 11-second round) and
// each is asked the same questions.
import t from 'tap';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { isRoot, needReference, ours, reference } from './helpers/common';
import { startFakeDns, type Zone } from './helpers/fakedns';
import { DIALOGUE, run, type Out } from './helpers/rblsmtpd';

const zone = (): Zone => ({
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
  });

const skip = isRoot ? needReference('rblsmtpd').skip : 'needs root: the reference resolver asks port 53 only';

/** file with args under env, its own name server: what it did and the questions it asked. */
async function asking(file: string, args: string[], env: Record<string, string>): Promise<[Out, string[]]> {
  const dns = await startFakeDns(zone(), { port53: true });
  try {
    const out = await run(file, [...args, 'echo', 'ran'], { DNSCACHEIP: dns.addr, ...env }, DIALOGUE);
    return [out, [...new Set(dns.queries.map((q) => `${q.type} ${q.name.toLowerCase()}`))]];
  } finally {
    await dns.close();
  }
}

/** Runs each job, at most n at once. */
async function limited<T>(n: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

t.test('-r and -a against a name server', { skip }, async (t) => {
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
    ['an IPv6 address is reversed at its dots too', ['-c', '-r', 'rbl.test'], '::ffff:127.0.0.2'],
    ['an IPv6 address without dots', ['-c', '-r', 'rbl.test', '-a', 'white.test'], '2001:db8::1'],
    ['spaces and a slash in $TCPREMOTEIP', ['-c', '-r', 'rbl.test'], 'a b/c.d'],
    ['no $TCPREMOTEIP: the zone itself', ['-r', 'rbl.test'], undefined, /rblsmtpd:  pid X: 451 the zone itself\n$/],
    ['a label over 63 bytes fails', ['-c', '-r', 'l'.repeat(64) + '.test'], '127.0.0.2', /: 451 temporary RBL lookup error\n$/],
  ];

  const results = await limited(3, cases.map(([, args, ip]) => async () => {
    const env: Record<string, string> = ip === undefined ? {} : { TCPREMOTEIP: ip };
    return Promise.all([asking(reference('rblsmtpd'), args, env), asking(ours('rblsmtpd'), args, env)]);
  }));
  cases.forEach(([what, , , stderr], i) => {
    const [[want, asked], [got, ourAsked]] = results[i];
    t.same(got, want, what);
    if (stderr) t.match(got.stderr, stderr, `${what}: the log line`);
    t.same(ourAsked, asked, `${what}: the same questions`);
  });
});

t.test('no name server at all', { skip }, async (t) => {
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

t.test('ours takes a name server with a port in $DNSCACHEIP', async (t) => {
  const dns = await startFakeDns(zone());
  try {
    const out = await run(ours('rblsmtpd'), ['-r', 'rbl.test', 'echo', 'ran'], { DNSCACHEIP: dns.addr, TCPREMOTEIP: '127.0.0.2' }, 'quit\r\n');
    t.same([out.status, out.stdout], [0, '220 rblsmtpd.local\r\n221 rblsmtpd.local\r\n']);
    t.match(out.stderr, /^rblsmtpd: 127\.0\.0\.2 pid X: 451 Blackholed/);
  } finally {
    await dns.close();
  }
});

t.test('a truncated answer is asked again over TCP', { skip }, async (t) => {
  // A server on 127.53.x.y:53, UDP and TCP: over UDP only the TC bit, over TCP a TXT of 600 bytes.
  const text = 'long '.repeat(120);
  const answer = (msg: Buffer, tc: boolean): Buffer => {
    const q = dnsPacket.decode(msg);
    const qq = q.questions![0];
    return dnsPacket.encode({
      type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (tc ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: [qq], answers: tc ? [] : [{ type: 'TXT', name: qq.name, ttl: 5, class: 'IN', data: [text.slice(0, 255), text.slice(255, 510), text.slice(510)] }],
    } as dnsPacket.Packet);
  };
  const host = `127.53.${1 + Math.floor(Math.random() * 254)}.${1 + Math.floor(Math.random() * 254)}`;
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => { try { udp.send(answer(m, true), r.port, r.address); } catch { /* not a question */ } });
  await new Promise<void>((ok) => udp.bind(53, host, ok));
  const tcp = net.createServer((s) => {
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        const a = answer(got.subarray(2, 2 + got.readUInt16BE(0)), false);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(a.length);
        s.end(Buffer.concat([len, a]));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((ok) => tcp.listen(53, host, ok));
  try {
    const env = { DNSCACHEIP: host, TCPREMOTEIP: '127.0.0.2' };
    const [want, got] = await Promise.all([run(reference('rblsmtpd'), ['-c', '-r', 'rbl.test', 'echo', 'ran'], env, DIALOGUE),
      run(ours('rblsmtpd'), ['-c', '-r', 'rbl.test', 'echo', 'ran'], env, DIALOGUE)]);
    t.same(got, want);
    t.match(got.stderr, /: 451 long long /);
  } finally {
    udp.close();
    tcp.close();
  }
});
