// --socket-activation: tcpsvd and tcpserver started by systemd-socket-activate
// (systemd's test tool for sd_listen_fds(3) programs) serve the socket it
// passes as fd 3: rules apply, prog's environment names that socket, and
// LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES never reach prog. Wrong setups
// are refused with a message and exit 100.
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BIN, freePortOn, launchers, listeners, parseEnv, quietDnsAddr, talk } from './helpers/net';
import { peersDir, rulesCdb } from './helpers/frontdoor';
import { killGroup, needPackage, scratch, sleep, spawn, which } from './helpers/common';

const TCPSVD = path.join(BIN, 'tcpsvd');
const TCPSERVER = path.join(BIN, 'tcpserver');
const ACTIVATE = which('systemd-socket-activate') ??
  (existsSync('/usr/bin/systemd-socket-activate') ? '/usr/bin/systemd-socket-activate' : undefined);
const NO_ACTIVATE = needPackage('systemd', ACTIVATE !== undefined, 'systemd-socket-activate');
const tmp = scratch('frontdoor-activation')('t'); // removed when the file's tests end

interface Activated {
  proc: ChildProcess;
  ports: number[];
  output(): string;
  exit: Promise<number | null>;
  stop(): void;
}

/**
 * systemd-socket-activate listening on `count` free ports of 127.0.0.1, then
 * (at the first connection) running cmd(ports) with the sockets from fd 3; env:
 * the variables it passes on. A taken port is retried, a bounded number of times.
 */
async function activate(count: number, env: Record<string, string>, cmd: (ports: number[]) => string[]): Promise<Activated> {
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePortOn('127.0.0.1'));
    const args = [...ports.flatMap((p) => ['-l', `127.0.0.1:${p}`]), '--fdname=front',
      ...Object.entries(env).flatMap(([k, v]) => ['-E', `${k}=${v}`]), ...cmd(ports)];
    const proc = spawn(ACTIVATE!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    let exited = false;
    void exit.then(() => { exited = true; });
    const until = Date.now() + 8000;
    const all = () => ports.every((p) => listeners(proc.pid!).some((l) => l.port === p));
    while (!exited && Date.now() < until && !all()) await sleep(20);
    if (!exited && all()) return { proc, ports, output: () => out, exit, stop: () => killGroup(proc.pid) };
    killGroup(proc.pid);
    last = out;
  }
  throw new Error(`systemd-socket-activate did not listen: ${last}`);
}

async function waitOutput(a: Activated, re: RegExp, ms = 8000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (re.test(a.output())) return a.output();
    await sleep(20);
  }
  throw new Error(`output never matched ${re}: ${a.output()}`);
}

/** Resolves with the exit code, or null when the process is still running after ms (then it is killed). */
async function exitWithin(a: Activated, ms = 10_000): Promise<number | null> {
  const timeout = sleep(ms).then(() => undefined);
  const code = await Promise.race([a.exit, timeout]);
  if (code === undefined) { a.stop(); return null; }
  return code;
}



const SERVERS = [
  { name: 'tcpsvd', cmd: TCPSVD, args: () => ['-v', '-l', 'me', '-i', peersDir(tmp)], listening: /listening on 127\.0\.0\.1:(\d+), starting/ },
  { name: 'tcpserver', cmd: TCPSERVER, args: () => ['-v', '-HR', '-l', 'me', '-x', rulesCdb(tmp)], listening: /status: 0\/40/ },
];

