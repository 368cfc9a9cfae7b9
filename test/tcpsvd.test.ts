// tcpsvd against the reference /usr/bin/tcpsvd: same flags, same client
// addresses, same environment and log lines; then the engine's limits.
import t from 'tap';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { BIN, launchers, listeners, parseEnv, reachability, startServer, talk, tcpConnectionCount, stopAndRead } from './helpers/net';
import { namesZone, startFakeDns } from './helpers/fakedns';
import { asRoot, findReference, needReference, reference, scratch, sleep } from './helpers/common';
import { needExtrausers, nssPrefix } from './helpers/nss';

const OURS = path.join(BIN, 'tcpsvd');
const REF = findReference('tcpsvd') ?? 'tcpsvd';
const tmp = scratch('tcpsvd-test')('t'); // removed when the file's tests end

// The server's own environment carries stale connection variables: both must drop them.
const baseEnv = {
  PATH: '/usr/bin:/bin', FOO: 'bar', TCPREMOTEHOST: 'stale', TCPREMOTEINFO: 'stale', TCPLOCALHOST: 'stale',
  // bin/.start keeps it from Node and must hand it back to prog unchanged.
  NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem', TCPCONCURRENCY: 'stale',
};

/** The environment prog sees, minus what differs by nature (client port, launcher choice). */
async function envSeen(cmd: string, args: string[], local: string, launcher?: string, extra: NodeJS.ProcessEnv = {}) {
  const env = launcher ? { ...baseEnv, ...extra, UCSPI_LAUNCHER: launcher } : { ...baseEnv, ...extra };
  const srv = await startServer(cmd, [...args, '127.0.0.1', '0', '/usr/bin/env'], env);
  try {
    const e = parseEnv(await talk(srv.port, { local }));
    for (const k of Object.keys(e)) if (k === 'UCSPI_LAUNCHER' || k.startsWith('_TAPJS')) delete e[k];
    // TCPLOCALPORT is compared as is: both copy the port argument ("0").
    if (e.TCPREMOTEPORT !== undefined) e.TCPREMOTEPORT = /^\d+$/.test(e.TCPREMOTEPORT) ? 'n' : e.TCPREMOTEPORT;
    return e;
  } finally {
    await srv.stop();
  }
}

function peersDir(): string {
  const d = mkdtempSync(path.join(tmp, 'peers-'));
  writeFileSync(path.join(d, '127.0.0.2'), '');
  chmodSync(path.join(d, '127.0.0.2'), 0o000); // deny
  // Every value holds a non-ASCII byte (UTF-8 text): it must reach prog byte for byte.
  writeFileSync(path.join(d, '127.0.0.3'), '+GREETING=hello wörld\n+FOO\n');
  writeFileSync(path.join(d, '127.0.4'), '+NET=café\n');
  return d;
}

// Names for the DNS tests: helpers/fakedns.ts's namesZone(), a fresh copy
// for each test, which may change it (both launchers' run at once).
const DNS_CASES: Array<[string[], string]> = [
  [[], '127.0.0.9'], [['-h'], '127.0.0.21'], [['-p'], '127.0.0.21'], [['-h'], '127.0.0.22'],
  [['-p'], '127.0.0.22'], [['-h'], '127.0.0.23'], [['-h'], '127.0.0.24'], [['-h'], '127.0.0.27'],
  [['-h'], '127.0.0.28'], [['-h'], '127.0.0.30'], [['-h', '-l', 'given'], '127.0.0.21'],
];

// The tests are independent (port 0, their own directories and fake DNS):
// both launchers' at once, and three at a time within each.
t.jobs = 2;

