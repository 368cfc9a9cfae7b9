// Standing probes for the compilers, the readers and the logger: damaged
// databases, closed standard descriptors, FIFOs, sockets and endless
// devices where files are expected, huge lines, a full disk (input shapes
// that would cost the square of their size: adversarial-complexity.test.ts).
// Where the reference tool is installed, ours must answer as it does; where
// it is not, the comparison is skipped, naming it.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { checkRules } from '../src/rules/check';
import { Cdb, CdbError } from '../src/cdb/reader';
import { RulesCdbSource } from '../src/rules/source';
import { ROOT, findReference, ours, scratch } from './helpers/common';

// Ours from bin/, the reference tools through the shared helper (never our own copy on PATH).
const bin = ours;
const bundle = (n: string) => path.join(ROOT, 'dist', 'cmd', n + '.js');
const ref = (n: string) => findReference(n) ?? `/usr/bin/${n}`;
const have = (n: string) => findReference(n) !== undefined;

const fresh = scratch('adversarial');

// Runs cmd with the given standard descriptors closed ("<&-", ">&-").
function closedRun(cmd: string, args: string[], close: string, opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<Buffer> {
  return spawnSync('sh', ['-c', `exec "$@" ${close}`, 'sh', cmd, ...args],
    { cwd: opts.cwd, input: opts.input, env: opts.env ?? process.env, timeout: 30000 });
}

const RULES = '1.2.3.4:deny\n=example.org:allow,A="1"\n10.0.0.0/8:allow,B="2"\n:allow\n';

function compileWith(tool: string, cdb: string, text: string): void {
  const r = spawnSync(tool, [cdb, cdb + '.tmp'], { input: text, timeout: 30000 });
  if (r.status !== 0) throw new Error(`${tool}: ${r.stderr}`);
}

// ---------------------------------------------------------------- closed stdio

t.test('tcprules with stdin closed fails and keeps the old cdb', async (t) => {
  for (const tool of [bin('tcprules'), ...(have('tcprules') ? [ref('tcprules')] : [])]) {
    const d = fresh('closed');
    const cdb = path.join(d, 'r.cdb');
    compileWith(bin('tcprules'), cdb, RULES);
    const before = fs.readFileSync(cdb);
    const r = closedRun(tool, [cdb, cdb + '.tmp'], '<&-');
    t.equal(r.status, 111, `${tool}: exit 111`);
    t.equal(r.stderr.toString(), 'tcprules: fatal: unable to read input: file descriptor not open\n', tool);
    t.same(fs.readFileSync(cdb), before, `${tool}: cdb untouched`);
  }
  // Read-only /dev/null is an empty input, as for the original.
  const d = fresh('devnull');
  const cdb = path.join(d, 'r.cdb');
  const r = spawnSync('sh', ['-c', 'exec "$@" </dev/null', 'sh', bin('tcprules'), cdb, cdb + '.tmp'], { timeout: 30000 });
  t.equal(r.status, 0, r.stderr.toString());
  t.equal(fs.statSync(cdb).size, 2048, 'an empty database');
  // /dev/null open for reading and writing is the input Node would have put
  // there for a closed one; bin/'s start-up script tells the two apart.
  const rw = spawnSync('sh', ['-c', 'exec "$@" <>/dev/null', 'sh', bin('tcprules'), cdb, cdb + '.tmp'], { timeout: 30000 });
  t.equal(rw.status, 0, `<>/dev/null is an empty input: ${rw.stderr}`);
  // What the start-up stage says wins over the guess (see src/lib/stdfd.ts),
  // when the bundle is run without bin/'s script.
  const told = spawnSync('sh', ['-c', 'exec "$@" <&-', 'sh', process.execPath, '-e', `require(${JSON.stringify(bundle('tcprules'))}).main(process.argv.slice(1))`, cdb, cdb + '.tmp'],
    { env: { ...process.env, UCSPI_CLOSED_FDS: '' }, timeout: 30000 });
  t.equal(told.status, 0, 'UCSPI_CLOSED_FDS="" means nothing was closed');
  const guessed = spawnSync('sh', ['-c', 'exec "$@" <&-', 'sh', process.execPath, '-e', `require(${JSON.stringify(bundle('tcprules'))}).main(process.argv.slice(1))`, cdb, cdb + '.tmp'], { timeout: 30000 });
  t.equal(guessed.status, 111, 'without bin/, a closed stdin is still told by the guess');
});

t.test('tai64nlocal with stdin or stdout closed exits 111 as the original', async (t) => {
  const line = 'a line\n'; // a label would crash the original (see tai64nlocal(8))
  for (const tool of [bin('tai64nlocal'), ...(have('tai64nlocal') ? [ref('tai64nlocal')] : [])]) {
    t.equal(closedRun(tool, [], '<&-').status, 111, `${tool} <&-`);
    t.equal(closedRun(tool, [], '>&-', { input: line }).status, 111, `${tool} >&- with input`);
    t.equal(closedRun(tool, [], '>&-', { input: '' }).status, 0, `${tool} >&- without input has nothing to write`);
  }
  t.equal(closedRun(bin('tai64nlocal'), [], '<&-').stderr.toString(),
    'tai64nlocal: fatal: unable to read input: file descriptor not open\n');
});

t.test('multilog with stdin closed: an empty log, exit 0, as the original', async (t) => {
  const results: Array<{ status: number | null; files: string[]; size: number }> = [];
  for (const tool of [bin('multilog'), ...(have('multilog') ? [ref('multilog')] : [])]) {
    const d = fresh('ml-closed');
    const r = closedRun(tool, ['t', './log'], '<&-', { cwd: d });
    const files = fs.readdirSync(path.join(d, 'log')).sort();
    results.push({ status: r.status, files, size: fs.statSync(path.join(d, 'log', 'current')).size });
    t.equal(r.status, 0, tool);
    t.equal(fs.statSync(path.join(d, 'log', 'current')).mode & 0o777, 0o744, `${tool}: current marked finished`);
  }
  if (results.length === 2) t.same(results[0], results[1], 'same as the reference');
});

t.test('tcprulescheck with stdout closed: exit 0, as the original', async (t) => {
  const d = fresh('check-closed');
  const cdb = path.join(d, 'r.cdb');
  compileWith(bin('tcprules'), cdb, RULES);
  const env = { ...process.env, TCPREMOTEIP: '1.2.3.4' };
  for (const tool of [bin('tcprulescheck'), ...(have('tcprulescheck') ? [ref('tcprulescheck')] : [])]) {
    t.equal(closedRun(tool, [cdb], '>&-', { env }).status, 0, tool);
  }
});

t.test('ipsvd-cdb with stdin and stdout closed compiles as the original', async (t) => {
  const d = fresh('cdb-closed');
  const peers = path.join(d, 'peers');
  fs.mkdirSync(peers);
  fs.writeFileSync(path.join(peers, '1.2.3.4'), '+A=1\n');
  fs.writeFileSync(path.join(peers, '5.6.7.8'), '');
  fs.chmodSync(path.join(peers, '5.6.7.8'), 0);
  const out: Buffer[] = [];
  for (const tool of [bin('ipsvd-cdb'), ...(have('ipsvd-cdb') ? [ref('ipsvd-cdb')] : [])]) {
    const cdb = path.join(d, `${out.length}.cdb`);
    const r = closedRun(tool, [cdb, cdb + '.tmp', peers], '<&- >&-');
    t.equal(r.status, 0, `${tool}: ${r.stderr}`);
    out.push(fs.readFileSync(cdb));
  }
  if (out.length === 2) t.same(out[0], out[1], 'the same cdb');
});

// ------------------------------------------------------- damaged databases

// A cdb of the sample rules, then damaged copies of it: cut at many lengths,
// its header's words byte-swapped, its halves swapped.
function damaged(good: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const n of [0, 1, 7, 8, 100, 2047, 2048, 2049, 2060, good.length - 40, good.length - 9, good.length - 1]) {
    if (n >= 0 && n < good.length) out.push([`cut at ${n}`, good.subarray(0, n)]);
  }
  const swapped = Buffer.from(good);
  swapped.subarray(0, 2048).swap32();
  out.push(['header byte-swapped', swapped]);
  const half = Math.floor(good.length / 2);
  out.push(['halves swapped', Buffer.concat([good.subarray(half), good.subarray(0, half)])]);
  const wild = Buffer.from(good);
  for (let i = 0; i < 2048; i += 8) wild.writeUInt32LE(0xfffffff0, i); // every table past the end
  out.push(['tables past the end', wild]);
  return out;
}

