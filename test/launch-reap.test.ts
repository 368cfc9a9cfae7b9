// A child that has exited before the next client is accepted is logged
// first (its end line and the status line it frees), as the originals' SIGCHLD
// handler makes it, whether or not the launcher's reaper thread has got to it
// (native/launch.cc's LaunchReapNow, called from native/accept.cc).
//
// The reaper thread is held still with ptrace (PTRACE_SEIZE, then
// PTRACE_INTERRUPT on that one thread, from a small python3 helper): the first
// child exits and stays a zombie, and only the accept path can account it.
// Without that, the server would log "status: 2/2" for the second client.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { loadNative } from '../src/native';
import { ours, spawn, waitFor, which } from './helpers/common';
import { startServer } from './helpers/net';

const python = which('python3');
const SYS_WAITID = 247; // x86-64
const skip = process.arch !== 'x64' ? 'x86-64 only (the waitid system call number)'
  : !python ? 'needs python3 (ptrace through ctypes)'
    : !loadNative() ? 'the native addon is not built' : false;

// Seizes and stops one thread; prints "stopped"; detaches when stdin closes.
// A tracer that dies detaches its tracee too, so teardown cannot leave the
// server stopped.
const HOLD = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
tid = int(sys.argv[1])
for req in (0x4206, 0x4207):  # PTRACE_SEIZE, PTRACE_INTERRUPT
    if libc.ptrace(req, tid, None, None) != 0:
        print("ptrace failed: " + os.strerror(ctypes.get_errno()), flush=True)
        sys.exit(1)
os.waitpid(tid, 0x40000000)  # __WALL: the thread has stopped
print("stopped", flush=True)
sys.stdin.read()
libc.ptrace(17, tid, None, None)  # PTRACE_DETACH
`;

/** The server's threads blocked in waitid(2): the reaper, while a child lives. */
function waitingThreads(pid: number): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      if (fs.readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'latin1').split(' ')[0] === String(SYS_WAITID)) out.push(Number(tid));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

const state = (pid: number) => {
  try {
    return /^\S+ \(.*\) (\S)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))?.[1];
  } catch {
    return undefined;
  }
};

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.on('error', reject);
  });
}

const ORDER = [
  'tcpserver: status: 0/2',
  'tcpserver: status: 1/2',
  'tcpserver: pid N from 127.0.0.1',
  'tcpserver: end N status 0',
  'tcpserver: status: 0/2',
  'tcpserver: status: 1/2',
  'tcpserver: pid N from 127.0.0.1',
];
const startLines = (text: string) => text.split('\n').filter((l) => /^tcpserver: (status:|end|pid) /.test(l))
  .map((l) => l.replace(/(pid|end) \d+/, '$1 N'));

// A child started while no other is live is spawned on the main thread and
// watched there (a pidfd); its exit and the next client can then be ready
// in the same turn of the loop, the client ahead. The whole server is
// stopped while both happen, so that they are.
t.test('an exit and a client ready at once: the exit is logged first (main-thread child)', async (t) => {
  const srv = await startServer(ours('tcpserver'), ['-v', '-c', '2', '-HR', '-l0', '127.0.0.1', '0', 'sh', '-c', 'read x'], {
    PATH: process.env.PATH,
  });
  t.teardown(() => srv.stop());
  const pid = srv.proc.pid!;
  const first = await connect(srv.port);
  t.teardown(() => first.destroy());
  const child = Number((await srv.waitLog(/pid (\d+) from/)).match(/pid (\d+) from/)![1]);
  process.kill(pid, 'SIGSTOP');
  let second: net.Socket | undefined;
  try {
    // The client first, then the exit: the accept is ahead in the loop's
    // queue, and the exit must still be seen first, as the originals'
    // SIGCHLD handler runs before accept(2) returns.
    second = await connect(srv.port);  // the kernel completes the handshake: it waits in the backlog
    first.end('\n');
    await waitFor('the first child a zombie', () => state(child) === 'Z');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  t.teardown(() => second?.destroy());
  await waitFor('the second child started', () => (srv.stderr().match(/pid \d+ from/g) ?? []).length === 2);
  t.same(startLines(srv.stderr()), ORDER, 'the end and its status line come before the second client\'s status line');
  t.equal(state(child), undefined, 'the first child was reaped');
  second!.end('\n');
  await srv.waitLog(/end \d+ status 0[\s\S]*end \d+ status 0/);
});

t.test('an exit that happened before the accept is logged before it', { skip }, async (t) => {
  // UCSPI_SPAWN_INLINE=0: every child goes through the spawner and reaper
  // threads, whose waitid this test holds.
  const srv = await startServer(ours('tcpserver'), ['-v', '-c', '2', '-HR', '-l0', '127.0.0.1', '0', 'sh', '-c', 'read x'], {
    PATH: process.env.PATH, UCSPI_SPAWN_INLINE: '0',
  });
  t.teardown(() => srv.stop());
  const pid = srv.proc.pid!;

  const first = await connect(srv.port);
  t.teardown(() => first.destroy());
  const child = Number((await srv.waitLog(/pid (\d+) from/)).match(/pid (\d+) from/)![1]);
  const [reaper] = await waitFor('the reaper thread in waitid', () => {
    const w = waitingThreads(pid);
    return w.length === 1 && w;
  });

  const hold = spawn(python!, ['-c', HOLD, String(reaper)], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => { hold.stdin!.end(); });
  const said = await new Promise<string>((resolve) => {
    let out = '';
    hold.stdout!.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out); });
    hold.once('exit', () => resolve(out));
  });
  if (said !== 'stopped\n') {
    t.skip(`ptrace of the reaper thread refused: ${said.trim() || 'no answer'}`, async () => {});
    return;
  }

  // The first child ends; with the reaper stopped it stays a zombie.
  first.end('\n');
  await waitFor('the first child a zombie', () => state(child) === 'Z');
  const second = await connect(srv.port);
  t.teardown(() => second.destroy());
  await waitFor('the second child started', () => (srv.stderr().match(/pid \d+ from/g) ?? []).length === 2);

  t.same(startLines(srv.stderr()), ORDER, 'the end and its status line come before the second client\'s status line');
  t.equal(state(child), undefined, 'the zombie was reaped while the reaper thread was held');

  hold.stdin!.end();
  await new Promise<void>((resolve) => (hold.exitCode !== null ? resolve() : hold.once('exit', () => resolve())));
  second.end('\n');
  await srv.waitLog(/end \d+ status 0[\s\S]*end \d+ status 0/);
});
