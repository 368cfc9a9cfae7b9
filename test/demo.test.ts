// The README's main job: bin/demo (tcpsvd with the sample peers in front of
// rules/demo/greet) answered by rules/demo/try with its input from a pipe, as
// a person or a script would run them; bin/demo stopped by TERM and by Ctrl-C
// (as under npm: the shell gets SIGINT twice), which must take its tcpsvd and
// its peers copy with it; and `npm run demo` stopped by Ctrl-C.
//
// No case here builds: other test files run dist/ at the same time, and a
// build rewrites it under them. The suite runs on a built tree (`npm test`
// builds first), so the cases run bin/demo as built. The one case through npm
// sets UCSPI_DEMO_PREBUILT=1, which makes the "demo" script skip its build
// step and nothing else; that the script builds without it is checked on the
// script's text.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, argvOf, descendants, running, sleep, spawn, waitFor, which } from './helpers/common';
import { listeningPort, quietDnsAddr } from './helpers/net';

const TRY = path.join(ROOT, 'rules', 'demo', 'try');
const DEMO = path.join(ROOT, 'bin', 'demo');

// The cases are independent (port 0, a peers copy each): they run side by side.
t.jobs = 3;

/** The demo's tcpsvd under pid: its pid, port and peers directory, once it listens. */
async function demoServer(pid: number, log: () => string, ms = 60_000) {
  return waitFor(`the demo's tcpsvd to listen: ${log()}`, () => {
    for (const p of descendants(pid)) {
      const argv = argvOf(p);
      // Ours shows itself as tcpsvd (the name and arguments, with the addon) once Node runs.
      if (!(argv[0] === 'tcpsvd' || argv.some((a) => a.endsWith('/bin/tcpsvd')))) continue;
      const port = listeningPort(p);
      if (port) return { pid: p, port, peers: argv[argv.indexOf('-i') + 1] };
    }
    return undefined;
  }, ms);
}

/** bin/demo on port 0, the leader of its own process group (a shell's foreground job). */
async function startDemo() {
  const demo = spawn(DEMO, ['0'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DNSCACHEIP: await quietDnsAddr() },
  });
  let log = '';
  demo.stdout!.on('data', (d) => { log += d; });
  demo.stderr!.on('data', (d) => { log += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (r) => demo.once('exit', (code, signal) => r({ code, signal })));
  const srv = await demoServer(demo.pid!, () => log);
  return { demo, srv, exited, log: () => log };
}

/** Resolves with p, or with undefined after ms. */
function within<V>(p: Promise<V>, ms: number): Promise<V | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), ms); })])
    .finally(() => clearTimeout(timer));
}

t.test('bin/demo: greet behind the sample peers, as the README says; try reads a pipe; TERM stops it', async (t) => {
  const { demo, srv, exited, log } = await startDemo();
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
  await waitFor('the deny line', () => deny.test(log()), 5000);
  t.match(log(), /tcpsvd: info: listening on 127\.0\.0\.1:\d+, starting\./);

  // TERM to the shell alone (what npm passes on when it gets TERM).
  process.kill(demo.pid!, 'SIGTERM');
  t.same(await within(exited, 20_000), { code: 143, signal: null }, 'bin/demo exits 143 on TERM');
  await waitFor('tcpsvd to stop', () => !running(srv.pid), 15_000).catch(() => undefined);
  t.notOk(running(srv.pid), 'its tcpsvd stopped');
  t.notOk(fs.existsSync(srv.peers), 'its peers copy is removed');
});

t.test('bin/demo stopped by Ctrl-C, and SIGINT again while it cleans up: no tcpsvd left, no peers copy left', async (t) => {
  // A terminal's Ctrl-C sends SIGINT to the whole foreground group; npm then
  // passes its own SIGINT on to the script, so the shell gets a second one a
  // moment later. Here the second comes again and again for a while, so that
  // it lands at every point of the shell's cleanup.
  for (let round = 1; round <= 3; round++) {
    const { demo, srv, exited } = await startDemo();
    t.ok(fs.existsSync(srv.peers), `round ${round}: a peers copy while it runs`);
    process.kill(-demo.pid!, 'SIGINT');
    let done = false;
    void exited.then(() => { done = true; });
    for (const end = Date.now() + 400; !done && Date.now() < end; await sleep(1)) {
      try { process.kill(demo.pid!, 'SIGINT'); } catch { break; }
    }
    t.same(await within(exited, 20_000), { code: 130, signal: null }, `round ${round}: bin/demo exits 130`);
    await waitFor('tcpsvd to stop', () => !running(srv.pid), 15_000).catch(() => undefined);
    t.notOk(running(srv.pid), `round ${round}: its tcpsvd stopped`);
    t.notOk(fs.existsSync(srv.peers), `round ${round}: its peers copy removed`);
  }
});

const npm = which('npm');
t.test('npm run demo stopped by Ctrl-C: no tcpsvd left, no peers copy left', { skip: !npm && 'npm not on PATH' }, async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  // Without UCSPI_DEMO_PREBUILT the script builds first, and runs bin/demo only if the build succeeded.
  t.equal(pkg.scripts.demo, '{ [ "$UCSPI_DEMO_PREBUILT" = 1 ] || npm run build --silent; } && exec ./bin/demo',
    'the demo script: build unless told the tree is built, then bin/demo in the script\'s place');

  const env: NodeJS.ProcessEnv = { DNSCACHEIP: await quietDnsAddr(), UCSPI_DEMO_PREBUILT: '1' };
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] ??= v;
  // npm is the leader of a new process group, as a shell's foreground job is.
  const proc = spawn(npm!, ['run', 'demo', '--silent', '--', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d) => { log += d; });
  proc.stderr!.on('data', (d) => { log += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const srv = await demoServer(proc.pid!, () => log);
  t.ok(fs.existsSync(srv.peers), 'a peers copy while it runs');
  const r = spawnSync(TRY, ['127.0.0.1', String(srv.port)], { input: 'x\n', encoding: 'utf8', timeout: 15_000 });
  t.match(r.stdout, /you said: x/, 'serving');

  process.kill(-proc.pid!, 'SIGINT');
  await within(exited, 20_000);
  t.ok(proc.exitCode !== null || proc.signalCode !== null, 'npm exited');
  await waitFor('tcpsvd to stop', () => !running(srv.pid), 15_000).catch(() => undefined);
  t.notOk(running(srv.pid), 'its tcpsvd stopped');
  await waitFor('the peers copy to go', () => !fs.existsSync(srv.peers), 15_000).catch(() => undefined);
  t.notOk(fs.existsSync(srv.peers), 'its peers copy removed');
});
