// The README's main job: bin/demo (tcpsvd with the sample peers in front of
// rules/demo/greet) answered by rules/demo/try, as a person would run them.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, listeningPort, quietDnsAddr } from './helpers/net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every descendant of pid (from /proc's children lists). */
function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

t.test('bin/demo: greet behind the sample peers, as the README says', async (t) => {
  const demo = spawn(path.join(ROOT, 'bin', 'demo'), ['0'], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DNSCACHEIP: await quietDnsAddr() },
  });
  let log = '';
  demo.stdout!.on('data', (d) => { log += d; });
  demo.stderr!.on('data', (d) => { log += d; });
  t.teardown(() => {
    try {
      process.kill(-demo.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  });
  let port: number | undefined;
  for (const until = Date.now() + 15000; !port && Date.now() < until; await sleep(50)) {
    for (const p of descendants(demo.pid!)) port = port ?? listeningPort(p);
  }
  if (!port) throw new Error(`demo did not listen: ${log}`);
  const tryFrom = (src: string, input = '') => spawnSync(path.join(ROOT, 'rules', 'demo', 'try'), [src, String(port)],
    { input, encoding: 'utf8', timeout: 15000 }).stdout;

  t.match(tryFrom('127.0.0.1', 'hi\n'),
    /^hello 127\.0\.0\.1 port \d+; GREETING=hello; TCPCONCURRENCY=1\ntype a line:\nyou said: hi\n$/, 'file 0');
  t.match(tryFrom('127.0.0.4', 'x\n'), /GREETING=\(unset\)/, '+GREETING unsets it');
  t.equal(tryFrom('127.0.0.5'), 'bye\n', 'executable entry');
  t.equal(tryFrom('127.0.0.9'), '', 'denied: closed at once');
  t.match(tryFrom('127.0.0.200', 'x\n'), /GREETING=upper/, 'CIDR entry 127.0.0.128_25');
  const deny = /tcpsvd: info: deny \d+ localhost:127\.0\.0\.1 ::127\.0\.0\.9:\d+ /;
  for (const until = Date.now() + 5000; !deny.test(log) && Date.now() < until;) await sleep(20);
  t.match(log, /tcpsvd: info: listening on 127\.0\.0\.1:\d+, starting\./);
  t.match(log, deny, 'the deny line, with the -l name');
});