t.test('tcprulescheck on damaged cdbs answers as the original', async (t) => {
  const d = fresh('damaged');
  const goodPath = path.join(d, 'good.cdb');
  compileWith(bin('tcprules'), goodPath, RULES);
  const good = fs.readFileSync(goodPath);
  // 10.1.2.3 matches a CIDR rule, which ucspi-tcp 0.88 does not look up:
  // that damage may show to us only. The others take the same path.
  const peers: Array<{ TCPREMOTEIP: string; TCPREMOTEHOST?: string; ours?: boolean }> =
    [{ TCPREMOTEIP: '1.2.3.4' }, { TCPREMOTEIP: '10.1.2.3', ours: true }, { TCPREMOTEIP: '9.9.9.9', TCPREMOTEHOST: 'example.org' }];
  for (const [what, bytes] of damaged(good)) {
    const file = path.join(d, 'bad.cdb');
    fs.writeFileSync(file, bytes);
    for (const { ours: oursOnly, ...p } of peers) {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...p };
      // Ours in-process: the command prints exactly this (src/cmd/tcprulescheck.ts).
      const ours = checkRules(file, env);
      // (A CIDR rule found is said on stderr: djb's tcpserver would skip it.)
      const said = oursOnly ? ours.stderr.replace(/^tcprulescheck: .*rule \S+ is ucspi-tcp6's .*\n/m, '') : ours.stderr;
      t.ok(ours.code === 0 ? said === '' : /^tcprulescheck: fatal: unable to read .*: (protocol error|invalid argument)\n$/.test(said),
        `${what}: an answer or the original's words`);
      if (have('tcprulescheck') && !oursOnly) {
        const r = spawnSync(ref('tcprulescheck'), [file], { env, timeout: 30000 });
        t.same({ status: ours.code, stdout: ours.stdout.toString(), stderr: ours.stderr },
          { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() }, `${what} ${JSON.stringify(p)}`);
      }
    }
  }
});

