// tcpserver against the reference /usr/bin/tcpserver (ucspi-tcp 0.88): same
// flags and clients, same environment and log lines; DNS and ident against fakes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as path from 'node:path';
import { BIN, launchers, parseEnv, reachability, startServer, talk, stopAndRead } from './helpers/net';
import { namesZone, startFakeDns } from './helpers/fakedns';
import { startFakeIdentd } from './helpers/fakeidentd';
import { asRoot, findReference, needReference, reference, scratch } from './helpers/common';

const OURS = path.join(BIN, 'tcpserver');
const REF = findReference('tcpserver') ?? 'tcpserver';
const tmp = scratch('tcpserver-test')('t'); // removed when the file's tests end
const baseEnv = {
  PATH: '/usr/bin:/bin', FOO: 'bar', TCPREMOTEHOST: 'stale', TCPREMOTEINFO: 'stale', TCPLOCALHOST: 'stale',
  // bin/.start keeps it from Node and must hand it back to prog unchanged.
  NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem',
};

function rulesCdb(text: string): string {
  const d = mkdtempSync(path.join(tmp, 'rules-'));
  const cdb = path.join(d, 'rules.cdb');
  const r = spawnSync(reference('tcprules'), [cdb, cdb + '.tmp'], { input: text, timeout: 10000 });
  if (r.status !== 0) throw new Error('tcprules failed');
  return cdb;
}

function clean(e: Record<string, string>, port: number) {
  for (const k of Object.keys(e)) if (k === 'UCSPI_LAUNCHER' || k.startsWith('_TAPJS')) delete e[k];
  if (e.TCPLOCALPORT === String(port)) e.TCPLOCALPORT = 'listening port';
  if (e.TCPREMOTEPORT && /^\d+$/.test(e.TCPREMOTEPORT)) e.TCPREMOTEPORT = 'n';
  return e;
}

async function envSeen(cmd: string, args: string[], local: string, extra: NodeJS.ProcessEnv = {}) {
  const srv = await startServer(cmd, [...args, '127.0.0.1', '0', '/usr/bin/env'], { ...baseEnv, ...extra });
  try {
    return clean(parseEnv(await talk(srv.port, { local })), srv.port);
  } finally {
    await srv.stop();
  }
}

// The tests are independent (port 0, their own directories and fake DNS):
// both launchers' at once, and three at a time within each.
t.jobs = 2;