for (const l of launchers()) {
  t.test(`launcher ${l.name}`, { skip: l.skip || NO_ACTIVATE }, async (t) => {
    const dns = await quietDnsAddr();
    const env = { PATH: '/usr/bin:/bin', DNSCACHEIP: dns, UCSPI_LAUNCHER: l.name, FOO: 'bar' };

    for (const s of SERVERS) {
      for (const portArg of ['-', 'port']) {
        t.test(`${s.name}: served, rules applied, environment right (port argument ${portArg})`, async (t) => {
          // The port argument: "-", or the socket's own port.
          const act = await activate(1, env, (ports) =>
            [s.cmd, ...s.args(), '--socket-activation', '-', portArg === '-' ? '-' : String(ports[0]), '/usr/bin/env']);
          t.teardown(() => act.stop());
          const port = act.ports[0];
          const five = parseEnv(await talk(port, { local: '127.0.0.5' }));
          t.match(five, { TCPREMOTEIP: '127.0.0.5', TCPLOCALIP: '127.0.0.1', TCPLOCALPORT: String(port), GREETING: 'hello-five', FOO: 'bar', PROTO: 'TCP' });
          for (const v of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) t.notOk(v in five, `${v} not passed to prog`);
          t.equal(await talk(port, { local: '127.0.0.9' }), '', 'denied by the rules');
          const again = parseEnv(await talk(port, { local: '127.0.0.7' }));
          t.equal(again.TCPREMOTEIP, '127.0.0.7', 'still serving');
          const out = await waitOutput(act, /deny|127\.0\.0\.9/);
          const m = s.listening.exec(out);
          t.ok(m, 'started');
          if (m && m[1]) t.equal(m[1], String(port), 'the log names the passed socket\'s port');
          t.equal(listeners(act.proc.pid!).map((x) => x.port).join(), String(port), 'no socket of its own bound');
        });
      }
    }

    t.test('another port than the passed socket\'s is refused', async (t) => {
      const a = await activate(1, env, () => [TCPSVD, '--socket-activation', '0', '1', 'true']);
      t.teardown(() => a.stop());
      const c = net.connect({ port: a.ports[0], host: '127.0.0.1' });
      c.on('error', () => {});
      t.teardown(() => c.destroy());
      t.equal(await exitWithin(a), 100);
      t.match(a.output(), new RegExp(`tcpsvd: fatal: socket activation: port 1 given, the passed socket listens on ${a.ports[0]}\\n`));
    });

    t.test('several sockets are refused with a clear error', async (t) => {
      const a = await activate(2, env, () => [TCPSERVER, '--socket-activation', '-', '-', 'true']);
      t.teardown(() => a.stop());
      const c = net.connect({ port: a.ports[0], host: '127.0.0.1' });
      c.on('error', () => {});
      t.teardown(() => c.destroy());
      t.equal(await exitWithin(a), 100);
      t.match(a.output(), /tcpserver: fatal: socket activation: 2 sockets passed \(LISTEN_FDS=2\): one is served/);
    });
  });
}

t.test('no socket passed, or passed to another process: exit 100 with the reason', async (t) => {
  const run = (cmd: string, extra: Record<string, string>) =>
    spawnSync(cmd, ['--socket-activation', '-', '-', 'true'], { timeout: 10_000, env: { PATH: '/usr/bin:/bin', ...extra } });
  const none = run(TCPSVD, {});
  t.equal(none.status, 100);
  t.equal(String(none.stderr), 'tcpsvd: fatal: socket activation: no socket passed: LISTEN_PID and LISTEN_FDS are not set\n');
  const other = run(TCPSERVER, { LISTEN_PID: '1', LISTEN_FDS: '1' });
  t.equal(other.status, 100);
  t.match(String(other.stderr), /^tcpserver: fatal: socket activation: no socket passed: LISTEN_PID is 1, this process is \d+\n$/);
  // fd 3 that is no listening socket: ours given a regular file through a shell that sets LISTEN_PID to itself.
  const file = path.join(tmp, 'not-a-socket');
  writeFileSync(file, '');
  for (const launcher of ['native', 'spawn']) {
    const r = spawnSync('/bin/sh', ['-c', `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --socket-activation - - true 3<"$1"`, TCPSVD, file],
      { timeout: 10_000, env: { PATH: '/usr/bin:/bin', UCSPI_LAUNCHER: launcher } });
    if (launcher === 'native' && /native launcher is not available/.test(String(r.stderr))) continue;
    t.equal(r.status, 111, `${launcher}: fd 3 no socket`);
    t.match(String(r.stderr), /^tcpsvd: fatal: socket activation: unable to use the passed socket: /, launcher);
  }
});
