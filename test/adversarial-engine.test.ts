// The engine under attack: long queues of held clients, PROXY headers cut
// short, a status file's temporary name taken over, slow metrics scrapers,
// durations past what a Node timer holds. Each server runs in its own
// process group (helpers/common.ts spawn), killed at the end whatever happened.
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { descendants, needReference, ours, reference, scratch, sleep, waitFor } from './helpers/common';
import { launchers, listeners, startServer, talk, tcpConnectionCount } from './helpers/net';

t.setTimeout(600000);

const tmp = scratch('adversarial-engine');

/** A peers directory: 127.0.0.1 allowed, everyone else denied. */
function peers(dir: string): string {
  const d = path.join(dir, 'peers');
  mkdirSync(d);
  writeFileSync(path.join(d, '127.0.0.1'), '');
  writeFileSync(path.join(d, '0'), '');
  chmodSync(path.join(d, '0'), 0o000);
  return d;
}

/** n connections from 127.0.0.2 and up, open; onEach(socket) right after connect. */
function hold(port: number, n: number, onEach: (s: net.Socket) => void = () => {}): net.Socket[] {
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.${1 + (i >> 8) % 200}.${2 + (i & 0x7f)}` });
    s.on('error', () => {});
    s.on('connect', () => onEach(s));
    socks.push(s);
  }
  t.teardown(() => { for (const s of socks) s.destroy(); });
  return socks;
}

function closed(socks: net.Socket[]): number {
  return socks.filter((s) => s.closed).length;
}

t.test('pure-Node path: thousands of held clients drain without growing the stack', async (t) => {
  const N = 3000;
  const cases = [
    { name: 'denied by the rules', proxy: false },
    { name: 'trusted PROXY clients that hang up half-way through their header', proxy: true },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const dir = tmp('drain');
      const args = ['-c', '1', '-b', '4096', '-l0', '-i', peers(dir)];
      if (c.proxy) args.push('--proxy=127.0.0.0/8');
      const srv = await startServer(ours('tcpsvd'), [...args, '127.0.0.1', '0', 'sh', '-c', 'read x; echo ok'],
        { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: 'spawn' });
      t.teardown(() => srv.stop());
      // The one slot: 127.0.0.1 (with its header when PROXY is on), holding until it sends a line.
      const first = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.1' });
      first.on('error', () => {});
      t.teardown(() => first.destroy());
      let answer = '';
      first.on('data', (d) => { answer += d; });
      if (c.proxy) first.write('PROXY TCP4 127.0.0.1 127.0.0.1 1000 2000\r\n');
      await waitFor('the first client\'s prog started', () => descendants(srv.proc.pid!).length > 0);
      const socks = hold(srv.port, N, (s) => { if (c.proxy) s.end('PROXY TCP4 127.0.0.'); });
      // Every one of them accepted and held in the server.
      await waitFor(`${N} clients held`, () => tcpConnectionCount(srv.proc.pid!) >= N, 60000);
      first.write('go\n');
      await waitFor('all held clients closed', () => closed(socks) === N || srv.proc.exitCode !== null, 120000);
      t.equal(srv.proc.exitCode, null, 'the server is still running');
      t.notMatch(srv.stderr(), /Maximum call stack|RangeError/, 'no stack overflow');
      t.equal(closed(socks), N, 'every held client was answered (closed)');
      t.equal(answer, 'ok\n', 'the first client was served');
      t.equal(await talk(srv.port, { local: '127.0.0.1', send: c.proxy ? 'PROXY TCP4 127.0.0.1 127.0.0.1 1 2\r\nx\n' : 'x\n' }),
        'ok\n', 'and the next is served');
    });
  }
});

t.test('--status: a FIFO or a symlink where a temporary file could be neither stops the server nor is followed', async (t) => {
  const dir = tmp('status');
  const file = path.join(dir, 'st.json');
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'untouched\n');
  const srv = await startServer(ours('tcpsvd'), ['-l0', `--status=${file}`, '--status-interval=10', '127.0.0.1', '0', 'echo', 'ok'],
    { PATH: '/usr/bin:/bin' });
  t.teardown(() => srv.stop());
  const accepted = () => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')).accepted as number;
    } catch {
      return -1;
    }
  };
  await waitFor('the first status', () => accepted() === 0);
  // What a user could put at the names the file was once written through.
  const r = spawnSync('mkfifo', [file + '.tmp']);
  t.equal(r.status, 0, 'mkfifo');
  symlinkSync(victim, path.join(dir, '.st.json.tmp'));
  t.equal(await talk(srv.port), 'ok\n', 'a client is served');
  await waitFor('the status counts it', () => accepted() === 1, 8000).catch(() => undefined);
  t.equal(accepted(), 1, 'the status was written');
  t.equal(await talk(srv.port), 'ok\n', 'the next client is served: the server never waited on the FIFO');
  await waitFor('the status counts it', () => accepted() === 2, 8000).catch(() => undefined);
  t.equal(accepted(), 2, 'and the status written again');
  t.equal(readFileSync(victim, 'utf8'), 'untouched\n', 'no symlink was followed');
  t.same(readdirSync(dir).sort(), ['.st.json.tmp', 'st.json', 'st.json.tmp', 'victim'], 'no temporary file left behind');
  // FILE itself a symlink: replaced, not followed.
  rmSync(file);
  symlinkSync(victim, file);
  t.equal(await talk(srv.port), 'ok\n', 'a client is served');
  await waitFor('the status counts it', () => accepted() === 3, 8000).catch(() => undefined);
  t.equal(accepted(), 3, 'the status was written in place of the link');
  t.equal(readFileSync(victim, 'utf8'), 'untouched\n', 'the link was not followed');
});

t.test('--status: a failed write is said once, and serving goes on', async (t) => {
  const dir = tmp('status-fail');
  const sub = path.join(dir, 'sub');
  mkdirSync(sub);
  const file = path.join(sub, 'st.json');
  const srv = await startServer(ours('tcpsvd'), ['-l0', `--status=${file}`, '--status-interval=10', '127.0.0.1', '0', 'echo', 'ok'],
    { PATH: '/usr/bin:/bin' });
  t.teardown(() => srv.stop());
  await waitFor('the first status', () => existsSync(file));
  // FILE a directory now: every rename fails.
  rmSync(file);
  mkdirSync(file);
  for (let i = 0; i < 3; i++) t.equal(await talk(srv.port), 'ok\n', `client ${i} served`);
  await srv.waitLog(/unable to write status file/);
  await sleep(200);
  t.equal(srv.stderr().match(/unable to write status file/g)?.length, 1, 'said once');
  t.match(srv.stderr(), /tcpsvd: warning: unable to write status file: .*st\.json: is a directory/, 'in the originals\' words');
  t.same(readdirSync(sub), ['st.json'], 'no temporary file left behind');
});

/** One GET of the metrics endpoint: the answer's text, or why there was none. */
function scrape(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const k = setTimeout(() => { s.destroy(); resolve(got + '<no end>'); }, 15000);
    s.on('data', (d) => { got += d; });
    s.on('error', (e) => { clearTimeout(k); resolve(got + `<${(e as NodeJS.ErrnoException).code}>`); });
    s.on('close', () => { clearTimeout(k); resolve(got); });
    s.on('connect', () => s.write('GET /metrics HTTP/1.0\r\n\r\n'));
  });
}

t.test('--metrics: clients that trickle their request never lock the scraper out', async (t) => {
  for (const n of [4, 40]) {
    t.test(`${n} slow clients, a byte every 500 ms`, async (t) => {
      const dir = tmp('metrics');
      const file = path.join(dir, 'st.json');
      const srv = await startServer(ours('tcpsvd'), ['-l0', `--status=${file}`, '--metrics=127.0.0.1:0',
        '127.0.0.1', '0', 'echo', 'ok'], { PATH: '/usr/bin:/bin' });
      t.teardown(() => srv.stop());
      const port = await waitFor('the status names the metrics port', () => {
        try {
          return Number(/:(\d+)$/.exec(JSON.parse(readFileSync(file, 'utf8')).metrics)![1]);
        } catch {
          return undefined;
        }
      });
      const slow: net.Socket[] = [];
      const drip: NodeJS.Timeout[] = [];
      t.teardown(() => { for (const k of drip) clearInterval(k); for (const s of slow) s.destroy(); });
      for (let i = 0; i < n; i++) {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.on('error', () => {});
        slow.push(s);
        drip.push(setInterval(() => { if (!s.destroyed) s.write('x'); }, 500));
      }
      await waitFor('the slow clients connected', () => slow.every((s) => !s.connecting));
      t.match(await scrape(port), /^HTTP\/1\.0 200 OK\r\n[\s\S]*\nucspi_accepted_total 0\n/, 'the scraper is answered');
      await waitFor('every slow client cut off at its deadline', () => slow.every((s) => s.closed), 15000).catch(() => undefined);
      t.equal(slow.filter((s) => s.closed).length, n, 'every slow client cut off, though it kept sending');
      t.match(await scrape(port), /^HTTP\/1\.0 200 OK\r\n/, 'and the next scrape is answered');
    });
  }
});

t.test('rule sources swapped mid-run for garbage, an empty file, a file, a FIFO, links: the reference\'s lines, never a freeze', async (t) => {
  const kinds = [
    { name: 'tcpsvd -x', cmd: 'tcpsvd', flag: '-x', cdb: true },
    { name: 'tcpsvd -i', cmd: 'tcpsvd', flag: '-i', cdb: false },
    { name: 'tcpserver -x', cmd: 'tcpserver', flag: '-x', cdb: true },
  ];
  for (const k of kinds) {
    t.test(k.name, needReference(k.cmd), async (t) => {
      /** The drop lines of each step, the rules' directory written DIR. */
      const run = async (bin: string, withFifo: boolean) => {
        const dir = tmp('swap');
        const target = path.join(dir, k.cdb ? 'rules.cdb' : 'peers');
        const good = path.join(dir, 'good');
        if (k.cmd === 'tcpserver') {
          spawnSync(ours('tcprules'), [good, good + '.tmp'], { input: ':allow\n' });
        } else {
          mkdirSync(path.join(dir, 'src'));
          writeFileSync(path.join(dir, 'src', '0'), '');
          if (k.cdb) spawnSync(ours('ipsvd-cdb'), [good, good + '.tmp', path.join(dir, 'src')]);
        }
        const goodPath = k.cdb ? good : path.join(dir, 'src');
        symlinkSync(goodPath, target);
        const args = k.cmd === 'tcpserver' ? ['-v', '-H', '-R', '-l0'] : ['-l0'];
        const srv = await startServer(bin, [...args, k.flag, target, '127.0.0.1', '0', 'echo', 'ok'], { PATH: '/usr/bin:/bin' });
        t.teardown(() => srv.stop());
        const swap = (make: (p: string) => void) => {
          const next = path.join(dir, 'next');
          rmSync(next, { recursive: true, force: true });
          make(next);
          renameSync(next, target);
        };
        const steps: Array<[string, () => void]> = [
          ['garbage', () => swap((p) => writeFileSync(p, 'garbage'))],
          ['empty', () => swap((p) => writeFileSync(p, ''))],
          ['dangling link', () => swap((p) => symlinkSync(path.join(dir, 'nowhere'), p))],
          ['link to good', () => swap((p) => symlinkSync(goodPath, p))],
        ];
        if (withFifo) steps.push(['FIFO', () => swap((p) => spawnSync('mkfifo', [p]))], ['good again', () => swap((p) => symlinkSync(goodPath, p))]);
        const out: string[] = [];
        for (const [name, make] of steps) {
          make();
          const before = srv.stderr().length;
          const answer = await talk(srv.port, { ms: 8000 }).catch((e) => `<${(e as Error).message}>`);
          const dropLines = () => srv.stderr().slice(before).split('\n').filter((l) => /drop|unable/.test(l));
          // The line of a dropped client may come after its close.
          if (answer !== 'ok\n') await waitFor('its line', () => dropLines().length > 0, 3000).catch(() => undefined);
          const lines = dropLines().map((l) => l.split(dir).join('DIR'));
          out.push(`${name}: ${JSON.stringify(answer)} ${lines.join(' | ')}`);
        }
        return out;
      };
      const want = await run(reference(k.cmd), false);
      const got = await run(ours(k.cmd), true);
      t.same(got.slice(0, want.length), want, 'the same answers and lines as the reference');
      t.match(got[want.length], /^FIFO: "" .*(not a regular file|not a directory)/, 'a FIFO drops the client, no freeze');
      t.equal(got[want.length + 1], 'good again: "ok\\n" ', 'and serving goes on');
    });
  }
});

t.test('tcpstatus: a FIFO or a huge file in place of the status file is refused, never waited on', async (t) => {
  const dir = tmp('tcpstatus');
  const fifo = path.join(dir, 'fifo.json');
  t.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const huge = path.join(dir, 'huge.json');
  writeFileSync(huge, '');
  spawnSync('truncate', ['-s', '2G', huge]);
  for (const [file, why] of [[fifo, 'not a regular file'], [huge, 'file too big']]) {
    const r = spawnSync(ours('tcpstatus'), [file], { timeout: 20000, encoding: 'utf8' });
    t.equal(r.status, 111, `${path.basename(file)}: exit 111`);
    t.equal(r.stderr, `tcpstatus: warning: unable to read ${file}: ${why}\n`, 'said why');
  }
});

t.test('pure-Node path: clients that connect and hang up while -c is full cost no more descriptors than the backlog', async (t) => {
  const srv = await startServer(ours('tcpsvd'), ['-l0', '-c', '1', '-b', '20', '127.0.0.1', '0', 'sh', '-c', 'read x; echo ok'],
    { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: 'spawn' });
  t.teardown(() => srv.stop());
  const pid = srv.proc.pid!;
  const fds = () => readdirSync(`/proc/${pid}/fd`).length;
  const holder = net.connect({ port: srv.port, host: '127.0.0.1' });
  holder.on('error', () => {});
  t.teardown(() => holder.destroy());
  let answer = '';
  holder.on('data', (d) => { answer += d; });
  await waitFor('the holder\'s prog started', () => descendants(pid).length > 0);
  const base = fds();
  // 2,000 clients, 200 at a time, each gone as soon as it is connected.
  for (let b = 0; b < 2000; b += 200) {
    await Promise.all(Array.from({ length: 200 }, (_, i) => new Promise<void>((resolve) => {
      const n = b + i;
      const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: `127.0.${1 + (n >> 7) % 200}.${2 + (n & 0x7f)}` });
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.on('connect', () => s.destroy());
    })));
  }
  await waitFor('every client accepted', () => listeners(pid)[0]?.queued === 0);
  t.ok(fds() <= base + 20, `descriptors: ${fds()}, idle with the holder ${base}, backlog 20`);
  holder.write('go\n');
  await waitFor('the holder answered', () => answer === 'ok\n');
  // The held ones (at most -b) are served in turn first: a client that comes
  // while -b of them still wait is closed, as a full backlog refuses it.
  await waitFor('the held clients served', () => descendants(pid).length === 0 && fds() <= base, 30000);
  t.equal(await talk(srv.port, { send: 'x\n' }), 'ok\n', 'the next client is served');
});

t.test('--status: the wall clock stepping back does not hold the next write back', async (t) => {
  const { StatusFile } = await import('../src/admission/status');
  const dir = tmp('clock');
  const file = path.join(dir, 'st.json');
  let n = 0;
  const sf = new StatusFile(file, 10, () => ({ n: ++n }) as never, () => {});
  sf.write();
  const realNow = Date.now;
  t.teardown(() => { Date.now = realNow; });
  Date.now = () => realNow() - 86400_000; // a day back, as after an NTP step
  sf.changed();
  await waitFor('the next write', () => JSON.parse(readFileSync(file, 'utf8')).n === 2, 5000).catch(() => undefined);
  t.equal(JSON.parse(readFileSync(file, 'utf8')).n, 2, 'written after the interval, not a day later');
});

t.test('PROXY headers cut at every byte, closed or stalled there: each client dropped, nothing kept', async (t) => {
  const v1 = Buffer.from('PROXY TCP4 192.0.2.7 127.0.0.1 1000 2000\r\n');
  const body = Buffer.concat([Buffer.from([192, 0, 2, 8, 127, 0, 0, 1, 0x03, 0xe8, 0x07, 0xd0]),
    Buffer.from([0x02, 0x00, 0x05]), Buffer.from('hello'), Buffer.from([0x05, 0x00, 0x03]), Buffer.from('abc')]);
  const v2 = Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([0x21, 0x11, 0, body.length]), body]);
  /** What the server sent before it closed, or '<open>' when it had not closed within ms. */
  const client = (port: number, data: Buffer, end: boolean, ms = 10000) => new Promise<string>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    const k = setTimeout(() => { s.destroy(); resolve('<open>'); }, ms);
    s.on('data', (d) => { got += d; });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(k); resolve(got); });
    s.on('connect', () => { if (end) s.end(data); else s.write(data); });
  });
  for (const l of launchers()) {
    t.test(l.name, { skip: l.skip }, async (t) => {
      const srv = await startServer(ours('tcpsvd'), ['-l0', '-c', '400', '--proxy=127.0.0.1', '--proxy-timeout=1',
        '127.0.0.1', '0', 'sh', '-c', 'echo "$TCPREMOTEIP"'], { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: l.name });
      t.teardown(() => srv.stop());
      const pid = srv.proc.pid!;
      const fds = () => readdirSync(`/proc/${pid}/fd`).length;
      const base = fds();
      for (const [name, h] of [['v1', v1], ['v2', v2]] as const) {
        const cuts = Array.from({ length: h.length }, (_, n) => h.subarray(0, n));
        const closed = await Promise.all(cuts.map((c) => client(srv.port, c, true)));
        t.same(closed.filter((x) => x !== ''), [], `${name}: closed at each of ${h.length} bytes: dropped, nothing run`);
        const stalled = await Promise.all(cuts.map((c) => client(srv.port, c, false)));
        t.same(stalled.filter((x) => x !== ''), [], `${name}: stalled at each byte: dropped at --proxy-timeout`);
      }
      const err = srv.stderr().split('\n').filter(Boolean);
      const n = v1.length + v2.length;
      t.equal(err.filter((x) => /: connection closed within the header$/.test(x)).length, n, 'each closed one said so');
      t.equal(err.filter((x) => /: timed out$/.test(x)).length, n, 'each stalled one timed out');
      t.equal(err.length, 2 * n, 'nothing else said');
      t.equal(await client(srv.port, Buffer.concat([v2, Buffer.from('x')]), false), '192.0.2.8\n', 'a whole header is served');
      await waitFor('descriptors back', () => fds() <= base, 5000).catch(() => undefined);
      t.ok(fds() <= base, `descriptors: ${fds()} (idle ${base})`);
    });
  }
});