for (const l of launchers()) {
  t.test(`launcher ${l.name}`, { skip: l.skip }, async (t) => {
    t.jobs = 3;
    const L = l.name;
    for (const flags of [[], ['-E'], ['-l', 'local.name'], ['-l', ''], ['-vv'], ['-C', '3'], ['-E', '-C', '3']]) {
      t.test(`environment with ${flags.join(' ') || 'no flags'} equals the reference`, needReference('tcpsvd'), async (t) => {
        const ref = await envSeen(REF, flags, '127.0.0.9');
        const ours = await envSeen(OURS, flags, '127.0.0.9', L);
        t.same(ours, ref);
        t.equal(ours.FOO, 'bar');
        if (flags.length === 0) {
          const none = { NODE_EXTRA_CA_CERTS: undefined };
          t.same(await envSeen(OURS, flags, '127.0.0.9', L, none), await envSeen(REF, flags, '127.0.0.9', undefined, none),
            'without NODE_EXTRA_CA_CERTS too');
        }
      });
    }

    t.test('DNS: the local name unless -l, -h/-p names (hostile ones escaped), as the reference', needReference('tcpsvd'), async (t) => {
      const zone = namesZone();
      const dns = await startFakeDns(zone, { port53: true });
      t.teardown(() => dns.close());
      const E = { DNSCACHEIP: dns.addr };
      for (const [flags, local] of DNS_CASES) {
        const ref = await envSeen(REF, flags, local, undefined, E);
        t.same(await envSeen(OURS, flags, local, L, E), ref, `${flags.join(' ') || 'no flags'}, client ${local}`);
      }
      // Peers entries named by host and domain, with -h and -p.
      const d = mkdtempSync(path.join(tmp, 'peers-'));
      writeFileSync(path.join(d, 'good.example'), '+BYNAME=host\n');
      writeFileSync(path.join(d, 'example'), '+BYNAME=domain\n');
      writeFileSync(path.join(d, '0'), '');
      chmodSync(path.join(d, '0'), 0o000);
      for (const [flags, local] of [[['-h'], '127.0.0.21'], [['-h'], '127.0.0.22'], [['-p'], '127.0.0.22'],
        [[], '127.0.0.21'], [['-h'], '127.0.0.9']] as Array<[string[], string]>) {
        const args = [...flags, '-i', d];
        t.same(await envSeen(OURS, args, local, L, E), await envSeen(REF, args, local, undefined, E),
          `peers by name: ${flags.join(' ') || 'no flags'}, client ${local}`);
      }
      // A local name server that answers badly is "no name"; one that refuses drops the client.
      zone['127.0.0.1'] = { mode: 'servfail' };
      t.same(await envSeen(OURS, [], '127.0.0.9', L, E), await envSeen(REF, [], '127.0.0.9', undefined, E), 'SERVFAIL');
      zone['127.0.0.1'] = { ptr: 'Local.Example.' };
    });

    t.test('host 0 listens on IPv4 only, as the reference; :: on both (dual stack)', needReference('tcpsvd'), async (t) => {
      // Which /proc table holds the listener, and which loopback reaches it.
      const seen = (cmd: string, host: string, env: NodeJS.ProcessEnv) =>
        reachability(cmd, ['-l', 'me', host, '0', 'echo', 'hi'], env);
      for (const host of ['0', '', '0.0.0.0']) {
        const ours = await seen(OURS, host, { ...baseEnv, UCSPI_LAUNCHER: L });
        t.same(ours, { tables: ['tcp'], v4: 'hi\n', v6: 'ECONNREFUSED' }, `host '${host}': /proc/net/tcp only`);
        t.same(ours, await seen(REF, host, baseEnv), `host '${host}': as the reference`);
      }
      t.same(await seen(OURS, '::', { ...baseEnv, UCSPI_LAUNCHER: L }), { tables: ['tcp6'], v4: 'hi\n', v6: 'hi\n' },
        'host ::: one socket for IPv6 and IPv4');
      t.same(await seen(OURS, '::1', { ...baseEnv, UCSPI_LAUNCHER: L }), { tables: ['tcp6'], v4: 'ECONNREFUSED', v6: 'hi\n' },
        'host ::1: IPv6 loopback only');
    });

    t.test('a silent name server delays only the client it is asked about', async (t) => {
      const dns = await startFakeDns({ '127.0.0.25': { mode: 'timeout' } }, { port53: true });
      t.teardown(() => dns.close());
      const srv = await startServer(OURS, ['-h', '-l', 'me', '127.0.0.1', '0', 'echo', 'served'],
        { ...baseEnv, DNSCACHEIP: dns.addr, UCSPI_LAUNCHER: L });
      const net = await import('node:net');
      const stuck = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.25' });
      stuck.on('error', () => {});
      let stuckGot = '';
      stuck.on('data', (d) => { stuckGot += d; });
      await new Promise<void>((r) => stuck.on('connect', () => r()));
      for (let i = 0; i < 20 && !dns.queries.some((q) => q.name.startsWith('25.0.0.127')); i++) {
        await sleep(50);
      }
      t.equal(await talk(srv.port, { local: '127.0.0.26', ms: 5000 }), 'served\n', 'another client is served meanwhile');
      t.equal(stuckGot, '', 'while the first one still waits for its name');
      t.notOk(stuck.destroyed, 'and is still connected');
      stuck.destroy();
      await srv.stop();
    });

    t.test('no answer for the local name: the client is dropped, worded as the reference', needReference('tcpsvd'), async (t) => {
      // Nothing listens on this address's port 53: "connection refused" (the reference takes 11 s).
      const E = { DNSCACHEIP: '127.53.0.254' };
      const lines = async (cmd: string) => {
        const srv = await startServer(cmd, ['-v', '127.0.0.1', '0', 'echo', 'x'],
          { ...baseEnv, ...E, ...(cmd === OURS ? { UCSPI_LAUNCHER: L } : {}) });
        t.equal(await talk(srv.port, { ms: 30000 }), '', `${cmd}: closed without running prog`);
        await srv.waitLog(/status 0\/30/, 30000);
        await stopAndRead(srv);
        // ipsvd echoes port "0"; ours shows the bound port (documented).
        return (srv.stderr() + srv.stdout()).replace(/\b(pid|end) \d+/g, '$1 N').replace(/:\d+,/, ':PORT,');
      };
      // Once is enough for the reference, which takes 11 s: beside ours, with the native launcher.
      const [ours, ref] = await Promise.all([lines(OURS), L === 'native' ? lines(REF) : undefined]);
      t.match(ours, /^tcpsvd: drop: unable to look up local hostname: connection refused$/m);
      if (ref !== undefined) t.equal(ours, ref);
    });

    t.test('a PTR answer naming an address never reaches that address\'s entry', async (t) => {
      const dns = await startFakeDns({ '127.0.0.29': { ptr: '127.0.0.2' } }, { port53: true });
      t.teardown(() => dns.close());
      const d = mkdtempSync(path.join(tmp, 'peers-'));
      writeFileSync(path.join(d, '127.0.0.2'), '+TRUSTED=yes\n');
      writeFileSync(path.join(d, '0'), '');
      chmodSync(path.join(d, '0'), 0o000); // everybody else: deny
      const e = await envSeen(OURS, ['-h', '-l', 'me', '-i', d], '127.0.0.29', L, { DNSCACHEIP: dns.addr });
      t.same(e, {}, 'denied by the default entry, not allowed as "127.0.0.2" (ipsvd would allow)');
    });

    t.test('peers dir: deny, variables, prefix match, as the reference', needReference('tcpsvd'), async (t) => {
      const d = peersDir();
      for (const local of ['127.0.0.2', '127.0.0.3', '127.0.4.1', '127.0.0.5']) {
        const ref = await envSeen(REF, ['-i', d], local);
        const ours = await envSeen(OURS, ['-i', d], local, L);
        t.same(ours, ref, `client ${local}`);
      }
      const denied = await envSeen(OURS, ['-i', d], '127.0.0.2', L);
      t.same(denied, {}, 'denied client gets nothing');
      const set = await envSeen(OURS, ['-i', d], '127.0.0.3', L);
      t.equal(set.GREETING, 'hello wörld');
      t.notOk('FOO' in set, '+FOO removes FOO');
      t.equal((await envSeen(OURS, ['-i', d], '127.0.4.1', L)).NET, 'café', 'byte for byte');
    });

    t.test('-vv with -i and -x: the matched entry and its instructions, as the reference logs them', needReference('tcpsvd', 'ipsvd-cdb'), async (t) => {
      const d = peersDir();
      const { spawnSync } = await import('node:child_process');
      const cdb = path.join(tmp, `peers-${L}.cdb`);
      const mk = spawnSync(reference('ipsvd-cdb'), [cdb, cdb + '.tmp', d], { timeout: 10000 });
      t.equal(mk.status, 0, 'reference ipsvd-cdb compiled the peers');
      for (const src of [['-i', d], ['-x', cdb]]) {
        const run = async (cmd: string) => {
          const env = cmd === OURS ? { ...baseEnv, UCSPI_LAUNCHER: L } : baseEnv;
          const srv = await startServer(cmd, ['-vv', ...src, '127.0.0.1', '0', 'true'], env);
          try {
            for (const [k, local] of ['127.0.0.2', '127.0.0.3', '127.0.4.1', '127.0.0.5'].entries()) {
              await talk(srv.port, { local });
              // This client's verdict: the (k+1)-th deny or end line.
              await srv.waitLog(new RegExp(`(?:[\\s\\S]*? (?:deny|end) \\d+ ){${k + 1}}`));
            }
          } finally {
            await stopAndRead(srv);
          }
          return srv.stdout()
            .split('\n').filter((l) => / (start|deny) /.test(l))
            .map((l) => l.replace(/ \d+ /, ' N ').replace(/:\d+ /, ':RPORT '));
        };
        const ours = await run(OURS);
        t.same(ours, await run(REF), src[0]);
        t.equal(ours.length, 4, `${src[0]}: one verdict line per client`);
      }
    });

    t.test('log lines match the reference (pids and ports masked)', needReference('tcpsvd'), async (t) => {
      // Listening on port 0: ipsvd echoes "0", ours the bound port (documented).
      const mask = (s: string, port: number) => s
        .replace(/listening on 127\.0\.0\.1:0,/, `listening on 127.0.0.1:${port},`)
        .replace(new RegExp(`:${port}\\b`, 'g'), ':PORT')
        .replace(/\b(pid|start|deny|end|concurrency) \d+/g, '$1 N')
        .replace(/:(\d+)$/gm, ':RPORT');
      const run = async (cmd: string) => {
        const env = cmd === OURS ? { ...baseEnv, UCSPI_LAUNCHER: L } : baseEnv;
        const srv = await startServer(cmd, ['-v', '-C', '1:busy\\n', '-l', 'me', '127.0.0.1', '0', 'sh', '-c', 'read x; echo $x'], env);
        const net = await import('node:net');
        const first = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.4' });
        const firstDone = new Promise<void>((r) => first.on('close', () => r()));
        first.on('error', () => {});
        first.resume();
        await srv.waitLog(/start \d+/);
        const second = await talk(srv.port, { local: '127.0.0.4' });
        await srv.waitLog(/end \d+ exit 100\n.*status 1\/30/);
        first.end('a\n');
        await firstDone;
        await srv.waitLog(/end \d+ exit 0\n.*status 0\/30/);
        await stopAndRead(srv);
        return { log: mask(srv.stdout(), srv.port), second };
      };
      const ref = await run(REF);
      const ours = await run(OURS);
      t.equal(ours.second, 'busy\n', '-C message written before closing');
      t.equal(ours.second, ref.second);
      t.equal(ours.log, ref.log);
    });

    t.test('-c 2 with 6 clients: all served, never more than 2 children', async (t) => {
      const srv = await startServer(OURS, ['-v', '-c', '2', '127.0.0.1', '0', 'sh', '-c', 'sleep 0.2; echo done'],
        { ...baseEnv, UCSPI_LAUNCHER: L });
      const replies = await Promise.all(Array.from({ length: 6 }, () => talk(srv.port)));
      await srv.waitLog(/(end \d+ exit 0\n[^\n]*status \d\/2\n[^]*){6}/);
      await stopAndRead(srv);
      t.same(replies, Array(6).fill('done\n'));
      const counts = [...srv.stdout().matchAll(/status (\d+)\/2/g)].map((m) => Number(m[1]));
      t.equal(Math.max(...counts), 2);
      t.equal(counts.length, 12, 'one status line at each start and each end');
      t.equal(counts[counts.length - 1], 0);
    });

    t.test('-c 1: clients over the limit wait in the kernel backlog, not in the server', async (t) => {
      const srv = await startServer(OURS, ['-c', '1', '-b', '10', '127.0.0.1', '0', 'sh', '-c', 'read x; echo $x'],
        { ...baseEnv, UCSPI_LAUNCHER: L });
      const net = await import('node:net');
      const clients = Array.from({ length: 4 }, (_, i) => {
        const s = net.connect({ port: srv.port, host: '127.0.0.1' });
        let out = '';
        s.on('data', (d) => { out += d; });
        s.on('error', () => {});
        const done = new Promise<string>((r) => s.on('close', () => r(out)));
        return { s, done, line: `c${i}\n` };
      });
      const pid = srv.proc.pid!;
      // The first one is served, three wait: poll until they are where they
      // belong (bounded), as the accepts and the hand-over to prog may take a
      // while on a loaded machine; a server that holds them fails on the bound.
      const settled = L === 'spawn' ? (s: typeof seen) => s.held >= 3 : (s: typeof seen) => s.queued === 3 && s.held <= 1;
      const until = Date.now() + 15_000;
      let seen = { queued: -1, held: -1 };
      while (Date.now() < until) {
        // TCP only: the local name's DNS question (a UDP socket) is no client.
        seen = { queued: listeners(pid)[0]?.queued ?? -1, held: tcpConnectionCount(pid) };
        if (settled(seen)) break;
        await sleep(20);
      }
      if (L === 'spawn') {
        // The pure-Node path holds them itself (documented): connected, unread.
        t.ok(seen.held >= 3, `net.Server path: waiting clients held by the server (${JSON.stringify(seen)})`);
      } else {
        t.equal(seen.queued, 3, 'three clients left in the accept queue');
        t.ok(seen.held <= 1, `the server holds at most the client being served (${JSON.stringify(seen)})`);
      }
      for (const c of clients) c.s.write(c.line);
      const replies = await Promise.all(clients.map((c) => c.done));
      t.same(replies, clients.map((c) => c.line), 'every client served in turn, none refused');
      await srv.stop();
    });

    t.test('failed launch: logged as the reference, the server goes on', async (t) => {
      const srv = await startServer(OURS, ['127.0.0.1', '0', './does-not-exist'], { ...baseEnv, UCSPI_LAUNCHER: L });
      t.equal(await talk(srv.port), '');
      await srv.waitLog(/drop/);
      t.match(srv.stderr(), /^tcpsvd: drop: unable to run: \.\/does-not-exist: file does not exist$/m);
      t.equal(await talk(srv.port), '', 'still serving');
      await srv.stop();
    });

    t.test('unreadable instructions: that connection dropped, as the reference words it', needReference('tcpsvd', 'ipsvd-cdb'), async (t) => {
      // A cdb cut short after its header: damaged, named once ("protocol error", as ipsvd).
      const { spawnSync } = await import('node:child_process');
      const { readFileSync } = await import('node:fs');
      const damaged = path.join(tmp, `damaged-${L}.cdb`);
      t.equal(spawnSync(reference('ipsvd-cdb'), [damaged, damaged + '.tmp', peersDir()], { timeout: 10000 }).status, 0);
      writeFileSync(damaged, readFileSync(damaged).subarray(0, 2049));
      for (const [flag, file] of [['-x', path.join(tmp, 'missing')], ['-i', path.join(tmp, 'missing')], ['-x', damaged]]) {
        const lines = async (cmd: string) => {
          const srv = await startServer(cmd, ['-v', flag, file, '127.0.0.1', '0', 'echo', 'x'],
            { ...baseEnv, UCSPI_LAUNCHER: L });
          // From a client with an entry: its lookup reads where the damaged file was cut.
          t.equal(await talk(srv.port, { local: '127.0.0.3' }), '', `${flag}: closed without running prog`);
          await srv.waitLog(/status 0\/30/);
          await stopAndRead(srv);
          return (srv.stderr() + srv.stdout()).replace(/\b(pid|end) \d+/g, '$1 N').replace(/:\d+,/, ':PORT,');
        };
        const ours = await lines(OURS);
        t.equal(ours, await lines(REF), `${flag} ${path.basename(file)}`);
        if (file === damaged) t.match(ours, /drop: unable to check inst: 127\.0\.0\.3: protocol error\n/);
      }
    });

    t.test('prog gets fds 0, 1 and 2 only, even when the server inherited more', async (t) => {
      const { openSync, closeSync } = await import('node:fs');
      const extra = openSync('/dev/null', 'r');
      const srv = await startServer(OURS, ['-l', 'me', '127.0.0.1', '0', 'sh', '-c', 'ls /proc/$$/fd'],
        { ...baseEnv, UCSPI_LAUNCHER: L }, 8000, extra);
      closeSync(extra);
      t.equal(await talk(srv.port), '0\n1\n2\n');
      await srv.stop();
    });

    t.test('half-close: prog reads to EOF, then replies', async (t) => {
      const srv = await startServer(OURS, ['127.0.0.1', '0', 'sh', '-c', 'wc -c'], { ...baseEnv, UCSPI_LAUNCHER: L });
      const r = await talk(srv.port, { send: 'hello', end: true });
      await srv.stop();
      t.equal(r.trim(), '5');
    });

    t.test('SIGTERM: server exits, a running child keeps its client', async (t) => {
      const srv = await startServer(OURS, ['-v', '127.0.0.1', '0', 'sh', '-c', 'read x; echo got $x'],
        { ...baseEnv, UCSPI_LAUNCHER: L });
      const net = await import('node:net');
      const s = net.connect({ port: srv.port, host: '127.0.0.1' });
      let out = '';
      s.on('data', (d) => { out += d; });
      const closed = new Promise<void>((r) => s.on('close', () => r()));
      await srv.waitLog(/start \d+/);
      await stopAndRead(srv);
      t.match(srv.stdout(), /sigterm received, exit\.\n$/);
      s.write('late\n');
      const timer = setTimeout(() => s.destroy(), 5000);
      await closed;
      clearTimeout(timer);
      t.equal(out, 'got late\n');
    });

    t.test('-u: uid, gid and groups as the reference sets them', asRoot(needReference('tcpsvd')), async (t) => {
      for (const spec of ['nobody', 'nobody:nogroup', ':65534:65534:0', 'nobody:nogroup:root']) {
        const idOf = async (cmd: string) => {
          const env = cmd === OURS ? { ...baseEnv, UCSPI_LAUNCHER: L } : baseEnv;
          const srv = await startServer(cmd, ['-u', spec, '127.0.0.1', '0', 'sh', '-c', 'id -u; id -g; id -G'], env);
          try {
            return await talk(srv.port);
          } finally {
            await srv.stop();
          }
        };
        const ours = await idOf(OURS);
        t.equal(ours, await idOf(REF), spec);
        t.match(ours, /^65534\n/, `${spec}: uid nobody`);
      }
    });
  });
}