for (const l of launchers()) {
  t.test(`launcher ${l.name}`, { skip: l.skip }, async (t) => {
    t.jobs = 3;
    const L = { UCSPI_LAUNCHER: l.name };
    for (const flags of [['-HR'], ['-HR', '-l', 'local.name'], ['-HR', '-l', ''], ['-vHRD']]) {
      t.test(`environment with ${flags.join(' ')} equals the reference`, needReference('tcpserver'), async (t) => {
        const ref = await envSeen(REF, flags, '127.0.0.9');
        const ours = await envSeen(OURS, flags, '127.0.0.9', L);
        t.same(ours, ref);
        t.equal(ours.TCPREMOTEIP, '127.0.0.9');
      });
    }

    t.test('host 0 listens on IPv4 only, as the reference; -6 or :: on both (dual stack)', needReference('tcpserver'), async (t) => {
      // Which /proc table holds the listener, and which loopback reaches it.
      const seen = (cmd: string, args: string[], env: NodeJS.ProcessEnv) =>
        reachability(cmd, ['-HR', '-l', 'me', ...args, '0', 'echo', 'hi'], env);
      for (const host of ['0', '', '0.0.0.0']) {
        const ours = await seen(OURS, [host], { ...baseEnv, ...L });
        t.same(ours, { tables: ['tcp'], v4: 'hi\n', v6: 'ECONNREFUSED' }, `host '${host}': /proc/net/tcp only`);
        t.same(ours, await seen(REF, [host], baseEnv), `host '${host}': as the reference`);
      }
      t.same(await seen(OURS, ['-4', '0'], { ...baseEnv, ...L }), { tables: ['tcp'], v4: 'hi\n', v6: 'ECONNREFUSED' }, '-4 0');
      for (const args of [['-6', '0'], ['::']]) {
        t.same(await seen(OURS, args, { ...baseEnv, ...L }), { tables: ['tcp6'], v4: 'hi\n', v6: 'hi\n' },
          `${args.join(' ')}: one socket for IPv6 and IPv4`);
      }
    });

    t.test('rules cdb: deny, variables, longest prefix, as the reference', needReference('tcpserver', 'tcprules'), async (t) => {
      const cdb = rulesCdb('127.0.0.2:deny\n127.0.0.3:allow,GREETING="hello wörld",TCPREMOTEHOST="sét",FOO="rulé"\n127.0.4.:allow,NET="café"\n:allow,DEFAULT="1é"\n');
      for (const local of ['127.0.0.2', '127.0.0.3', '127.0.4.1', '127.0.0.5']) {
        t.same(await envSeen(OURS, ['-HR', '-x', cdb], local, L), await envSeen(REF, ['-HR', '-x', cdb], local), local);
      }
      t.same(await envSeen(OURS, ['-HR', '-x', cdb], '127.0.0.2', L), {}, 'denied');
      const three = await envSeen(OURS, ['-HR', '-x', cdb], '127.0.0.3', L);
      // Every value holds a non-ASCII byte (UTF-8 text): it reaches prog byte for byte.
      t.equal(three.GREETING, 'hello wörld');
      t.equal(three.FOO, 'rulé', "a rule overrides the server's own variable");
      t.equal((await envSeen(OURS, ['-HR', '-x', cdb], '127.0.4.1', L)).NET, 'café');
      t.equal((await envSeen(OURS, ['-HR', '-x', cdb], '127.0.0.5', L)).FOO, 'bar', 'others keep it');
    });

    t.test('missing rules: dropped, or allowed with -X, as the reference', needReference('tcpserver'), async (t) => {
      const missing = path.join(tmp, 'no-such.cdb');
      for (const flags of [['-HR', '-x', missing], ['-HRX', '-x', missing]]) {
        t.same(await envSeen(OURS, flags, '127.0.0.1', L), await envSeen(REF, flags, '127.0.0.1'), flags.join(' '));
      }
      t.same(await envSeen(OURS, ['-HR', '-x', missing], '127.0.0.1', L), {});
    });

    t.test('log lines match the reference (pids and ports masked)', needReference('tcpserver', 'tcprules'), async (t) => {
      const cdb = rulesCdb('127.0.0.2:deny\n');
      const run = async (cmd: string) => {
        const srv = await startServer(cmd, ['-vHR', '-l', 'me', '-x', cdb, '127.0.0.1', '0', 'sh', '-c', 'exit 3'],
          { ...baseEnv, ...(cmd === OURS ? L : {}) });
        await talk(srv.port, { local: '127.0.0.3' });
        await srv.waitLog(/end \d+ status 768\n.*status: 0\/40\n/);
        await talk(srv.port, { local: '127.0.0.2' });
        await srv.waitLog(/end \d+ status 25600\n.*status: 0\/40\n/);
        await stopAndRead(srv);
        return srv.stderr().replace(new RegExp(`:${srv.port} `, 'g'), ':PORT ')
          .replace(/\b(pid|ok|deny|end) \d+/g, '$1 N').replace(/::\d+$/gm, '::RPORT');
      };
      t.equal(await run(OURS), await run(REF));
    });

    t.test('a damaged rules cdb: the connection dropped, the file named once, as the reference', needReference('tcpserver', 'tcprules'), async (t) => {
      const { readFileSync, writeFileSync } = await import('node:fs');
      const cdb = rulesCdb('127.0.0.1:allow,A="1"\n:deny\n');
      writeFileSync(cdb, readFileSync(cdb).subarray(0, 2049)); // cut short after its header
      const run = async (cmd: string) => {
        const srv = await startServer(cmd, ['-vHR', '-l', 'me', '-x', cdb, '127.0.0.1', '0', 'echo', 'prog'],
          { ...baseEnv, ...(cmd === OURS ? L : {}) });
        t.equal(await talk(srv.port), '', 'closed without running prog');
        await srv.waitLog(/end \d+ status \d+\n.*status: 0\/40\n/);
        await stopAndRead(srv);
        return srv.stderr().replace(new RegExp(`:${srv.port} `, 'g'), ':PORT ')
          .replace(/\b(pid|ok|deny|end) \d+/g, '$1 N').replace(/::\d+$/gm, '::RPORT');
      };
      const ours = await run(OURS);
      t.equal(ours, await run(REF));
      t.match(ours, `tcpserver: warning: dropping connection, unable to read ${cdb}: protocol error\n`);
    });

    t.test('-1 prints the port; -B banner comes first', async (t) => {
      const srv = await startServer(OURS, ['-1', '-HR', '-B', 'hello\r\n', '127.0.0.1', '0', 'echo', 'prog'], { ...baseEnv, ...L });
      t.equal(await talk(srv.port), 'hello\r\nprog\n');
      await stopAndRead(srv);
      t.equal(srv.stdout(), `${srv.port}\n`);
    });

    t.test('-D sets TCP_NODELAY on the socket prog gets, -d does not', async (t) => {
      const py = spawnSync('python3', ['-c', 'print(1)'], { timeout: 10000 });
      if (py.status !== 0) {
        t.comment('skipped: python3 is needed to read TCP_NODELAY');
        return;
      }
      const probe = 'import socket;s=socket.socket(fileno=0);print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)';
      for (const [flag, want] of [['-D', 'True\n'], ['-d', 'False\n']]) {
        const srv = await startServer(OURS, ['-HR', flag, '127.0.0.1', '0', 'python3', '-c', probe], { ...process.env, ...L });
        t.equal(await talk(srv.port), want, flag);
        await srv.stop();
      }
    });

    t.test('-r: TCPREMOTEINFO from the fake identd, unset when it does not answer', async (t) => {
      const idd = await startFakeIdentd((req) => `${req} : USERID : UNIX : alice`);
      const got = await envSeen(OURS, ['-Hr', '-t', '2'], '127.0.0.1', { ...L, UCSPI_IDENT_PORT: String(idd.port) });
      await idd.close();
      t.equal(got.TCPREMOTEINFO, 'alice');
      t.equal(idd.requests.length, 1);
      const silent = await startFakeIdentd(() => null);
      const none = await envSeen(OURS, ['-Hr', '-t', '1'], '127.0.0.1', { ...L, UCSPI_IDENT_PORT: String(silent.port) });
      await silent.close();
      t.notOk('TCPREMOTEINFO' in none);
    });

    t.test('DNS: local name unless -l, -h/-p names (hostile ones escaped), as the reference', needReference('tcpserver', 'tcprules'), async (t) => {
      const dns = await startFakeDns(namesZone(), { port53: true });
      t.teardown(() => dns.close());
      const E = { DNSCACHEIP: dns.addr };
      const cases: Array<[string[], string]> = [
        [['-HR'], '127.0.0.9'], [['-R'], '127.0.0.21'], [['-pR'], '127.0.0.21'], [['-R'], '127.0.0.22'],
        [['-pR'], '127.0.0.22'], [['-R'], '127.0.0.23'], [['-R'], '127.0.0.24'], [['-R'], '127.0.0.27'],
        [['-R', '-l', 'given'], '127.0.0.21'], [['-HR', '-l', 'x'], '127.0.0.21'],
      ];
      for (const [flags, local] of cases) {
        const ref = await envSeen(REF, flags, local, E);
        t.same(await envSeen(OURS, flags, local, { ...L, ...E }), ref, `${flags.join(' ')}, client ${local}`);
      }
      // Rules on names: =host and =.domain keys, with -h and with -p.
      const cdb = rulesCdb('=good.example:allow,BYNAME="host"\n=.example:allow,BYNAME="domain"\n' +
        '127.0.0.23:allow,BYIP="1"\n:deny\n');
      for (const [flags, local] of [[['-R'], '127.0.0.21'], [['-R'], '127.0.0.22'], [['-pR'], '127.0.0.22'],
        [['-HR'], '127.0.0.21'], [['-R'], '127.0.0.23'], [['-R'], '127.0.0.9']] as Array<[string[], string]>) {
        const args = [...flags, '-x', cdb];
        t.same(await envSeen(OURS, args, local, { ...L, ...E }), await envSeen(REF, args, local, E),
          `rules by name: ${flags.join(' ')}, client ${local}`);
      }
      t.equal((await envSeen(OURS, ['-R'], '127.0.0.21', { ...L, ...E })).TCPREMOTEHOST, 'good.example');
      t.notOk('TCPREMOTEHOST' in (await envSeen(OURS, ['-pR'], '127.0.0.22', { ...L, ...E })), 'paranoid drops an unconfirmed name');
      t.ok(dns.queries.length > 0);
    });

    t.test('-u/-g/-U: ids as the reference sets them', asRoot(needReference('tcpserver')), async (t) => {
      for (const [args, env] of [[['-u', '65534', '-g', '65534'], {}], [['-U'], { UID: '65534', GID: '65534' }]] as const) {
        const idOf = async (cmd: string) => {
          const srv = await startServer(cmd, ['-HR', ...args, '127.0.0.1', '0', 'sh', '-c', 'id -u; id -g; id -G'],
            { ...baseEnv, ...env, ...(cmd === OURS ? L : {}) });
          try {
            return await talk(srv.port);
          } finally {
            await srv.stop();
          }
        };
        const ours = await idOf(OURS);
        t.equal(ours, await idOf(REF), args.join(' '));
        t.equal(ours, '65534\n65534\n65534\n');
      }
    });

    t.test('IPv6 client: PROTO=TCP6 and the TCP6* names of ucspi-tcp6; mapped IPv4 is plain IPv4', async (t) => {
      const v6 = await startServer(OURS, ['-HR', '-l', 'me', '::1', '0', '/usr/bin/env'], { ...baseEnv, ...L });
      const e = clean(parseEnv(await talk(v6.port, { host: '::1' })), v6.port);
      await v6.stop();
      t.match(e, { PROTO: 'TCP6', TCPLOCALIP: '::1', TCPREMOTEIP: '::1', TCP6LOCALIP: '::1', TCP6REMOTEIP: '::1',
        TCPLOCALHOST: 'me', TCP6LOCALHOST: 'me', TCP6REMOTEPORT: /^\d+$/ });
      // Host 0 listens on :: (dual stack): an IPv4 client arrives as ::ffff:127.0.0.8 and must look IPv4.
      const any = await startServer(OURS, ['-HR', '-l', 'me', '0', '0', '/usr/bin/env'], { ...baseEnv, ...L });
      const m = clean(parseEnv(await talk(any.port, { local: '127.0.0.8' })), any.port);
      await any.stop();
      t.match(m, { PROTO: 'TCP', TCPREMOTEIP: '127.0.0.8', TCPLOCALIP: '127.0.0.1' });
      t.notOk('TCP6REMOTEIP' in m);
    });

    t.test('failed launch: dropped with the reference\'s line, server goes on', async (t) => {
      const srv = await startServer(OURS, ['-HR', '127.0.0.1', '0', './does-not-exist'], { ...baseEnv, ...L });
      t.equal(await talk(srv.port), '');
      await srv.waitLog(/dropping/);
      t.match(srv.stderr(), /^tcpserver: warning: dropping connection, unable to run \.\/does-not-exist: file does not exist$/m);
      t.equal(await talk(srv.port), '');
      await srv.stop();
    });
  });
}

t.test('arguments: getopt bundles, everything after prog passed through; usage exits 100', needReference('tcpserver'), async (t) => {
  const srv = await startServer(OURS, ['-HRq', '-c2', '-b', '5', '127.0.0.1', '0', 'echo', '-v', '-c', '--', 'x'], baseEnv);
  t.equal(await talk(srv.port), '-v -c -- x\n');
  await srv.stop();
  for (const args of [[], ['0'], ['0', '1'], ['-z', '0', '1', 'x'], ['-c']]) {
    const ours = spawnSync(OURS, args, { encoding: 'utf8', timeout: 10000 });
    const ref = spawnSync(REF, args, { encoding: 'utf8', timeout: 10000 });
    t.equal(ours.status, 100);
    t.equal(ours.status, ref.status);
    t.equal(ours.stderr, ref.stderr, args.join(' '));
  }
});