t.test('the readers fail cleanly on damaged cdbs, never hang', async (t) => {
  const d = fresh('readers');
  const goodPath = path.join(d, 'good.cdb');
  compileWith(bin('tcprules'), goodPath, RULES);
  const good = fs.readFileSync(goodPath);
  for (const [what, bytes] of damaged(good)) {
    const file = path.join(d, `r-${what.replace(/\W+/g, '-')}.cdb`);
    fs.writeFileSync(file, bytes);
    // The generic reader: an answer or CdbError, nothing else.
    let c: Cdb | undefined;
    try {
      c = Cdb.open(file);
      for (const k of ['1.2.3.4', '=example.org', '', '_abc', 'absent']) c.get(k);
      c.forEachKey(() => {});
      t.pass(`${what}: read`);
    } catch (e) {
      t.ok(e instanceof CdbError, `${what}: ${(e as Error).message}`);
    } finally {
      c?.close();
    }
    // The server's rules source: a decision or an error (it fails closed).
    const src = new RulesCdbSource(file);
    try {
      const dec = src.decide({ ip: '1.2.3.4' });
      t.ok(dec.action === 'allow' || dec.action === 'deny', `${what}: decided`);
    } catch (e) {
      t.ok(e instanceof CdbError || (e as NodeJS.ErrnoException).code !== undefined, `${what}: refused (${(e as Error).message})`);
    } finally {
      src.close();
    }
  }
  // An empty file is what mmap refuses in the original.
  const empty = path.join(d, 'empty.cdb');
  fs.writeFileSync(empty, '');
  t.same(checkRules(empty, { TCPREMOTEIP: '1.2.3.4' }).stderr, `tcprulescheck: fatal: unable to read ${empty}: invalid argument\n`);
});

// ------------------------------------------------ FIFOs, sockets, devices