// Users and groups only NSS knows (extrausers here; LDAP or systemd's dynamic
// users in the field): Debian's tcpsvd asks getpwnam and getgrnam, so must we,
// with the addon and without it (getent).
const NSS_PASSWD = 'nssu:x:4343:4343::/nonexistent:/bin/sh\n';
const NSS_GROUP = 'nssu:x:4343:\nnssg:x:4344:nssu\nnssg2:x:4345:nobody\n';

t.test('-u of users and groups only NSS knows: the ids the reference sets', asRoot({ skip: needReference('tcpsvd').skip || needExtrausers().skip }), async (t) => {
  const prefix = nssPrefix(scratch('tcpsvd-nss')('n'), NSS_PASSWD, NSS_GROUP);
  const idOf = async (cmd: string, spec: string, env: NodeJS.ProcessEnv) => {
    const srv = await startServer(prefix[0], [...prefix.slice(1), cmd, '-u', spec, '127.0.0.1', '0', 'sh', '-c', 'id -u; id -g; id -G'], env);
    try {
      return await talk(srv.port);
    } finally {
      await srv.stop();
    }
  };
  const want: Record<string, string> = {
    'nssu': '4343\n4343\n4343\n',
    'nssu:nssg': '4343\n4344\n4344\n',
    'nssu:nssg:nssg2:nogroup': '4343\n4344\n4344 4345 65534\n',
    'nobody:nssg2': '65534\n4345\n4345\n',
  };
  for (const [spec, ids] of Object.entries(want)) {
    t.equal(await idOf(REF, spec, baseEnv), ids, `${spec}: the reference`);
    t.equal(await idOf(OURS, spec, baseEnv), ids, `${spec}: ours, the addon`);
    t.equal(await idOf(OURS, spec, { ...baseEnv, UCSPI_NO_NATIVE: '1' }), ids, `${spec}: ours, getent`);
  }
});

