// The engine's PROXY header stage (--proxy) through its seams, with fakes: the
// header's addresses are what per-host, the rules, the environment and the
// log see; a failed header drops the connection; a client waiting for its
// header is counted as active. No socket, no child.
import t from 'tap';
import { Engine, type EngineConfig } from '../src/engine/engine';
import type { Decision } from '../src/decide/decision';
import type { ExitStatus, Launcher, LaunchSpec } from '../src/launch/launch';
import type { Accepted, Listener, OnClient } from '../src/listen/listen';
import type { EngineLog } from '../src/log/log';
import type { ProxyHeader } from '../src/listen/proxy';
import { PROXY_VARS } from '../src/listen/proxy';
import type { ProxyFailure, ProxyStage } from '../src/listen/proxywait';

function setup(stage: ProxyStage, extra: Partial<EngineConfig> = {}) {
  const calls: unknown[][] = [];
  let onClient: OnClient | undefined;
  const listener: Listener = {
    ip: '127.0.0.1', port: 2000,
    start: (_max, _nd, cb) => { onClient = cb; },
    done: () => calls.push(['done']),
    sendNow: (a, data) => { calls.push(['send', a.fd, data]); return null; },
    close: (a: Accepted) => calls.push(['close', a.fd]),
  };
  const specs: LaunchSpec[] = [];
  const exits: Array<(st: ExitStatus) => void> = [];
  const launcher: Launcher = {
    name: 'fake',
    envBase: (vars) => ({ vars }),
    launch(spec, started, exited) { specs.push(spec); exits.push(exited); started(null, 500 + specs.length - 1); },
  };
  const log: EngineLog = {
    connections: true,
    listening: () => {},
    status: (a, m) => calls.push(['status', a, m]),
    from: (pid, ip) => calls.push(['from', ip]),
    connection: (pid, c, verdict) => calls.push(['connection', pid, c.remoteIp, c.remotePort, c.localIp, c.localPort, verdict]),
    end: (st) => calls.push(['end', st.code]),
    cannotRun: () => {},
    drop: (what, err) => calls.push(['drop', what, typeof err === 'string' ? err : err.code]),
    rate: () => {},
    cannotReadRules: () => {},
    warn: () => {},
    sigterm: () => {},
  };
  const asked: string[] = [];
  const engine = new Engine({
    max: 2, prog: ['prog'], ucspiEnv: true, localPortText: '0', remoteHost: false, paranoid: false, noDelay: false,
    rules: { source: { decide: (peer) => { asked.push(peer.ip); return peer.ip === '192.0.2.9' ? deny : allow; } }, path: 'r', allowMissing: false },
    identify: null, launcher, log, env: { PATH: '/bin', PROXY_AUTHORITY: 'stale', KEEP: '1' },
    proxy: { stage, vars: PROXY_VARS }, perHost: { limit: 5 },
    ...extra,
  });
  engine.serve(listener);
  const client = (remoteIp: string, fd = 7) =>
    onClient!({ fd, v6: false, remoteIp, remotePort: 40000, localIp: '127.0.0.1', localPort: 2000 });
  return { engine, calls, specs, exits, asked, client };
}

const allow: Decision = { action: 'allow', set: [], unset: [] };
const deny: Decision = { action: 'deny', set: [], unset: [], matched: 'x' };

const header = (over: Partial<ProxyHeader> = {}): ProxyHeader => ({
  version: 2, proxied: true, v6: false, remoteIp: '192.0.2.1', remotePort: 5555, localIp: '198.51.100.2', localPort: 25,
  env: ['PROXY_AUTHORITY=mail.example'], ...over,
});

/** A stage that answers after a turn of the event loop, as a real wait does. */
function laterStage(answer: (ip: string) => [ProxyFailure | undefined, ProxyHeader?]): ProxyStage {
  return (c, done) => { setImmediate(() => done(...answer(c.remoteIp))); };
}

const tick = () => new Promise((r) => setImmediate(r));

