// What every command is from its first instant, whatever it serves
// (bin/ written by scripts/launcher.js, scripts/banner.js):
// - SIGUSR1 at any moment never opens Node's inspector (a debugger on
//   127.0.0.1:9229 in a root process is a local root shell);
// - the process is called by the command's name (/proc/PID/comm: pidof,
//   pgrep -x, killall), and with the addon ps shows its arguments;
// - a signal ignored at start stays ignored, for the command and for the
//   programs it starts, as under Debian's tcpsvd (nohup);
// - bin/ finds the Node that wrote it without PATH, and works through
//   #!/bin/sh where env -S is missing (BusyBox).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ChildProcess, spawnSync } from 'node:child_process';
import tap from 'tap';
import { BIN, ROOT, argvOf, killGroup, needReference, ours, reference, scratch, sleep, spawn, waitFor } from './helpers/common';
import { freePortOn } from './helpers/net';

const tmp = scratch('startup');
const addonBuilt = fs.existsSync(path.join(ROOT, 'build', 'Release', 'ucspi.node'));

/** Socket inodes of pid's descriptors. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[] = [];
  try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { return out; }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

/** Whether pid listens on TCP port 9229 (the inspector's), IPv4 or IPv6. */
function inspectorListening(pid: number): boolean {
  const mine = socketInodes(pid);
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(table, 'latin1'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[1].endsWith(':2405') && f[3] === '0A' && mine.has(f[9])) return true;
    }
  }
  return false;
}

interface Cmd { name: string; args: (dir: string) => string[]; prepare?: (dir: string) => void; stdin?: 'pipe' }

const svc = (dir: string) => {
  fs.mkdirSync(path.join(dir, 'svc'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'svc', 'run'), '#!/bin/sh\nexec sleep 100\n', { mode: 0o755 });
};
const conf = (dir: string) => fs.writeFileSync(path.join(dir, 'inetd.conf'), '');

// Every command that keeps running, and one chain-loading tool (its Node
// runs only until the exec).
const COMMANDS: Cmd[] = [
  { name: 'tcpsvd', args: () => ['127.0.0.1', '0', 'cat'] },
  { name: 'tcpserver', args: () => ['127.0.0.1', '0', 'cat'] },
  { name: 'udpsvd', args: () => ['127.0.0.1', '0', 'cat'] },
  { name: 'inetd', prepare: conf, args: (d) => ['-d', `--pidfile=${d}/inetd.pid`, `${d}/inetd.conf`] },
  { name: 'svscan', args: (d) => [d] },
  { name: 'runsvdir', args: (d) => [d] },
  { name: 'runsv', prepare: svc, args: (d) => [`${d}/svc`] },
  { name: 'supervise', prepare: svc, args: (d) => [`${d}/svc`] },
  { name: 'svlogd', args: (d) => [d], stdin: 'pipe' },
  { name: 'multilog', args: (d) => [`${d}/log`], stdin: 'pipe' },
  { name: 'readproctitle', args: () => ['..........'], stdin: 'pipe' },
  { name: 'chpst', args: () => ['sleep', '5'] },
];

function start(c: Cmd, dir: string, extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(ours(c.name), c.args(dir), {
    cwd: dir,
    stdio: [c.stdin ?? 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...extraEnv },
  });
}

tap.test('SIGUSR1 at any moment from 0 to 100 ms after start: no inspector, ever', async (t) => {
  const DELAYS = [0, 2, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100];
  await Promise.all(COMMANDS.map(async (c) => {
    for (const ms of DELAYS) {
      const dir = tmp(`usr1-${c.name}-${ms}`);
      c.prepare?.(dir);
      const p = start(c, dir);
      let err = '';
      p.stderr!.on('data', (b: Buffer) => { err += b.toString('latin1'); });
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      await sleep(ms);
      try { p.kill('SIGUSR1'); } catch { /* already gone */ }
      // The inspector binds within a few ms of the signal when it opens:
      // look several times over 400 ms.
      let seen = false;
      for (let i = 0; i < 8 && !seen; i++) {
        await sleep(50);
        seen = p.exitCode === null && p.signalCode === null && inspectorListening(p.pid!);
      }
      killGroup(p.pid);
      await exited;
      if (seen || /Debugger listening/.test(err)) t.fail(`${c.name}: SIGUSR1 after ${ms} ms opened the inspector`);
    }
    t.pass(`${c.name}: no inspector for SIGUSR1 at ${DELAYS.join(', ')} ms`);
  }));
});