t.test('usage: exit 111 and ipsvd\'s usage line, like the reference', needReference('tcpsvd'), async (t) => {
  const { spawnSync } = await import('node:child_process');
  for (const args of [[], ['0'], ['0', '1'], ['-c', '0', '0', '1', 'x'], ['-z', '0', '1', 'x']]) {
    const ours = spawnSync(OURS, args, { encoding: 'utf8', timeout: 10000 });
    const ref = spawnSync(REF, args, { encoding: 'utf8', timeout: 10000 });
    t.equal(ours.status, ref.status, `exit code for ${args.join(' ')}`);
    t.equal(ours.stderr.replace(/^usage: \S+/m, 'usage: X'), ref.stderr.replace(/^usage: \S+/m, 'usage: X'));
  }
  for (const args of [['-V'], ['-vV', '0', '1', 'x']]) {
    // -V: a version line in ipsvd's "$Id: ... $" shape (ours names itself),
    // then the usage: nothing else (ipsvd's own suite reads these lines).
    const ours = spawnSync(OURS, args, { encoding: 'utf8', timeout: 10000 });
    const ref = spawnSync(REF, args, { encoding: 'utf8', timeout: 10000 });
    t.equal(ours.status, ref.status, `exit code for ${args.join(' ')}`);
    const id = /^\$Id: [^$\n]+ \$\n/;
    t.match(ours.stderr, id);
    const mask = (e: string) => e.replace(id, '$Id$\n').replace(/^usage: \S+/m, 'usage: X');
    t.equal(mask(ours.stderr), mask(ref.stderr), args.join(' '));
  }
  const bad = spawnSync(OURS, ['127.0.0.1', 'no-such-service', 'true'], { encoding: 'utf8', timeout: 10000 });
  t.equal(bad.status, 100);
  t.equal(bad.stderr, 'tcpsvd: fatal: unknown port number or name: no-such-service\n');
});