t.test('the header\'s addresses reach the rules, the environment and the log', async (t) => {
  const f = setup(laterStage(() => [undefined, header()]));
  f.client('127.0.0.1');
  t.same(f.calls, [['status', 1, 2]], 'counted as active while its header is awaited, nothing decided yet');
  await tick();
  t.same(f.asked, ['192.0.2.1'], 'the rules see the header\'s source');
  const env = f.specs[0].env;
  t.ok(env.includes('TCPREMOTEIP=192.0.2.1') && env.includes('TCPREMOTEPORT=5555'));
  t.ok(env.includes('TCPLOCALIP=198.51.100.2') && env.includes('TCPLOCALPORT=25'), 'TCPLOCALPORT is the header\'s, not "0"');
  t.ok(env.includes('PROXY_AUTHORITY=mail.example'));
  t.ok(env.includes('TCPCONCURRENCY=1'), 'per-host counted for the header\'s client');
  const base = f.specs[0].base!.vars;
  t.notOk(base.some((kv) => kv.startsWith('PROXY_AUTHORITY=')), 'the server\'s own PROXY_AUTHORITY is not passed');
  t.ok(base.includes('KEEP=1'));
  t.same(f.calls.filter((c) => c[0] === 'connection'), [['connection', 500, '192.0.2.1', 5555, '198.51.100.2', 25, 'start']]);
});

t.test('a header that is not proxied (LOCAL, UNKNOWN) keeps the socket\'s addresses', async (t) => {
  const f = setup(laterStage(() => [undefined, header({ proxied: false, env: [] })]));
  f.client('127.0.0.1');
  await tick();
  t.same(f.asked, ['127.0.0.1']);
  t.ok(f.specs[0].env.includes('TCPLOCALPORT=0'), 'the port argument, as without --proxy');
  t.notOk(f.specs[0].env.some((kv) => kv.startsWith('PROXY_')));
});

t.test('an untrusted client goes on untouched; a denied header client is denied', async (t) => {
  const f = setup(laterStage((ip) => (ip === '10.0.0.1' ? [undefined] : [undefined, header({ remoteIp: '192.0.2.9' })])));
  f.client('10.0.0.1', 7);
  f.client('127.0.0.1', 8);
  await tick();
  t.same(f.asked, ['10.0.0.1', '192.0.2.9']);
  t.equal(f.specs.length, 1, 'only the untrusted one started');
  t.ok(f.calls.some((c) => c[0] === 'connection' && c[2] === '192.0.2.9' && c[6] === 'deny'));
});

t.test('a failed header drops the connection before identify and decide', async (t) => {
  const f = setup(laterStage(() => [{ what: 'proxy header: 127.0.0.1:40000', err: 'timed out' }]));
  f.client('127.0.0.1');
  await tick();
  t.same(f.asked, [], 'no rules asked');
  t.equal(f.specs.length, 0, 'no child');
  t.same(f.calls, [
    ['status', 1, 2], ['from', '127.0.0.1'], ['drop', 'proxy header: 127.0.0.1:40000', 'timed out'],
    ['close', 7], ['end', 111], ['status', 0, 2], ['done'],
  ]);
});

t.test('-E: no connection variables, so no PROXY_* either, and the server\'s own stay', async (t) => {
  const f = setup(laterStage(() => [undefined, header()]), { ucspiEnv: false });
  f.client('127.0.0.1');
  await tick();
  t.notOk(f.specs[0].env.some((kv) => kv.startsWith('PROXY_') || kv.startsWith('TCP')));
  t.ok(f.specs[0].base!.vars.includes('PROXY_AUTHORITY=stale'));
});

t.test('per-host and rate accounting key on the header\'s client, and a dropped header is never counted', async (t) => {
  // Two connections from the same proxy for two clients, then two for one client, under -C 1.
  const seq = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.3'];
  let i = 0;
  const f = setup(laterStage(() => [undefined, header({ remoteIp: seq[i++] })]), { perHost: { limit: 1 } });
  for (let fd = 7; fd < 11; fd++) f.client('127.0.0.1', fd);
  await tick();
  t.same(f.calls.filter((c) => c[0] === 'connection').map((c) => [c[2], c[6]]),
    [['192.0.2.1', 'start'], ['192.0.2.2', 'start'], ['192.0.2.3', 'start'], ['192.0.2.3', 'deny']],
    'the proxy\'s own address is not what is counted');
  const g = setup(laterStage((ip) => (ip === '127.0.0.2' ? [{ what: 'proxy header: 127.0.0.2:40000', err: 'timed out' }]
    : [undefined, header({ remoteIp: '127.0.0.2' })])), { perHost: { limit: 1 } });
  g.client('127.0.0.2', 7); // dropped in the stage: must not release a count it never took
  g.client('127.0.0.1', 8); // the header says 127.0.0.2: counted once, allowed
  await tick();
  g.client('127.0.0.1', 9); // the same client again: over -C 1
  await tick();
  t.same(g.calls.filter((c) => c[0] === 'connection').map((c) => [c[2], c[6]]),
    [['127.0.0.2', 'start'], ['127.0.0.2', 'deny']]);
});