tap.test('SIGUSR1 once started: the process dies of it, as the original', { ...needReference('tcpsvd') }, async (t) => {
  if (!addonBuilt) t.comment('without the addon ours keeps SIGUSR1 blocked (lost): only the original is checked');
  for (const cmd of addonBuilt ? [reference('tcpsvd'), ours('tcpsvd')] : [reference('tcpsvd')]) {
    const p = spawn(cmd, ['127.0.0.1', '0', 'cat'], { stdio: 'ignore' });
    const done = new Promise<string | null>((r) => p.once('exit', (_c, s) => r(s)));
    await sleep(1500);
    p.kill('SIGUSR1');
    t.equal(await Promise.race([done, sleep(5000).then(() => 'still running')]), 'SIGUSR1', `${cmd}: killed by SIGUSR1`);
    killGroup(p.pid);
  }
});

/** /proc/pid/comm, trimmed. */
const comm = (pid: number) => fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim();

tap.test('each long-running command is called by its name', async (t) => {
  for (const native of addonBuilt ? [true, false] : [false]) {
    // Without the addon, chpst runs its program as a child (no exec to
    // check), and udpsvd does not run (it needs the addon's socket).
    for (const c of native ? COMMANDS : COMMANDS.filter((x) => x.name !== 'chpst' && x.name !== 'udpsvd')) {
      const dir = tmp(`comm-${c.name}-${native}`);
      c.prepare?.(dir);
      const p = start(c, dir, native ? {} : { UCSPI_NO_NATIVE: '1' });
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      try {
        // Without the addon the name is the title's first 15 bytes: readproctitle's is its window too.
        const wanted = c.name === 'chpst' ? 'sleep' : !native && c.name === 'readproctitle' ? 'readproctitle .' : c.name;
        const label = `${c.name}${native ? '' : ' (no addon)'}`;
        // The sh prelude is called by the script's name too: look once Node runs (or chpst's program).
        const exe = c.name === 'chpst' ? 'sleep' : path.basename(process.execPath);
        const inNode = () => { try { return path.basename(fs.readlinkSync(`/proc/${p.pid}/exe`)) === exe; } catch { return false; } };
        // Node's own name is node until the bundle's first line has run.
        await waitFor(`${label} named`, () => inNode() && comm(p.pid!) === wanted, 10000).catch(() => undefined);
        let got = 'gone';
        try { got = comm(p.pid!); } catch { /* gone */ }
        t.equal(got, wanted, `${label}: comm is ${wanted}`);
        if (native && c.name === 'tcpsvd') {
          const argv = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
          t.equal(argv, 'tcpsvd 127.0.0.1 0 cat', 'ps shows the name and the arguments, as for the original');
        }
      } finally {
        killGroup(p.pid);
        await exited;
      }
    }
  }
  // pidof finds it by that name.
  const dir = tmp('pidof');
  const p = spawn(ours('tcpsvd'), ['127.0.0.1', '0', 'cat'], { cwd: dir, stdio: 'ignore' });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  await waitFor('tcpsvd named', () => { try { return argvOf(p.pid!)[0] === 'tcpsvd' || (!addonBuilt && comm(p.pid!) === 'tcpsvd' && path.basename(fs.readlinkSync(`/proc/${p.pid}/exe`)) === path.basename(process.execPath)); } catch { return false; } });
  const pidof = spawnSync('pidof', ['tcpsvd'], { encoding: 'utf8' });
  if (pidof.error) t.comment('no pidof here');
  else t.ok(pidof.stdout.split(/\s+/).includes(String(p.pid)), 'pidof tcpsvd lists it');
  killGroup(p.pid);
  await exited;
});

/** SigIgn of pid, as a number. */
function sigIgn(pid: number): bigint {
  const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? BigInt(`0x${m[1]}`) : -1n;
}

/** Connects to port and reads what the program says, to the end. */
async function readFrom(port: number): Promise<string> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.setTimeout(10000, () => { s.destroy(); reject(new Error('timed out')); });
  });
}

