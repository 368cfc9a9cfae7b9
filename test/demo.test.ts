// The README's main job: bin/demo (tcpsvd with the sample peers in front of
// rules/demo/greet) answered by rules/demo/try with its input from a pipe, as
// a person or a script would run them; and `npm run demo` stopped by Ctrl-C
// or by TERM to npm, which must take its tcpsvd and its peers copy with it.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, argvOf, descendants, running, spawn, waitFor, which } from './helpers/common';
import { listeningPort, quietDnsAddr } from './helpers/net';

const TRY = path.join(ROOT, 'rules', 'demo', 'try');

/** The demo's tcpsvd under pid: its pid, port and peers directory, once it listens. */
async function demoServer(pid: number, log: () => string, ms = 90_000) {
  return waitFor(`the demo's tcpsvd to listen: ${log()}`, () => {
    for (const p of descendants(pid)) {
      const argv = argvOf(p);
      if (!argv.some((a) => a.endsWith('/bin/tcpsvd'))) continue;
      const port = listeningPort(p);
      if (port) return { pid: p, port, peers: argv[argv.indexOf('-i') + 1] };
    }
    return undefined;
  }, ms);
}

t.test('bin/demo: greet behind the sample peers, as the README says; try reads a pipe', async (t) => {
  const demo = spawn(path.join(ROOT, 'bin', 'demo'), ['0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DNSCACHEIP: await quietDnsAddr() },
  });
  let log = '';
  demo.stdout!.on('data', (d) => { log += d; });
  demo.stderr!.on('data', (d) => { log += d; });
  const srv = await demoServer(demo.pid!, () => log, 15_000);
  t.teardown(() => { if (running(demo.pid!)) process.kill(demo.pid!, 'SIGTERM'); });
  // spawnSync's input is a pipe: try's standard input is never a terminal here.
  const tryFrom = (src: string, input = '') => spawnSync(TRY, [src, String(srv.port)],
    { input, encoding: 'utf8', timeout: 15_000 });

  const hi = tryFrom('127.0.0.1', 'hi\n');
  t.match(hi.stdout, /^hello 127\.0\.0\.1 port \d+; GREETING=hello; TCPCONCURRENCY=1\ntype a line:\nyou said: hi\n$/, 'file 0');
  t.same([hi.status, hi.stderr], [0, ''], 'exit 0 once the server closes');
  t.match(tryFrom('127.0.0.4', 'x\n').stdout, /GREETING=\(unset\)/, '+GREETING unsets it');
  // These two never read what try sends: the connection is reset, which is no error.
  const bye = tryFrom('127.0.0.5', 'unread\n');
  t.same([bye.stdout, bye.status, bye.stderr], ['bye\n', 0, ''], 'executable entry');
  const denied = tryFrom('127.0.0.9', 'unread\n');
  t.same([denied.stdout, denied.status, denied.stderr], ['', 0, ''], 'denied: closed at once');
  t.match(tryFrom('127.0.0.200', 'x\n').stdout, /GREETING=upper/, 'CIDR entry 127.0.0.128_25');
  const none = tryFrom('127.0.0.1', '');
  t.match(none.stdout, /type a line:\n$/, 'an empty pipe: the service sees EOF');
  const deny = /tcpsvd: info: deny \d+ localhost:127\.0\.0\.1 ::127\.0\.0\.9:\d+ /;
  await waitFor('the deny line', () => deny.test(log), 5000);
  t.match(log, /tcpsvd: info: listening on 127\.0\.0\.1:\d+, starting\./);

  process.kill(demo.pid!, 'SIGTERM');
  await waitFor('bin/demo to stop on TERM', () => !running(demo.pid!) && !running(srv.pid), 15_000);
  t.notOk(fs.existsSync(srv.peers), 'its peers copy is removed');
});

const npm = which('npm');
for (const how of ['Ctrl-C', 'TERM to npm'] as const) {
  // Ctrl-C: in some runs the peers copy outlives npm (bin/demo's INT trap
  // races tcpsvd's own death by SIGINT); open in the tracker, kept visible.
  const todo = how === 'Ctrl-C' ? 'Ctrl-C sometimes leaves the peers copy behind' : false;
  t.test(`npm run demo stopped by ${how}: no tcpsvd left, no peers copy left`, { skip: !npm && 'npm not on PATH', todo }, async (t) => {
    const env: NodeJS.ProcessEnv = { DNSCACHEIP: await quietDnsAddr() };
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] ??= v;
    // npm is the leader of a new process group, as a shell's foreground job is.
    const proc = spawn(npm!, ['run', 'demo', '--silent', '--', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout!.on('data', (d) => { log += d; });
    proc.stderr!.on('data', (d) => { log += d; });
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const srv = await demoServer(proc.pid!, () => log); // npm run demo builds first
    t.ok(fs.existsSync(srv.peers), 'a peers copy while it runs');
    const r = spawnSync(TRY, ['127.0.0.1', String(srv.port)], { input: 'x\n', encoding: 'utf8', timeout: 15_000 });
    t.match(r.stdout, /you said: x/, 'serving');

    // A terminal's Ctrl-C sends SIGINT to the whole foreground group.
    if (how === 'Ctrl-C') process.kill(-proc.pid!, 'SIGINT');
    else process.kill(proc.pid!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    t.ok(proc.exitCode !== null || proc.signalCode !== null, 'npm exited');
    await waitFor('tcpsvd to stop', () => !running(srv.pid), 15_000).catch(() => undefined);
    t.notOk(running(srv.pid), 'its tcpsvd stopped');
    await waitFor('the peers copy to go', () => !fs.existsSync(srv.peers), 15_000).catch(() => undefined);
    t.notOk(fs.existsSync(srv.peers), 'its peers copy removed');
  });
}
