// tcpsvd and tcpserver behind a real HAProxy (send-proxy, send-proxy-v2):
// rules decide on the original client's address, prog sees it as
// TCPREMOTEIP, a server-speaks-first prog greets at once; and, with raw
// clients, what --proxy refuses: headers from untrusted sources, malformed
// headers, a trusted source that never sends one. A client waiting for its
// header holds its -c slot.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BIN, freePortOn, launchers, listeningPort, parseEnv, startServer, talk } from './helpers/net';
import { peersDir, rulesCdb } from './helpers/frontdoor';
import { killGroup, needPackage, scratch, sleep, spawn, which } from './helpers/common';

const TCPSVD = path.join(BIN, 'tcpsvd');
const TCPSERVER = path.join(BIN, 'tcpserver');
const HAPROXY = which('haproxy') ?? (existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : undefined);
const NO_HAPROXY = needPackage('haproxy', HAPROXY !== undefined);
const tmp = scratch('frontdoor-proxy')('t'); // removed when the file's tests end
const baseEnv = { PATH: '/usr/bin:/bin', PROXY_AUTHORITY: 'stale' };

interface Haproxy { port: number; stop(): void }

/** haproxy in front of 127.0.0.1:backend with one send-proxy option; a taken port is retried, a bounded number of times. */
async function startHaproxy(backend: number, send: 'send-proxy' | 'send-proxy-v2'): Promise<Haproxy> {
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePortOn('127.0.0.1');
    const dir = mkdtempSync(path.join(tmp, 'haproxy-'));
    const cfg = path.join(dir, 'haproxy.cfg');
    // No "source" line: haproxy connects from 127.0.0.1, the client's own
    // address reaches the server only through the header.
    writeFileSync(cfg, [
      'global', '  maxconn 64',
      'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 20s', '  timeout server 20s',
      'frontend fe', `  bind 127.0.0.1:${port}`, '  default_backend be',
      'backend be', `  server s1 127.0.0.1:${backend} ${send}`, '',
    ].join('\n'));
    const proc = spawn(HAPROXY!, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => { err += d; });
    proc.stdout!.on('data', (d) => { err += d; });
    let exited = false;
    proc.on('exit', () => { exited = true; });
    const until = Date.now() + 8000;
    while (!exited && Date.now() < until && listeningPort(proc.pid!) !== port) await sleep(20);
    if (!exited && listeningPort(proc.pid!) === port) return { port, stop: () => killGroup(proc.pid) };
    killGroup(proc.pid);
    last = err;
  }
  throw new Error(`haproxy did not start: ${last}`);
}