tap.test('SIGHUP ignored at start (nohup): the server survives HUP, its program inherits the ignored HUP',
  { ...needReference('tcpsvd') }, async (t) => {
    const prog = path.join(tmp('nohup'), 'sigign');
    fs.writeFileSync(prog, '#!/bin/sh\nsed -n "s/^SigIgn:[[:space:]]*//p" /proc/$$/status\n', { mode: 0o755 });
    const HUP = 1n, PIPE = 1n << 12n;
    const variants: Array<[string, string, NodeJS.ProcessEnv]> = [['Debian tcpsvd', reference('tcpsvd'), {}],
      ['ours, pure Node', ours('tcpsvd'), { UCSPI_NO_NATIVE: '1' }],
      ['ours, spawn launcher', ours('tcpsvd'), { UCSPI_LAUNCHER: 'spawn' }]];
    if (addonBuilt) variants.splice(1, 0, ['ours', ours('tcpsvd'), {}]);
    for (const [label, cmd, env] of variants) {
      const port = await freePortOn('127.0.0.1');
      const p = spawn('/bin/sh', ['-c', `trap '' HUP; exec "$0" -v 127.0.0.1 "$2" "$1"`, cmd, prog, String(port)],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
      // ipsvd's tcpsvd says -v's lines on stdout.
      let err = '';
      p.stdout!.on('data', (b: Buffer) => { err += b.toString('latin1'); });
      p.stderr!.on('data', (b: Buffer) => { err += b.toString('latin1'); });
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      try {
        await waitFor(`${label} listening`, () => /listening on/.test(err));
        p.kill('SIGHUP');
        await sleep(300);
        t.equal(p.exitCode ?? p.signalCode, null, `${label}: survives SIGHUP`);
        // Without the addon Node cannot ignore a signal: it catches HUP and drops it.
        if (!env.UCSPI_NO_NATIVE) t.equal(sigIgn(p.pid!) & HUP, HUP, `${label}: HUP is ignored in the server`);
        const childIgn = BigInt(`0x${(await readFrom(port)).trim()}`);
        t.equal(childIgn & HUP, HUP, `${label}: its program inherits HUP ignored`);
        t.equal(childIgn & PIPE, 0n, `${label}: SIGPIPE is the default again in the program`);
      } finally {
        killGroup(p.pid);
        await exited;
      }
    }
  });

tap.test('without SIGHUP ignored, HUP ends the server as it ends the original', { ...needReference('tcpsvd') }, async (t) => {
  for (const cmd of [reference('tcpsvd'), ours('tcpsvd')]) {
    const p = spawn(cmd, ['-v', '127.0.0.1', '0', 'cat'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stdout!.on('data', (b: Buffer) => { err += b.toString('latin1'); });
    p.stderr!.on('data', (b: Buffer) => { err += b.toString('latin1'); });
    const done = new Promise<string | null>((r) => p.once('exit', (_c, s) => r(s)));
    await waitFor('listening', () => /listening on/.test(err));
    p.kill('SIGHUP');
    t.equal(await Promise.race([done, sleep(5000).then(() => 'still running')]), 'SIGHUP', `${cmd}: killed by SIGHUP`);
    killGroup(p.pid);
  }
});

tap.test('bin/ finds its Node without PATH, and runs through #!/bin/sh where env -S is missing', async (t) => {
  const bare = { PATH: '/nonexistent' };
  const r = spawnSync(ours('tcprules'), [], { env: bare, encoding: 'utf8', timeout: 20000 });
  t.equal(r.status, 100, 'tcprules runs with no node on PATH (usage: 100)');
  t.match(r.stderr, /usage/, 'and says its usage');

  // The #!/bin/sh form, as written for a system whose env has no -S.
  const dir = tmp('plain-sh');
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.symlinkSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { launcher, closingFlags } = require(path.join(ROOT, 'scripts', 'launcher.js')) as {
    launcher: (node: string, flags: string[], splits: boolean) => string; closingFlags: (node: string) => string[];
  };
  const text = launcher(process.execPath, closingFlags(process.execPath), false);
  t.match(text, /^#!\/bin\/sh\n/, 'a plain sh script');
  fs.writeFileSync(path.join(dir, 'bin', 'tcpsvd'), text, { mode: 0o755 });
  const plain = spawnSync(path.join(dir, 'bin', 'tcpsvd'), ['-V'], { env: bare, encoding: 'utf8', timeout: 20000 });
  t.match(plain.stderr + plain.stdout, /tcpsvd/, 'tcpsvd -V through #!/bin/sh, no node on PATH');

  // Variables named like the prelude's own reach the program untouched.
  const envDump = spawnSync(ours('envdir'), [tmp('empty-env'), 'env'], {
    env: { PATH: '/usr/bin:/bin', c: 'C', n: 'N', w: 'W', words: 'WORDS', pass: 'P', fd: 'F' }, encoding: 'utf8', timeout: 20000,
  });
  for (const kv of ['c=C', 'n=N', 'w=W', 'words=WORDS', 'pass=P', 'fd=F']) {
    t.ok(envDump.stdout.split('\n').includes(kv), `${kv} reaches the program as given`);
  }
  t.notOk(/^(_u_|UCSPI_SIGIGN)/m.test(envDump.stdout), 'nothing of the prelude reaches it');
  t.ok(fs.readFileSync(path.join(BIN, 'tcpsvd'), 'latin1').includes(process.execPath), 'bin/ names the Node that built it');
});

tap.test('variables whose names are no shell identifiers reach the program, as through Debian\'s envdir', async (t) => {
  const compiled = fs.readFileSync(path.join(BIN, 'envdir')).subarray(0, 4).toString('latin1') === '\x7fELF';
  if (!compiled) return t.comment('bin/ is the sh form here (no compiled launcher): a shell drops such names (README)');
  const env = { PATH: '/usr/bin:/bin', 'CERTFILE:a.example': '/etc/a.pem', 'a.b': 'x', '1x': 'y', 'NODE_PATH.x': 'z' };
  // (NODE_OPTIONS itself is tap's, which adds to it in every child.)
  const want = ['CERTFILE:a.example=/etc/a.pem', 'a.b=x', '1x=y', 'NODE_PATH.x=z'];
  const runs: Array<[string, string]> = [['ours', ours('envdir')]];
  if (fs.existsSync('/usr/bin/envdir')) runs.push(['Debian\'s', '/usr/bin/envdir']);
  for (const [label, cmd] of runs) {
    const r = spawnSync(cmd, [tmp(`names-${label}`), 'env'], { env, encoding: 'utf8', timeout: 20000 });
    t.equal(r.status, 0, `${label} envdir runs`);
    const lines = r.stdout.split('\n');
    for (const kv of want) t.ok(lines.includes(kv), `${label}: ${kv} reaches the program`);
    t.notOk(/^UCSPI_/m.test(r.stdout), `${label}: nothing of the launcher's reaches it`);
  }
});

tap.test('SIGHUP ignored at start: udpsvd\'s program inherits it too, as under Debian\'s udpsvd', { ...needReference('udpsvd') }, async (t) => {
  if (!addonBuilt) return t.comment('udpsvd needs the addon');
  const prog = path.join(tmp('nohup-udp'), 'sigign');
  // udpsvd gives the program our stderr as its fd 1.
  fs.writeFileSync(prog, '#!/bin/sh\nsed -n "s/^SigIgn:[[:space:]]*/ign=/p" /proc/$$/status\n', { mode: 0o755 });
  const dgram = await import('node:dgram');
  for (const [label, cmd] of [['Debian udpsvd', reference('udpsvd')], ['ours', ours('udpsvd')]]) {
    const port = await freePortOn('127.0.0.1', true);
    const p = spawn('/bin/sh', ['-c', `trap '' HUP; exec "$0" 127.0.0.1 "$2" "$1"`, cmd, prog, String(port)],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => { out += b.toString('latin1'); });
    p.stderr!.on('data', (b: Buffer) => { out += b.toString('latin1'); });
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    try {
      const s = dgram.createSocket('udp4');
      const m = await waitFor(`${label}'s program`, () => {
        s.send('x', port, '127.0.0.1');
        return /ign=([0-9a-f]+)/.exec(out);
      }, 10000);
      s.close();
      t.equal(BigInt(`0x${m[1]}`) & 1n, 1n, `${label}: the program inherits HUP ignored`);
    } finally {
      killGroup(p.pid);
      await exited;
    }
  }
});

tap.test('SIGHUP ignored at start: svscan\'s runs inherit it, as under daemontools\' svscan, which catches nothing',
  { ...needReference('svscan') }, async (t) => {
    for (const [label, cmd] of [['Debian svscan', reference('svscan')], ['ours', ours('svscan')]]) {
      const scan = tmp(`nohup-svscan-${label.replace(/\W/g, '')}`);
      const svc = path.join(scan, 'a');
      fs.mkdirSync(svc);
      fs.writeFileSync(path.join(svc, 'run'),
        '#!/bin/sh\necho $$ > pid\nsed -n "s/^SigIgn:[[:space:]]*//p" /proc/$$/status > ign.tmp && mv ign.tmp ign\nexec sleep 600\n', { mode: 0o755 });
      const p = spawn('/bin/sh', ['-c', `trap '' HUP; exec "$0" "$1"`, cmd, scan], { stdio: 'ignore' });
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      try {
        const ign = await waitFor(`${label}'s run`, () => { try { return fs.readFileSync(path.join(svc, 'ign'), 'latin1').trim() || undefined; } catch { return undefined; } });
        t.equal(BigInt(`0x${ign}`) & 1n, 1n, `${label}: the run inherits HUP ignored`);
      } finally {
        killGroup(p.pid);
        await exited;
        try { process.kill(Number(fs.readFileSync(path.join(svc, 'pid'), 'latin1')), 'SIGKILL'); } catch { /* gone */ }
      }
    }
  });