t.test('ipsvd-cdb never blocks on a FIFO, a socket or a device', async (t) => {
  const cases: Array<[string, (p: string) => void, number]> = [
    ['fifo', (p) => { spawnSync('mkfifo', [p]); }, 0],
    ['device', (p) => { fs.symlinkSync('/dev/null', p); }, 0],
    ['socket', (p) => { spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(p)})`]); }, 111],
  ];
  for (const [kind, make, code] of cases) {
    const d = fresh('peers');
    const peers = path.join(d, 'peers');
    fs.mkdirSync(peers);
    fs.writeFileSync(path.join(peers, '1.2.3.4'), '+A=1\n');
    make(path.join(peers, 'odd'));
    if (!fs.existsSync(path.join(peers, 'odd'))) {
      t.comment(`${kind}: skipped, could not be made here`);
      continue;
    }
    fs.chmodSync(path.join(peers, 'odd'), 0o644);
    const run = (tool: string, out: string) => spawnSync(tool, [path.join(d, out), path.join(d, out + '.tmp'), peers], { timeout: 20000 });
    const ours = run(bin('ipsvd-cdb'), 'ours.cdb');
    t.notOk(ours.error, `${kind}: finished (${ours.error?.message ?? 'in time'})`);
    t.equal(ours.status, code, `${kind}: ${ours.stderr}`);
    if (have('ipsvd-cdb')) {
      const r = run(ref('ipsvd-cdb'), 'ref.cdb');
      t.equal(ours.stderr.toString(), r.stderr.toString(), `${kind}: same words as the original`);
      t.equal(r.status, ours.status, `${kind}: same exit`);
      if (r.status === 0) t.same(fs.readFileSync(path.join(d, 'ours.cdb')), fs.readFileSync(path.join(d, 'ref.cdb')), `${kind}: same cdb`);
    }
  }
  // A FIFO that has a writer but no data: "temporary failure", at once.
  const d = fresh('fifo-writer');
  const peers = path.join(d, 'peers');
  fs.mkdirSync(peers);
  const fifo = path.join(peers, 'fifo');
  spawnSync('mkfifo', [fifo]);
  // Open read-write: a writer that does not wait for a reader.
  const holder = spawn('sh', ['-c', 'exec 3<>"$0"; sleep 20', fifo], { stdio: 'ignore', detached: true });
  t.teardown(() => { try { process.kill(-holder.pid!, 'SIGKILL'); } catch { /* gone */ } });
  for (let i = 0; i < 400 && !fs.existsSync(`/proc/${holder.pid}/fd/3`); i++) await new Promise((r) => setTimeout(r, 25));
  const r = spawnSync(bin('ipsvd-cdb'), [path.join(d, 'x.cdb'), path.join(d, 'x.tmp'), peers], { timeout: 20000 });
  t.notOk(r.error, 'did not block');
  t.equal(r.status, 111);
  t.equal(r.stderr.toString(), 'ipsvd-cdb: fatal: unable to read instruction: fifo: temporary failure\n');
  t.notOk(fs.existsSync(path.join(d, 'x.cdb')), 'no cdb installed');
  process.kill(-holder.pid!, 'SIGKILL');
});

// ------------------------------------------------------------- huge lines

t.test('ipsvd-cdb on an endless entry: out of memory, bounded, no stack trace', async (t) => {
  const d = fresh('endless');
  const peers = path.join(d, 'peers');
  fs.mkdirSync(peers);
  fs.symlinkSync('/dev/zero', path.join(peers, '1.2.3.4'));
  const cdb = path.join(d, 'p.cdb');
  fs.writeFileSync(cdb, 'old');
  const r = spawnSync(bin('ipsvd-cdb'), [cdb, cdb + '.tmp', peers], { timeout: 60000 });
  t.notOk(r.error, 'finished');
  t.equal(r.status, 111);
  t.equal(r.stderr.toString(), 'ipsvd-cdb: fatal: unable to read instruction: 1.2.3.4: out of memory\n');
  t.equal(fs.readFileSync(cdb, 'utf8'), 'old', 'cdb untouched');
  t.notOk(fs.existsSync(cdb + '.tmp'), 'no temporary file left');
});

// Writes size bytes of one line (no newline until the end) to the child's stdin.
function feed(child: ReturnType<typeof spawn>, size: number, chunk = Buffer.alloc(1 << 20, 0x61)): Promise<void> {
  return new Promise((resolve) => {
    let left = size;
    const stdin = child.stdin!;
    stdin.on('error', () => resolve()); // the child gave up reading: expected
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!stdin.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          stdin.once('drain', more);
          return;
        }
      }
      stdin.end('\n', () => resolve());
    };
    more();
  });
}

function exitOf(child: ReturnType<typeof spawn>, ms: number): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

const havePrlimit = spawnSync('prlimit', ['--version']).status === 0;

t.test('tcprules on a line too big for memory: out of memory, cdb untouched', { skip: !havePrlimit && 'prlimit (util-linux) is not installed' }, async (t) => {
  const d = fresh('oom');
  const cdb = path.join(d, 'r.cdb');
  compileWith(bin('tcprules'), cdb, RULES);
  const before = fs.readFileSync(cdb);
  // 1.4 GiB of address space: Node starts, and a 300 MB line cannot be held.
  // Without NODE_OPTIONS: the test runner hooks its loaders into every child
  // through it, and they need address space too.
  const child = spawn('sh', ['-c', 'exec env -u NODE_OPTIONS prlimit --as=1468006400 "$@"', 'sh', bin('tcprules'), cdb, cdb + '.tmp'],
    { stdio: ['pipe', 'ignore', 'pipe'] });
  const done = exitOf(child, 100000);
  await feed(child, 300 << 20);
  const r = await done;
  t.equal(r.code, 111, r.stderr.slice(0, 300));
  t.equal(r.stderr, 'tcprules: fatal: out of memory\n');
  t.same(fs.readFileSync(cdb), before, 'cdb untouched');
  t.notOk(fs.existsSync(cdb + '.tmp'), 'no temporary file left');
});

t.test('multilog passes a 32 MB line through whole, in bounded memory', async (t) => {
  const d = fresh('ml-huge');
  const child = spawn(bin('multilog'), ['s16777215', './log'], { cwd: d, stdio: ['pipe', 'ignore', 'pipe'] });
  const done = exitOf(child, 100000);
  const size = 32 << 20;
  await feed(child, size);
  const r = await done;
  t.equal(r.code, 0, r.stderr);
  const files = fs.readdirSync(path.join(d, 'log')).filter((f) => f.startsWith('@') || f === 'current').sort();
  let total = 0;
  let as = 0;
  for (const f of files) {
    const b = fs.readFileSync(path.join(d, 'log', f));
    total += b.length;
    for (let i = 0; i < b.length; i++) if (b[i] === 0x61) as++;
  }
  t.equal(total, size + 1, 'every byte and the newline');
  t.equal(as, size, 'nothing altered');
});

// ------------------------------------------------------------- full disk

const canMount = process.getuid?.() === 0 &&
  spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], { timeout: 10000 }).status === 0;

t.test('multilog on a full disk pauses and loses no line', { skip: !canMount && 'needs root and a private mount namespace (unshare -m)' }, async (t) => {
  const d = fresh('full');
  const mnt = path.join(d, 'mnt');
  fs.mkdirSync(mnt);
  const n = 3000;
  // Inside the namespace: a 256 KiB tmpfs, filled up; multilog starts on it,
  // lines arrive, multilog warns and waits; the filler is removed, and every
  // line must be in the log, once, in order.
  const script = `
set -e
mnt=$1; ml=$2; n=$3
mount -t tmpfs -o size=256k tmpfs "$mnt"
mkdir "$mnt/log"
dd if=/dev/zero of="$mnt/filler" bs=4096 2>/dev/null || true
i=0; while [ $i -lt $n ]; do echo "line $i of the log"; i=$((i+1)); done > "$mnt/../input"
"$ml" s4096 n100 "$mnt/log" < "$mnt/../input" 2> "$mnt/../err" &
pid=$!
k=0; until grep -q 'pausing' "$mnt/../err" 2>/dev/null; do k=$((k+1)); [ $k -lt 400 ] || { kill $pid; exit 3; }; sleep 0.05; done
rm -f "$mnt/filler"
wait $pid
cd "$mnt/log" && cat $(ls | grep '^@' | sort) current
`;
  const child = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', mnt, bin('multilog'), String(n)],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
  let out = '';
  child.stdout!.on('data', (b) => { out += b; });
  const r = await exitOf(child, 90000);
  t.equal(r.code, 0, r.stderr);
  const err = fs.readFileSync(path.join(d, 'err'), 'utf8');
  t.match(err, /^multilog: warning: unable to (write|create|rename).*, pausing: out of disk space$/m, 'said why it waits');
  let want = '';
  for (let i = 0; i < n; i++) want += `line ${i} of the log\n`;
  t.equal(out.length, want.length, 'as many bytes as written');
  t.ok(out === want, 'every line, once, in order');
});

t.test('multilog under rotation keeps every line', async (t) => {
  const d = fresh('rotate');
  let input = '';
  for (let i = 0; i < 20000; i++) input += `${i} ${'x'.repeat(i % 97)}\n`;
  const r = spawnSync(bin('multilog'), ['s4096', 'n1000', './log'], { cwd: d, input, timeout: 60000 });
  t.equal(r.status, 0, r.stderr.toString());
  const log = path.join(d, 'log');
  const old = fs.readdirSync(log).filter((f) => f.startsWith('@')).sort();
  const all = [...old, 'current'].map((f) => fs.readFileSync(path.join(log, f), 'latin1')).join('');
  t.ok(old.length > 100, `${old.length} rotations`);
  t.ok(all === input, 'the files hold the input exactly');
});

// ---------------------------------------------------------------- chain-loading tools' files

t.test('envdir and chpst -e: a FIFO, a dangling symlink, a symlink loop, a subdirectory, an endless device in the directory', async (t) => {
  const tools: Array<[string, string[]]> = [['envdir', []], ['chpst', ['-e']]];
  const cases: Array<[string, (d: string) => void]> = [
    ['a FIFO (no writer): unset, at once', (d) => { spawnSync('mkfifo', [path.join(d, 'FIFO')]); }],
    ['a dangling symlink', (d) => { fs.symlinkSync('nowhere', path.join(d, 'GONE')); }],
    ['a symlink loop', (d) => { fs.symlinkSync('LOOP', path.join(d, 'LOOP')); }],
    ['a subdirectory', (d) => { fs.mkdirSync(path.join(d, 'SUB')); }],
    ['a first line too long for execve', (d) => { fs.writeFileSync(path.join(d, 'BIG'), 'a'.repeat(300_000)); }],
    ['a socket', (d) => { spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path.join(d, 'SOCK'))})`]); }],
  ];
  for (const [tool, opts] of tools) {
    for (const [what, make] of cases) {
      const d = fresh('envdir');
      const env = path.join(d, 'env');
      fs.mkdirSync(env);
      fs.writeFileSync(path.join(env, 'A'), 'value\n');
      make(env);
      const runIt = (cmd: string) => {
        const r = spawnSync(cmd, [...opts, 'env', 'sh', '-c', 'echo "A=$A FIFO=${FIFO-unset} GONE=${GONE-unset}"'],
          { cwd: d, encoding: 'latin1', timeout: 10_000, killSignal: 'SIGKILL' });
        return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.replace(/^(\w+): warning: cannot exec.*\n/, '') };
      };
      const got = runIt(bin(tool));
      t.not(got.signal, 'SIGKILL', `${tool}: ${what}: never blocks`);
      if (have(tool)) t.same(got, runIt(ref(tool)), `${tool}: ${what}: as the original`);
    }
  }
  // /dev/zero as a variable: the originals read it for ever; ours stops where no exec could take it.
  for (const [tool, opts] of tools) {
    const d = fresh('envzero');
    fs.mkdirSync(path.join(d, 'env'));
    fs.symlinkSync('/dev/zero', path.join(d, 'env', 'ZERO'));
    const r = spawnSync(bin(tool), [...opts, 'env', 'true'], { cwd: d, encoding: 'latin1', timeout: 10_000, killSignal: 'SIGKILL' });
    t.equal(r.status, 111, `${tool}: /dev/zero: exit 111`);
    t.match(r.stderr, /unable to run:? true: argument list too long\n$/, `${tool}: /dev/zero: the exec's failure, at once`);
  }
});

