// The engine's pure parts, table-driven: environment, log cleaning, ports,
// -u specs, per-host counts.
import t from 'tap';
import { applyRules, envTemplate, pushConnEnv } from '../src/engine/environ';
import { outfix, outinst, safecats } from '../src/lib/safe';
import { findService } from '../src/listen/services';
import { parseUserSpec } from '../src/engine/users';
import { textAccounts } from '../src/users/text';
import { HostCounts } from '../src/admission/hosts';
import { unmap } from '../src/listen/netserver';

t.test('envTemplate drops stale connection variables only when it sets them', async (t) => {
  const env = { A: '1', TCPREMOTEHOST: 'x', TCP6REMOTEIP: 'y', TCPCONCURRENCY: '3' };
  t.same(envTemplate(env, true, false), ['A=1', 'TCPCONCURRENCY=3']);
  t.same(envTemplate(env, true, true), ['A=1']);
  t.same(envTemplate(env, false, false), ['A=1', 'TCPREMOTEHOST=x', 'TCP6REMOTEIP=y', 'TCPCONCURRENCY=3']);
});

t.test('pushConnEnv: IPv4 and IPv6 (ucspi-tcp6 names)', async (t) => {
  const v4: string[] = [];
  pushConnEnv(v4, { v6: false, localIp: '127.0.0.1', localPort: 1, remoteIp: '127.0.0.2', remotePort: 2 });
  t.same(v4, ['PROTO=TCP', 'TCPLOCALIP=127.0.0.1', 'TCPLOCALPORT=1', 'TCPREMOTEIP=127.0.0.2', 'TCPREMOTEPORT=2']);
  const v6: string[] = [];
  pushConnEnv(v6, { v6: true, localIp: '::1', localPort: 1, remoteIp: '::1', remotePort: 2, remoteHost: 'h', localHost: 'l', remoteInfo: 'u' });
  t.same(v6, ['PROTO=TCP6', 'TCPLOCALIP=::1', 'TCPLOCALPORT=1', 'TCPLOCALHOST=l', 'TCPREMOTEIP=::1', 'TCPREMOTEPORT=2',
    'TCPREMOTEHOST=h', 'TCPREMOTEINFO=u', 'TCP6LOCALIP=::1', 'TCP6LOCALPORT=1', 'TCP6LOCALHOST=l',
    'TCP6REMOTEIP=::1', 'TCP6REMOTEPORT=2', 'TCP6REMOTEHOST=h']);
});

t.test('applyRules: rule variables win, unset removes', async (t) => {
  const cases: Array<[string[], Array<[string, string]>, string[], string[]]> = [
    [['A=1'], [], [], ['A=1']],
    [['A=1', 'B=2'], [['A', 'x']], [], ['B=2', 'A=x']],
    [['A=1', 'B=2'], [], ['B'], ['A=1']],
    [['A=1'], [['C', 'a=b']], ['A'], ['C=a=b']],
  ];
  for (const [env, set, unset, want] of cases) t.same(applyRules(env, { action: 'allow', set, unset }), want);
});

t.test('log cleaning as outfix and safecats', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['a:b%c dé', 'a?b%c?d??', 'a?b?c?d??'],
    ['', '', ''],
    ['x'.repeat(101), 'x'.repeat(100) + '...(truncate)', 'x'.repeat(100) + '...'],
    // Exactly 100 bytes: the originals print the marker too.
    ['x'.repeat(100), 'x'.repeat(100) + '...(truncate)', 'x'.repeat(100) + '...'],
    ['x'.repeat(99), 'x'.repeat(99), 'x'.repeat(99)],
    ['a\0b', 'a', 'a'],
    ['127.0.0.1', '127.0.0.1', '127.0.0.1'],
    ['host.example%', 'host.example%', 'host.example?'],
    ['::1', '??1', '??1'],
    ['a\tb', 'a?b', 'a?b'],
    ['é'.repeat(60), '?'.repeat(100) + '...(truncate)', '?'.repeat(100) + '...'],
  ];
  for (const [in_, svd, srv] of cases) {
    t.equal(outfix(in_), svd);
    t.equal(safecats(in_), srv);
  }
});

t.test('outinst as ipsvd', async (t) => {
  const cases: Array<[string, string]> = [
    ['+A=1\0-B\0\0', '+A=1,-B'],
    ['x'.repeat(139), 'x'.repeat(139)],
    ['x'.repeat(140), 'x'.repeat(140) + '...(truncate)'],
    ['a\tb\u00e9', 'a?b??'],
  ];
  for (const [in_, want] of cases) t.equal(outinst(in_), want);
});

t.test('findService', async (t) => {
  const text = 'smtp\t\t25/tcp\t\tmail\n# c\nsyslog\t514/udp\nshell 514/tcp cmd # x\n';
  const cases: Array<[string, number | undefined]> = [['smtp', 25], ['mail', 25], ['cmd', 514], ['syslog', undefined], ['nope', undefined]];
  for (const [n, want] of cases) t.equal(findService(text, n), want, n);
});

t.test('parseUserSpec as ipsvd uidgids_get', async (t) => {
  const passwd = 'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n';
  const group = 'root:x:0:\nnogroup:x:65534:\nstaff:x:50:\n';
  const cases: Array<[string, unknown]> = [
    ['nobody', { uid: 65534, gids: [65534] }],
    ['nobody:staff', { uid: 65534, gids: [50] }],
    ['nobody:staff:root', { uid: 65534, gids: [50, 0] }],
    [':7:8:9', { uid: 7, gids: [8, 9] }],
    [':7', undefined],
    [':7:x', undefined],
    ['nosuch', undefined],
    ['nobody:nosuch', undefined],
  ];
  for (const [spec, want] of cases) t.same(parseUserSpec(spec, textAccounts(passwd, group)), want, spec);
});

t.test('HostCounts and unmap', async (t) => {
  const h = new HostCounts();
  t.equal(h.add('a'), 1);
  t.equal(h.add('a'), 2);
  h.remove('a');
  h.remove('a');
  h.remove('a');
  t.equal(h.size, 0, 'no entry left behind');
  t.equal(unmap('::ffff:127.0.0.1'), '127.0.0.1');
  t.equal(unmap('::ffff:7f00:1'), '::ffff:7f00:1');
  t.equal(unmap('::1'), '::1');
});

t.test('decimal: digits without the number-string cache', async (t) => {
  const { decimal } = await import('../src/decimal');
  for (const n of [0, 7, 10, 99, 100, 1234, 65535, 4194304, 2147483647, 4294967295]) t.equal(decimal(n), String(n), String(n));
  for (const n of [-1, 1.5, NaN, 2 ** 40]) t.equal(decimal(n), String(n), `${n}: as String() gives it`);
});
