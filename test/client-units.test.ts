// tcpclient's pieces without a network: the order of tries and their
// timeouts (-T x+y), pathexec's environment order, ip4_scan, the options,
// and the CR converters fed a byte at a time.
import t from 'tap';
import { connectAny, Fatal, type Connected, type Target } from '../src/client/connect';
import { pathexecEnv } from '../src/client/environ';
import { ip4Scan, parse } from '../src/client/tcpclient';
import { addcr, delcr, fixcr } from '../src/lines/crlf';
import { recordLines } from '../src/lines/record';

const target = (addrs: string[], first: number, second: number): Target =>
  ({ addrs, port: 25, localIp: '0.0.0.0', localPort: 0, first, second, noDelay: false });
const err = (code: string) => Object.assign(new Error(code), { code });

async function tries(t: Target, answers: Record<string, string[]>) {
  const log: string[] = [];
  const warned: string[] = [];
  const got = await connectAny(t, async (ip, secs) => {
    log.push(`${ip}/${secs}`);
    const a = answers[ip].shift()!;
    if (a === 'ok') return { fd: 9, localIp: '', localPort: 0, remoteIp: ip, remotePort: 25 } as Connected;
    throw err(a);
  }, (ip, _p, e) => warned.push(`${ip}: ${(e as NodeJS.ErrnoException).code}`));
  return { log, warned, got: got?.remoteIp };
}

t.test('-T x+y: a first pass of x each, then the timed-out ones y each; one address gets x+y once', async (t) => {
  t.same(await tries(target(['a', 'b', 'c'], 2, 58), { a: ['ETIMEDOUT', 'ETIMEDOUT'], b: ['ECONNREFUSED'], c: ['ETIMEDOUT', 'ok'] }), {
    log: ['a/2', 'b/2', 'c/2', 'a/58', 'c/58'], warned: ['b: ECONNREFUSED', 'a: ETIMEDOUT'], got: 'c',
  });
  t.same(await tries(target(['a'], 2, 58), { a: ['ETIMEDOUT'] }), { log: ['a/60'], warned: ['a: ETIMEDOUT'], got: undefined });
  t.same(await tries(target(['a', 'b'], 5, 0), { a: ['ETIMEDOUT'], b: ['ETIMEDOUT'] }),
    { log: ['a/5', 'b/5'], warned: ['a: ETIMEDOUT', 'b: ETIMEDOUT'], got: undefined }, '-T x: no second pass');
  const tried: string[] = [];
  const fatal = await connectAny(target(['a', 'b'], 1, 1), async (ip) => {
    tried.push(ip);
    throw new Fatal('bind', err('EADDRINUSE'));
  }, () => {}).catch((e: unknown) => e);
  t.ok(fatal instanceof Fatal && fatal.step === 'bind', 'a bind failure ends it');
  t.same(tried, ['a'], 'no other address tried');
});

t.test('pathexec: a replaced variable takes the last one\'s place, new values come last', async (t) => {
  t.same(pathexecEnv(['A=1', 'TCPLOCALIP=x', 'B=2', 'TCPREMOTEHOST=old', 'C=3'], [
    ['PROTO', 'TCP'], ['TCPLOCALPORT', '1'], ['TCPLOCALIP', '127.0.0.1'], ['TCPLOCALHOST', '0'],
    ['TCPREMOTEPORT', '2'], ['TCPREMOTEIP', '127.0.0.1'], ['TCPREMOTEHOST', undefined], ['TCPREMOTEINFO', undefined],
  ]), ['A=1', 'TCPLOCALPORT=1', 'B=2', 'TCPREMOTEIP=127.0.0.1', 'C=3', 'PROTO=TCP', 'TCPLOCALIP=127.0.0.1',
    'TCPLOCALHOST=0', 'TCPREMOTEPORT=2'], 'Debian\'s tcpclient gave this order');
  t.same(pathexecEnv(['X=1'], [['X', '']]), ['X='], 'empty is set');
  t.same(pathexecEnv(['XY=1', 'X=2'], [['X', undefined]]), ['XY=1'], 'only the name itself');
});

t.test('ip4_scan and the options', async (t) => {
  t.equal(ip4Scan('127.0.0.1'), '127.0.0.1');
  t.equal(ip4Scan('300.1.2.3junk'), '44.1.2.3', 'each number mod 256, what follows ignored');
  t.equal(ip4Scan('1.2.3'), undefined);
  t.equal(ip4Scan('x'), undefined);
  t.same(parse(['-T', '7']).o.connTimeout, [7, 0], '-T x: no y');
  t.same(parse(['-T7+']).o.connTimeout, [7, 0]);
  t.same(parse(['-T+9']).o.connTimeout, [0, 9]);
  t.same(parse([]).o.connTimeout, [2, 58]);
  t.equal(parse(['-p', '65537']).o.localPort, 1);
  t.equal(parse(['-qv']).o.verbosity, 2);
  t.same(parse(['-H', '0', '25', 'prog', '-x']).rest, ['0', '25', 'prog', '-x'], 'the program\'s options untouched');
});

t.test('the converters do not depend on where reads split the input', async (t) => {
  const input = Buffer.from('a\r\nb\n\r\r\nc\r\rd\n\r', 'latin1');
  for (const [name, make] of [['addcr', addcr], ['delcr', delcr], ['fixcr', fixcr]] as const) {
    const whole = make();
    const all = Buffer.concat([whole.put(input), whole.end()]);
    const bytewise = make();
    const parts: Buffer[] = [];
    for (const b of input) parts.push(bytewise.put(Buffer.from([b])));
    parts.push(bytewise.end());
    t.same(Buffer.concat(parts), all, name);
  }
  t.equal(Buffer.concat([delcr().put(Buffer.from('x\r\r\ny\r')), Buffer.from('')]).toString('latin1'), 'x\r\ny');
});

t.test('recordio\'s lines', async (t) => {
  t.same(recordLines(12, '<', Buffer.from('a\nb')).map(String), ['12 < a \n', '12 < b+\n']);
  t.same(recordLines(12, '>', Buffer.from('a\n')).map(String), ['12 > a \n']);
  t.same(recordLines(12, '>', Buffer.from('\n\n')).map(String), ['12 >  \n', '12 >  \n']);
});