t.test('setlock and chpst -l/-L: a FIFO, a directory, a symlink loop, a dangling symlink as the lock', async (t) => {
  const kinds: Array<[string, (p: string) => void]> = [
    ['fifo', (p) => { spawnSync('mkfifo', [p]); }], ['dir', (p) => fs.mkdirSync(p)],
    ['loop', (p) => fs.symlinkSync(path.basename(p), p)], ['dangling', (p) => fs.symlinkSync('../nowhere/x', p)],
  ];
  for (const [tool, opts] of [['setlock', []], ['chpst', ['-l']], ['chpst', ['-L']]] as Array<[string, string[]]>) {
    for (const [kind, make] of kinds) {
      const d = fresh('lock');
      make(path.join(d, kind));
      const runIt = (cmd: string) => {
        const r = spawnSync(cmd, [...opts, kind, 'echo', 'ran'], { cwd: d, encoding: 'latin1', timeout: 10_000, killSignal: 'SIGKILL' });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      };
      const got = runIt(bin(tool));
      t.equal(got.status, 111, `${tool} ${opts.join(' ')}: ${kind}: exit 111`);
      if (have(tool)) t.same(got, runIt(ref(tool)), `${tool} ${opts.join(' ')}: ${kind}: as the original`);
    }
  }
});