/** Connects from local, reads the greeting line, then sends what and reads until the server closes. */
function converse(port: number, local: string, what: string, ms = 8000): Promise<{ greeting: string; rest: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: local });
    let buf = '', greeting: string | undefined;
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer (so far: ${JSON.stringify(buf)})`)); }, ms);
    s.on('data', (d) => {
      buf += d;
      if (greeting === undefined && buf.includes('\n')) {
        greeting = buf.slice(0, buf.indexOf('\n'));
        buf = buf.slice(buf.indexOf('\n') + 1);
        s.write(what);
      }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => { clearTimeout(timer); resolve({ greeting: greeting ?? '', rest: buf }); });
  });
}

/** talk(), where a reset counts as closed: a refused client's unread bytes make the close a reset. */
function talkOrReset(port: number, o: Parameters<typeof talk>[1]): Promise<string> {
  return talk(port, o).catch((e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? '' : Promise.reject(e)));
}

// A server-speaks-first prog: greets with what it was told, then echoes the client's first line byte for byte.
const GREETER = ['sh', '-c', 'echo "220 $TCPREMOTEIP $TCPLOCALIP $GREETING ${PROXY_AUTHORITY-none}"; IFS= read -r line; printf "got %s\\n" "$line"'];



const SERVERS: Array<{ name: string; cmd: string; args: () => string[] }> = [
  { name: 'tcpsvd -i peers', cmd: TCPSVD, args: () => ['-v', '-l', 'me', '-i', peersDir(tmp)] },
  { name: 'tcpserver -x rules.cdb', cmd: TCPSERVER, args: () => ['-v', '-HR', '-l', 'me', '-x', rulesCdb(tmp)] },
];

for (const l of launchers()) {
  t.test(`launcher ${l.name}`, { skip: l.skip }, async (t) => {
    const L = { UCSPI_LAUNCHER: l.name };

    for (const s of SERVERS) {
      for (const send of ['send-proxy', 'send-proxy-v2'] as const) {
        t.test(`${s.name} behind haproxy ${send}`, { skip: NO_HAPROXY }, async (t) => {
          const srv = await startServer(s.cmd, [...s.args(), '--proxy=127.0.0.1/32', '127.0.0.1', '0', ...GREETER],
            { ...baseEnv, ...L });
          const hap = await startHaproxy(srv.port, send);
          t.teardown(async () => { hap.stop(); await srv.stop(); });
          const five = await converse(hap.port, '127.0.0.5', 'QUIT and \\ more  \r\n');
          t.equal(five.greeting, '220 127.0.0.5 127.0.0.1 hello-five none',
            'greeted at once; TCPREMOTEIP is the client, the rule for 127.0.0.5 applied, no stale PROXY_AUTHORITY');
          t.equal(five.rest, 'got QUIT and \\ more  \r\n', `the bytes after the header reach prog exactly: ${JSON.stringify(five.rest)}`);
          const other = await converse(hap.port, '127.0.0.7', 'x\n');
          t.equal(other.greeting, '220 127.0.0.7 127.0.0.1  none', 'another client, its own address');
          const denied = await talk(hap.port, { local: '127.0.0.9' });
          t.equal(denied, '', 'the rule for 127.0.0.9 denies it, though haproxy connects from 127.0.0.1');
          const log = await srv.waitLog(/deny \d+ .*127\.0\.0\.9/);
          t.match(log, /from 127\.0\.0\.5/, 'the log names the original client');
          t.notMatch(log, /from 127\.0\.0\.1\b/, 'never haproxy\'s address');
        });
      }
    }

    t.test('untrusted source: a header is refused; without one the client is served at once', async (t) => {
      const srv = await startServer(TCPSVD, ['-v', '-c', '1', '-l', 'me', '--proxy=10.0.0.0/8,::1', '127.0.0.1', '0', ...GREETER],
        { ...baseEnv, ...L });
      t.teardown(() => srv.stop());
      const plain = await converse(srv.port, '127.0.0.3', 'hi\n');
      t.equal(plain.greeting, '220 127.0.0.3 127.0.0.1  none', 'no header, untrusted: served as without --proxy, at once');
      t.equal(plain.rest, 'got hi\n');
      // Hold the one slot, so that the next client's header is there when it is accepted.
      const holder = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.4' });
      await new Promise<void>((r) => holder.once('data', () => r()));
      const spoof = talkOrReset(srv.port, { local: '127.0.0.6', send: 'PROXY TCP4 10.9.9.9 127.0.0.1 1 2\r\n' });
      await sleep(200);
      holder.end('bye\n');
      const got = await spoof;
      if (l.name === 'native') {
        t.equal(got, '', 'refused');
        t.match(await srv.waitLog(/drop: proxy header: 127\.0\.0\.6:\d+: from an untrusted source/), /from 127\.0\.0\.6/);
      } else {
        // The pure-Node path has no peek (documented): the bytes reach prog untouched, nothing is believed.
        t.equal(got, '220 127.0.0.6 127.0.0.1  none\ngot PROXY TCP4 10.9.9.9 127.0.0.1 1 2\r\n');
      }
    });

    t.test('trusted source: malformed, missing or late header closes the connection with a log line', async (t) => {
      const srv = await startServer(TCPSERVER, ['-v', '-HR', '-l', 'me', '-c', '1', '--proxy=127.0.0.0/8', '--proxy-timeout=1',
        '127.0.0.1', '0', ...GREETER], { ...baseEnv, ...L });
      t.teardown(() => srv.stop());
      t.equal(await talkOrReset(srv.port, { send: 'PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\nx\n' }), '', 'bad port: closed');
      await srv.waitLog(/dropping connection, proxy header: 127\.0\.0\.1:\d+: v1 header: bad port/);
      t.equal(await talkOrReset(srv.port, { send: 'EHLO me\r\n' }), '', 'no header but data: closed');
      await srv.waitLog(/proxy header: 127\.0\.0\.1:\d+: not a PROXY header/);
      // -c 1: a trusted client that sends nothing holds the slot until its wait ends.
      const silent = talk(srv.port, { local: '127.0.0.2' });
      await sleep(100);
      const next = talk(srv.port, { local: '127.0.0.3', send: 'PROXY TCP4 192.0.2.8 198.51.100.1 4000 25\r\nq\n' });
      t.equal(await silent, '', 'the silent client is closed');
      t.equal(await next, '220 192.0.2.8 198.51.100.1  none\ngot q\n', 'then the next one is served, as its header says');
      const log = await srv.waitLog(/ok \d+ me:198\.51\.100\.1:25 /);
      const dropAt = log.search(/proxy header: 127\.0\.0\.2:\d+: timed out/);
      const okAt = log.search(/ok \d+ me:198\.51\.100\.1:25 :192\.0\.2\.8::4000/);
      t.ok(dropAt >= 0 && okAt > dropAt, 'the waiting client held its -c slot: the next started only after its timeout');
    });

    t.test('a header sent byte by byte: read to its end, prog gets a blocking socket and the bytes after it', async (t) => {
      const srv = await startServer(TCPSVD, ['-l', 'me', '--proxy=127.0.0.0/8', '127.0.0.1', '0', 'sh', '-c',
        'echo "$TCPREMOTEIP:$TCPREMOTEPORT"; grep ^flags: /proc/self/fdinfo/0; IFS= read -r line; printf "got %s\\n" "$line"'],
      { ...baseEnv, ...L });
      t.teardown(() => srv.stop());
      const out = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ port: srv.port, host: '127.0.0.1' });
        let buf = '';
        const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer: ${buf}`)); }, 10_000);
        s.on('data', (d) => { buf += d; });
        s.on('error', (e) => { clearTimeout(timer); reject(e); });
        s.on('close', () => { clearTimeout(timer); resolve(buf); });
        s.on('connect', async () => {
          for (const ch of 'PROXY TCP6 2001:db8::7 2001:db8::1 5555 110\r\n') {
            s.write(ch);
            await sleep(10);
          }
          s.write('USER me\r\n');
        });
      });
      const [who, flags, got] = out.split('\n');
      t.equal(who, '2001:db8::7:5555');
      t.equal(got, 'got USER me\r');
      const m = /^flags:\s+([0-7]+)/.exec(flags ?? '');
      t.ok(m && (parseInt(m[1], 8) & 0o4000) === 0, `fd 0 is blocking (${flags})`);
    });

    t.test('v2 LOCAL keeps the socket\'s addresses; TLVs reach prog; TCPLOCALPORT is the header\'s', async (t) => {
      const srv = await startServer(TCPSVD, ['-l', 'me', '--proxy', '127.0.0.1', '127.0.0.1', '0', 'env'], { ...baseEnv, ...L });
      t.teardown(() => srv.stop());
      const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
      const local = Buffer.concat([sig, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
      const e1 = parseEnv(await talk(srv.port, { send: local, local: '127.0.0.1', end: true }));
      t.equal(e1.TCPREMOTEIP, '127.0.0.1', 'LOCAL: the socket\'s address');
      t.equal(e1.TCPLOCALPORT, '0', 'LOCAL: TCPLOCALPORT stays the port argument, as ipsvd sets it');
      t.notOk('PROXY_AUTHORITY' in e1, 'the server\'s own PROXY_AUTHORITY does not leak');
      const auth = Buffer.from('mail.example.org');
      const body = Buffer.concat([Buffer.from([192, 0, 2, 1, 192, 0, 2, 2, 0x9c, 0x40, 0x00, 0x19]),
        Buffer.from([0x02, 0x00, auth.length]), auth]);
      const h = Buffer.concat([sig, Buffer.from([0x21, 0x11, 0x00, body.length]), body]);
      const e2 = parseEnv(await talk(srv.port, { send: h, end: true }));
      t.match(e2, { TCPREMOTEIP: '192.0.2.1', TCPREMOTEPORT: '40000', TCPLOCALIP: '192.0.2.2', TCPLOCALPORT: '25',
        PROXY_AUTHORITY: 'mail.example.org', PROTO: 'TCP' });
    });
  });
}

t.test('bad --proxy values: a message naming the value, exit 100', async (t) => {
  for (const [cmd, args] of [[TCPSVD, ['--proxy=10.0.0.0/40']], [TCPSERVER, ['--proxy=10.0.0.0/40']]] as const) {
    const r = spawnSync(cmd, [...args, '127.0.0.1', '0', 'true'], { timeout: 10000, env: { PATH: '/usr/bin:/bin' } });
    t.equal(r.status, 100, path.basename(cmd));
    t.match(String(r.stderr), new RegExp(`^${path.basename(cmd)}: bad --proxy value: "10\\.0\\.0\\.0/40": want .*\\(bad prefix length: 10\\.0\\.0\\.0/40\\)\\n`));
  }
  const r = spawnSync(TCPSVD, ['--proxy-timeout=3', '127.0.0.1', '0', 'true'], { timeout: 10000 });
  t.equal(r.status, 100);
  t.match(String(r.stderr), /--proxy-timeout without --proxy/);
});
